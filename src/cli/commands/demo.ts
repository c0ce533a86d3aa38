// `faultline demo` (what `npm start` runs): the seed article's program (mmap one anonymous page,
// write 'A') traced through the whole fault path, first on Linux 6.18, then on each other OS
// kernel in DEMO_RUNS that this build has (XNU), one after the other, so the two paths can be read
// side by side. With no OS kernel in the build it falls back to the bare-machine demo.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { findKernel } from '../../workload/kernels.js';
import { runScenario } from '../../workload/runner.js';
import { loadScenarioFile } from '../../workload/scenario/parse.js';
import type { Io } from '../io.js';
import { renderRun } from './run.js';

const scenario = (name: string): string => fileURLToPath(new URL(`../../../../scenarios/${name}`, import.meta.url));

/** The demo's runs, in order: a scenario file and the kernel to run it on. Add a kernel here. */
export const DEMO_RUNS: readonly { file: string; kernel: string }[] = [
  { file: scenario('linux-seed.yaml'), kernel: 'linux-6.18' },
  { file: scenario('xnu-seed.yaml'), kernel: 'xnu-11417' },
];

/** The bare-machine demo, used when no OS kernel of DEMO_RUNS is in the build. */
export const DEMO_SCENARIO = scenario('bare-user-write.yaml');

/** The runs this build can do. */
export function demoRuns(): { file: string; kernel: string }[] {
  const runs = DEMO_RUNS.filter((r) => findKernel(r.kernel) !== undefined && existsSync(r.file));
  return runs.length > 0 ? runs : [{ file: DEMO_SCENARIO, kernel: 'bare' }];
}

export function register(program: Command, io: Io): void {
  program
    .command('demo')
    .summary("run the main demo: the seed program (mmap + write 'A') on Linux 6.18 and XNU, traced")
    .option('--color', 'colour the trace')
    .action((opts: { color?: boolean }) => {
      for (const d of demoRuns()) {
        const s = loadScenarioFile(d.file);
        for (const r of runScenario(s, { kernels: [d.kernel] })) io.out(renderRun(r, opts.color ?? io.isTTY === true));
      }
    });
}
