// Golden traces: every scenario in scenarios/ is run on each of its kernels and rendered as text;
// the output is compared with test/golden/<scenario>.<kernel>.txt. After reviewing a change in
// the output, `npm run accept` rewrites the files (STYLE.md, Tests 3).

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { renderRun } from '../../src/cli/commands/run.js';
import { runScenario } from '../../src/workload/runner.js';
import { loadScenarioFile } from '../../src/workload/scenario/parse.js';

/** The repository root (this file runs from dist/test/golden/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCENARIOS = join(ROOT, 'scenarios');
export const GOLDEN = join(ROOT, 'test', 'golden');

export interface Golden {
  scenario: string;
  kernel: string;
  file: string;
  text: string;
}

/** Render every scenario's runs the way `faultline run` prints them (paths relative to the root). */
export function renderAll(): Golden[] {
  const out: Golden[] = [];
  for (const name of readdirSync(SCENARIOS).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    const s = loadScenarioFile(join(SCENARIOS, name));
    s.file = relative(ROOT, s.file);
    for (const r of runScenario(s)) {
      const stem = name.replace(/\.(ya?ml|json)$/, '');
      out.push({ scenario: name, kernel: r.kernel, file: join(GOLDEN, `${stem}.${r.kernel}.txt`), text: renderRun(r) });
    }
  }
  return out;
}
