// Issue 5, "Measure": a memory-pressure run on the Linux model (linux-6.18, tracing off): RAM
// 8 MiB, swap 32 MiB, a private anonymous working set of 16 MiB (twice the RAM) written once and
// then written again page by page, round after round. Every access of the later rounds faults:
// a swap-in (major, or minor when readahead already brought the page into the swap cache), with
// direct reclaim swapping older pages out to make room. Prints the faults/s over the timed rounds
// and the share of them that were major. The host has no swap (and its RAM is far larger), so
// there is no host figure; its note says so.

import { nullSink } from '../src/trace/events.js';
import { findKernel } from '../src/workload/kernels.js';
import { parseScenario } from '../src/workload/scenario/parse.js';
import { print } from './common.js';

const MODEL = 'linux-6.18';
const RAM_MB = 8;
const SET_PAGES = 2 * RAM_MB * 256;
const ROUNDS = 2;


function run(): { faults: number; major: number; seconds: number } {
  const k = findKernel(MODEL);
  if (!k) throw new Error(`bench: no kernel ${MODEL}`);
  let text = `name: pressure\nmachine: {ram: ${RAM_MB}m, swap: ${4 * RAM_MB}m}\nsteps:\n  - mmap: {as: a, length: ${SET_PAGES * 4096}, prot: rw, flags: [private, anonymous]}\n`;
  for (let i = 0; i < SET_PAGES; i++) text += `  - write: {addr: a+${i * 4096}, value: ${(i % 250) + 1}}\n`;
  const s = parseScenario(text, 'pressure.yaml');
  const session = k.create(s.machine, nullSink, s.seed);
  const base = (st: (typeof s.steps)[number]) => ({ kernel: MODEL, step: st.index + 1, proc: st.proc, op: st.op });
  for (const st of s.steps) {
    const r = session.run(st, base(st));
    if (r.outcome !== 'ok') throw new Error(`bench: the first pass failed at step ${st.index + 1}: ${r.message ?? r.outcome}`);
  }
  const writes = s.steps.slice(1);
  let faults = 0;
  let major = 0;
  const t0 = process.hrtime.bigint();
  for (let round = 0; round < ROUNDS; round++) {
    for (const st of writes) {
      const r = session.run(st, base(st));
      if (r.outcome !== 'ok') throw new Error(`bench: round ${round} failed at step ${st.index + 1}: ${r.message ?? r.outcome}`);
      faults += (r.minflt ?? 0) + (r.majflt ?? 0);
      major += r.majflt ?? 0;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (faults < writes.length * ROUNDS * 0.9) throw new Error(`bench: expected nearly every access to fault under pressure, got ${faults}`);
  return { faults, major, seconds };
}

export const PRESSURE_FIGURES: Record<string, () => void> = {
  pressure_faults_per_s() {
    let best = { faults: 0, major: 0, seconds: Infinity };
    for (let i = 0; i < 2; i++) {
      const r = run();
      if (r.faults / r.seconds > best.faults / best.seconds) best = r;
    }
    print('pressure_faults_per_s', best.faults / best.seconds, 'faults/s',
      `model ${MODEL}: working set ${2 * RAM_MB} MiB in ${RAM_MB} MiB RAM + swap; ${Math.round((100 * best.major) / best.faults)}% major (swap I/O), the rest swap-cache hits from readahead; no host figure (the host has no swap)`);
  },
};
