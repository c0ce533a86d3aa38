// `faultline demo` (what `npm start` runs): the main demo scenario, traced as text. Until a
// kernel model lands it is the bare-mode one: a user-mode write to a not-present page, showing
// the walk, the fault, the gate, the stack switch and the pushed frame.

import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runScenario } from '../../workload/runner.js';
import { loadScenarioFile } from '../../workload/scenario/parse.js';
import type { Io } from '../io.js';
import { renderRun } from './run.js';

/** The demo scenario, resolved from this file (dist/src/cli/commands/) to the package root. */
export const DEMO_SCENARIO = fileURLToPath(new URL('../../../../scenarios/bare-user-write.yaml', import.meta.url));

export function register(program: Command, io: Io): void {
  program
    .command('demo')
    .summary('run the main demo: a user write to a not-present page, traced')
    .option('--color', 'colour the trace')
    .action((opts: { color?: boolean }) => {
      const s = loadScenarioFile(DEMO_SCENARIO);
      for (const r of runScenario(s)) io.out(renderRun(r, opts.color ?? io.isTTY === true));
    });
}
