// Issue 3, "Measure": anonymous write faults/s and COW faults/s after fork, through the Linux
// model's whole fault path (linux-6.18, tracing off) and on the host kernel (bench/host/faults.c,
// built with gcc -O2 at run time), and the ratio model/host (target: at least 1.0).
//
// Both sides run the same workload: map PAGES private anonymous pages and write one byte to each
// (one do_anonymous_page fault per page); for COW, write every page first, fork, and time the
// child writing every page (one wp_page_copy fault each). Only the writes are timed; each side
// checks that every timed write took exactly one minor fault. The best of several runs is kept.
// run.ts runs each figure in its own process; the figures print {"name", "value", "unit"} lines,
// with "value": null and a "note" when a side is not available.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nullSink } from '../src/trace/events.js';
import { findKernel, type Session } from '../src/workload/kernels.js';
import { parseExpr } from '../src/workload/scenario/expr.js';
import { parseScenario } from '../src/workload/scenario/parse.js';
import type { Step } from '../src/workload/scenario/schema.js';

const MODEL = 'linux-6.18';
const HOST_PAGES = 16384;
const HOST_RUNS = 10;
const MODEL_PAGES = 4096;
const MODEL_RUNS = 3;
const CFLAGS = ['-O2', '-Wall', '-Werror'];

type Workload = 'anon' | 'cow';

function print(name: string, value: number | null, unit: string, note?: string): void {
  const v = value === null ? null : unit === 'ratio' ? Math.round(value * 1000) / 1000 : Math.round(value);
  console.log(JSON.stringify(note ? { name, value: v, unit, note } : { name, value: v, unit }));
}

// --- the host kernel ---------------------------------------------------------------------------

function faultsSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/bench/; the C source stays in bench/host/.
  const candidates = [join(here, 'host', 'faults.c'), join(here, '..', '..', 'bench', 'host', 'faults.c')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`bench: faults.c not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Build faults.c once per source hash; a reason string if the host cannot build it. */
function buildHostBench(): string | { reason: string } {
  const src = faultsSource();
  const hash = createHash('sha256').update(readFileSync(src)).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'faultline-bench');
  const bin = join(dir, `faults-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync('gcc', [...CFLAGS, '-o', tmp, src], { encoding: 'utf8' });
  if (cc.error) return { reason: `gcc could not run (${cc.error.message}); install gcc to measure the host kernel` };
  if (cc.status !== 0) {
    rmSync(tmp, { force: true });
    return { reason: `gcc failed: ${cc.stderr.trim()}` };
  }
  renameSync(tmp, bin);
  return bin;
}

function hostRate(w: Workload): number | { reason: string } {
  if (process.platform !== 'linux') return { reason: `the host is ${process.platform}, not Linux` };
  const bin = buildHostBench();
  if (typeof bin !== 'string') return bin;
  const r = spawnSync(bin, [w, String(HOST_PAGES), String(HOST_RUNS)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { reason: `faults ${w} failed: ${(r.stderr || r.error?.message || '').trim()}` };
  const out = JSON.parse(r.stdout) as { faults_per_s: number };
  return out.faults_per_s;
}

// --- the model -----------------------------------------------------------------------------------

const SETUP = `
name: bench
steps:
  - mmap: {as: a, length: ${MODEL_PAGES * 4096}, prot: rw, flags: [private, anonymous]}
  - write: {addr: a, value: 1}
  - fork: {as: child}
`;

/** The write to page i of `a`, by `proc`: the parsed write step with another address. */
function writeStep(template: Step, i: number, proc: string): Step {
  if (template.op !== 'write') throw new Error('bench: template is not a write');
  return { ...template, proc, args: { ...template.args, addr: parseExpr(`a+${i * 4096}`) } };
}

/** Seconds for `steps` on `session`, checking that each took one minor fault and no signal. */
function timeWrites(session: Session, steps: readonly Step[]): number {
  const results = new Array<ReturnType<Session['run']>>(steps.length);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    results[i] = session.run(s, { kernel: MODEL, step: s.index + 1, proc: s.proc, op: s.op });
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const bad = results.findIndex((r) => r.outcome !== 'ok' || r.minflt !== 1);
  if (bad >= 0) throw new Error(`bench: model write ${bad} did not take exactly one minor fault: ${JSON.stringify(results[bad])}`);
  return sec;
}

function modelRate(w: Workload): number | { reason: string } {
  const k = findKernel(MODEL);
  if (!k) return { reason: `not available: the kernel ${MODEL} is not registered in src/workload/kernels.ts` };
  const s = parseScenario(SETUP, 'bench/linux.ts');
  const [mmap, write, fork] = s.steps as [Step, Step, Step];
  let best = Infinity;
  for (let run = 0; run < MODEL_RUNS + 1; run++) { // run 0 warms the JIT
    const session = k.create(s.machine, nullSink, s.seed);
    const base = (st: Step) => ({ kernel: MODEL, step: st.index + 1, proc: st.proc, op: st.op });
    session.run(mmap, base(mmap));
    const pages = Array.from({ length: MODEL_PAGES }, (_, i) => writeStep(write, i, 'main'));
    let timed = pages;
    if (w === 'cow') {
      timeWrites(session, pages); // populate in the parent
      session.run(fork, base(fork));
      timed = pages.map((p, i) => writeStep(p, i, 'child'));
    }
    const sec = timeWrites(session, timed);
    if (run > 0) best = Math.min(best, sec);
  }
  return MODEL_PAGES / best;
}

function figure(w: Workload, label: string): void {
  const model = modelRate(w);
  const host = hostRate(w);
  const unit = 'faults/s';
  print(`linux_${label}_faults_per_s`, typeof model === 'number' ? model : null, unit, typeof model === 'number' ? undefined : model.reason);
  print(`host_${label}_faults_per_s`, typeof host === 'number' ? host : null, unit, typeof host === 'number' ? undefined : host.reason);
  const ratio = typeof model === 'number' && typeof host === 'number' ? model / host : null;
  print(`linux_${label}_ratio_model_host`, ratio, 'ratio', ratio === null ? 'not available: needs both figures (target >= 1.0)' : undefined);
}

/** The figures run.ts runs, each in its own process. */
export const LINUX_FIGURES: Record<string, () => void> = {
  linux_anon_write_faults: () => figure('anon', 'anon_write'),
  linux_cow_faults: () => figure('cow', 'cow'),
};
