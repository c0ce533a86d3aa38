// `faultline kernels`: the kernel models this build has, and the ones still to come.

import type { Command } from 'commander';
import { KERNELS, PLANNED_KERNELS } from '../../workload/kernels.js';
import { table, writeJson, type Io } from '../io.js';

export function register(program: Command, io: Io): void {
  program
    .command('kernels')
    .summary('list the kernel models a scenario can run on')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      const rows = [
        ...KERNELS.map((k) => ({ name: k.name, status: 'available', description: k.description, ops: [...k.ops] })),
        ...Object.entries(PLANNED_KERNELS).map(([name, description]) => ({ name, status: 'planned', description, ops: [] as string[] })),
      ];
      if (opts.json === true) return writeJson(io, rows);
      io.out(table([['kernel', 'status', 'what it models'], ...rows.map((r) => [r.name, r.status, r.description])]));
    });
}
