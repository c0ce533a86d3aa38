// Issue 4, "Measure": anonymous write faults/s and COW faults/s after fork through the XNU
// model's whole path (xnu-11417, tracing off): the #PF delivered through master_idt64, the
// idt64.s entry with its saved state, user_trap, vm_fault (zero fill, or shadow + COW), the
// return through ks_64bit_return and iretq, and the retried write. The host kernel's rate for
// the same workload is printed by the Linux figures (host_*_faults_per_s).
//
// Workload: map PAGES private anonymous pages and write one byte to each (one zero-fill fault per
// page); for COW, write every page first, fork, and time the child writing every page (one COW
// fault each). Each timed write must take exactly one fault; the best of RUNS is kept.

import { Machine } from '../src/hw/machine.js';
import { nullSink } from '../src/trace/events.js';
import { XnuSession } from '../src/workload/xnu.js';
import { findKernel, type Session } from '../src/workload/kernels.js';
import { parseScenario } from '../src/workload/scenario/parse.js';
import type { Step } from '../src/workload/scenario/schema.js';
import { pageStep, print, timeSteps, writeFaultRate } from './common.js';

const MODEL = 'xnu-11417';
// The host figures' workload (bench/linux.ts): 16384 pages, the best of 10 runs.
const PAGES = 16384;
const RUNS = 10;

function modelRate(cow: boolean): number {
  const r = writeFaultRate(MODEL, { pages: PAGES, runs: RUNS, cow, machine: '{ram: 256m}' }, (res, i) => {
    if (res.outcome !== 'ok' || res.minflt !== 1 || res.faults?.length !== 1) throw new Error(`bench: xnu write ${i} did not take exactly one fault: ${JSON.stringify(res)}`);
  });
  if (typeof r !== 'number') throw new Error(`bench: ${r.reason}`);
  return r;
}


// Issue 5, "Measure". File read faults: a file of FILE_PAGES pages mapped MAP_PRIVATE read-only,
// one read per page; every read is a pagein (vnode pager, DBG_PAGEINV_FAULT, majflt 1).
// Memory pressure: a 16 MiB machine, a working set of twice its RAM written page by page (zero
// fill, and the pageout daemon compressing the oldest pages), then read back (decompressions).
const FILE_PAGES = 2048;
const PRESSURE_RAM = 16 * 1024 * 1024;

function fileReadRate(): number {
  const k = findKernel(MODEL)!;
  const s = parseScenario(`name: bench\nmachine: {ram: 64m}\nsteps:\n  - file: {as: f, size: ${FILE_PAGES * 4096}, content: abc}\n  - mmap: {as: a, length: ${FILE_PAGES * 4096}, prot: r, flags: [private], file: f}\n  - read: {addr: a}\n`, 'bench/xnu.ts');
  const [file, mmap, read] = s.steps as [Step, Step, Step];
  let best = Infinity;
  for (let run = 0; run < RUNS + 1; run++) {
    const session = k.create(s.machine, nullSink, s.seed);
    timeSteps(session, MODEL, [file, mmap], () => undefined);
    const reads = Array.from({ length: FILE_PAGES }, (_, i) => pageStep(read, i));
    const sec = timeSteps(session, MODEL, reads, (r, i) => {
      if (r.outcome !== 'ok' || r.majflt !== 1) throw new Error(`bench: xnu file read ${i} was not one pagein: ${JSON.stringify(r)}`);
    });
    if (run > 0) best = Math.min(best, sec);
  }
  return FILE_PAGES / best;
}

function pressureRate(): { rate: number; compressions: number; decompressions: number } {
  const pages = (2 * PRESSURE_RAM) / 4096;
  const s = parseScenario(`name: bench\nmachine: {ram: ${PRESSURE_RAM}}\nsteps:\n  - mmap: {as: a, length: ${pages * 4096}, prot: rw, flags: [private, anonymous]}\n  - write: {addr: a, value: 7}\n  - read: {addr: a}\n`, 'bench/xnu.ts');
  const [mmap, write, read] = s.steps as [Step, Step, Step];
  const xnu = new XnuSession(new Machine(), { seed: s.seed, ram: PRESSURE_RAM });
  const session: Session = { machine: xnu.machine, state: xnu, run: (st, base) => xnu.run(st, base) };
  timeSteps(session, MODEL, [mmap], () => undefined);
  let faults = 0;
  const count = (r: ReturnType<Session['run']>, i: number): void => {
    if (r.outcome !== 'ok') throw new Error(`bench: xnu pressure access ${i} failed: ${JSON.stringify(r)}`);
    faults += r.faults?.length ?? 0;
  };
  const sec = timeSteps(session, MODEL, Array.from({ length: pages }, (_, i) => pageStep(write, i)), count)
    + timeSteps(session, MODEL, Array.from({ length: pages }, (_, i) => pageStep(read, i)), count);
  return { rate: faults / sec, compressions: xnu.k.stats.compressions, decompressions: xnu.k.stats.decompressions };
}

/** The figures run.ts runs, each in its own process. */
export const XNU_FIGURES: Record<string, () => void> = {
  xnu_anon_write_faults: () => print('xnu_anon_write_faults_per_s', modelRate(false), 'faults/s'),
  xnu_cow_faults: () => print('xnu_cow_faults_per_s', modelRate(true), 'faults/s'),
  xnu_file_read_faults: () => print('xnu_file_read_faults_per_s', fileReadRate(), 'faults/s'),
  xnu_pressure_faults: () => {
    const r = pressureRate();
    print('xnu_pressure_faults_per_s', r.rate, 'faults/s');
    print('xnu_pressure_compressions', r.compressions, 'pages');
    print('xnu_pressure_decompressions', r.decompressions, 'pages');
  },
};
