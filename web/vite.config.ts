// The visualizer's build: a static site (relative paths, so it works from any static host) whose
// model is the CLI's own code (src/workload, src/render, src/hw), bundled for the browser.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  // The scenario parser imports node:fs for loadScenarioFile, which the page never calls.
  resolve: { alias: { 'node:fs': here('./src/shims/node-fs.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { fs: { allow: [here('..')] } },
  build: { outDir: here('./dist'), emptyOutDir: true, chunkSizeWarningLimit: 1500, reportCompressedSize: false },
  logLevel: 'warn',
});
