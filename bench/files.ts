// Issue 5, "Measure": file read faults/s with fault-around on and off, through the Linux model's
// whole fault path (linux-6.18, tracing off) and on the host kernel (bench/host/files.c, built with
// gcc -O2 at run time), and the ratio model/host.
//
// Both sides read one byte of every page of a cached file mapped MAP_PRIVATE PROT_READ, in order.
// With fault-around each fault maps the 16-page window, so there is one fault per 16 pages; without
// it one fault per page. The model turns fault-around off with its fault_around_bytes knob (the
// debugfs file) set to 4096; the host, without touching that global knob, with a per-mapping
// userfaultfd write-protect registration (uffd_disable_fault_around), which needs a tmpfs file, so
// the host reads a /dev/shm file (shmem_fault) where the model reads a cached disk file
// (filemap_fault). Only the reads are timed; faults/s = faults taken / seconds, checked per side.

import { Machine } from '../src/hw/machine.js';
import { fsglobals } from '../src/kernel/linux/fs/fs.js';
import { nullSink } from '../src/trace/events.js';
import { LinuxSession } from '../src/workload/linux.js';
import { parseExpr } from '../src/workload/scenario/expr.js';
import { parseScenario } from '../src/workload/scenario/parse.js';
import type { Step } from '../src/workload/scenario/schema.js';
import { hostFaultsPerS, print, type Unavailable } from './common.js';

const MODEL = 'linux-6.18';
const HOST_PAGES = 16384;
const HOST_RUNS = 10;
const MODEL_PAGES = 4096;
const MODEL_RUNS = 3;

type Workload = 'around' | 'noaround';


// --- the host kernel ---------------------------------------------------------------------------

function hostRate(w: Workload): number | Unavailable {
  return hostFaultsPerS('files', [w, String(HOST_PAGES), String(HOST_RUNS)]);
}

// --- the model -----------------------------------------------------------------------------------

const SETUP = `
name: bench
steps:
  - file: {as: f, size: ${MODEL_PAGES * 4096}, content: "f"}
  - mmap: {as: m, addr: 0x200000000, length: ${MODEL_PAGES * 4096}, prot: r, flags: [private, fixed], file: f}
  - read: {addr: m}
  - munmap: {addr: m, length: ${MODEL_PAGES * 4096}}
`;

function modelRate(w: Workload): number {
  const s = parseScenario(SETUP, 'bench/files.ts');
  const [file, mmap, read, munmap] = s.steps as [Step, Step, Step, Step];
  if (read.op !== 'read') throw new Error('bench: template is not a read');
  const reads = Array.from({ length: MODEL_PAGES }, (_, i): Step => ({ ...read, args: { ...read.args, addr: parseExpr(`m+${i * 4096}`) } }));
  const base = (st: Step) => ({ kernel: MODEL, step: st.index + 1, proc: st.proc, op: st.op });
  const m = new Machine({ maxPhyAddr: 46 });
  const session = new LinuxSession(m, '6.18', { seed: 0, signals: 'handle', ram: 256n << 20n });
  m.trace = nullSink;
  fsglobals(session.k).fault_around_bytes = w === 'around' ? 65536 : 4096;
  session.run(file, base(file));
  let best = Infinity;
  let faults = 0;
  for (let run = 0; run < MODEL_RUNS + 1; run++) { // run 0 warms the JIT
    session.run(mmap, base(mmap));
    const before = session.k.current.min_flt + session.k.current.maj_flt;
    const t0 = process.hrtime.bigint();
    for (const r of reads) {
      const res = session.run(r, base(r));
      if (res.outcome !== 'ok') throw new Error(`bench: model read failed: ${JSON.stringify(res)}`);
    }
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const took = session.k.current.min_flt + session.k.current.maj_flt - before;
    const expect = w === 'around' ? MODEL_PAGES / 16 : MODEL_PAGES;
    if (took !== expect) throw new Error(`bench: the model took ${took} faults for ${MODEL_PAGES} pages, expected ${expect}`);
    session.run(munmap, base(munmap));
    if (run > 0 && sec < best) {
      best = sec;
      faults = took;
    }
  }
  return faults / best;
}

function figure(w: Workload): void {
  const label = w === 'around' ? 'file_read_fault_around' : 'file_read_no_fault_around';
  const model = modelRate(w);
  const host = hostRate(w);
  print(`linux_${label}_faults_per_s`, model, 'faults/s');
  print(`host_${label}_faults_per_s`, typeof host === 'number' ? host : null, 'faults/s', typeof host === 'number' ? undefined : host.reason);
  const ratio = typeof host === 'number' ? model / host : null;
  print(`linux_${label}_ratio_model_host`, ratio, 'ratio', ratio === null ? 'not available: needs both figures' : undefined);
}

/** The figures run.ts runs, each in its own process. */
export const FILES_FIGURES: Record<string, () => void> = {
  linux_file_read_fault_around: () => figure('around'),
  linux_file_read_no_fault_around: () => figure('noaround'),
};
