// Lint: typescript-eslint's recommended rules plus the layering of ../shared/STYLE.md:
//   trace/events <- hw <- kernel/{linux,xnu} <- workload <- cli, web
// A lower layer never imports a higher one.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', {
      patterns: forbidden.map((dir) => ({
        group: [`**/${dir}/*`, `**/${dir}`],
        message: `layering (STYLE.md): ${files[0]} must not import ${dir}`,
      })),
    }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'test-artifacts/**', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer(['src/trace/**'], ['hw', 'kernel', 'workload', 'cli', 'web']),
  layer(['src/hw/**'], ['kernel', 'workload', 'cli', 'web']),
  layer(['src/kernel/**'], ['workload', 'cli', 'web']),
  layer(['src/workload/**'], ['cli', 'web', 'render']),
  // Renderers only read trace events.
  layer(['src/render/**'], ['hw', 'kernel', 'workload', 'cli', 'web']),
  layer(['src/cli/**'], ['web']),
  // The visualizer reads workload sessions, renderers, trace events and the machine; kernel
  // objects only through the sessions, never by importing a kernel.
  layer(['web/**'], ['kernel', 'cli']),
  { files: ['bin/**', 'eslint.config.js'], languageOptions: { globals: { process: 'readonly' } } },
);
