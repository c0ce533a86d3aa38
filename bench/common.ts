// What the per-kernel bench files share: the JSON line each figure prints, the host programs in
// bench/host/ (built with gcc once per source hash, run, their JSON read back), and the timed
// run of scenario steps through a session.

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

const CFLAGS = ['-O2', '-Wall', '-Werror'];

/** Why a figure could not be measured here. */
export interface Unavailable {
  reason: string;
}

/** One figure: {"name", "value", "unit"} (a ratio to 3 decimals, else an integer), with a note when null. */
export function print(name: string, value: number | null, unit: string, note?: string): void {
  const v = value === null ? null : unit === 'ratio' ? Math.round(value * 1000) / 1000 : Math.round(value);
  console.log(JSON.stringify(note ? { name, value: v, unit, note } : { name, value: v, unit }));
}

/** bench/host/NAME.c (compiled to dist/bench/, the C source stays in bench/host/). */
function hostSource(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'host', `${name}.c`), join(here, '..', '..', 'bench', 'host', `${name}.c`)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`bench: ${name}.c not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Build bench/host/NAME.c once per source hash; the binary's path, or why the host cannot build it. */
function buildHost(name: string): string | Unavailable {
  const src = hostSource(name);
  const hash = createHash('sha256').update(readFileSync(src)).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'faultline-bench');
  const bin = join(dir, `${name}-${hash}`);
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

/** Run host program NAME with `args`; its `faults_per_s`, or why there is none. */
export function hostFaultsPerS(name: string, args: readonly string[]): number | Unavailable {
  if (process.platform !== 'linux') return { reason: `the host is ${process.platform}, not Linux` };
  const bin = buildHost(name);
  if (typeof bin !== 'string') return bin;
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { reason: `${name} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}` };
  return (JSON.parse(r.stdout) as { faults_per_s: number }).faults_per_s;
}

/** The access to page i of `a` by `proc`: the parsed template step with another address. */
export function pageStep(template: Step, i: number, proc: string = template.proc): Step {
  if (template.op !== 'write' && template.op !== 'read') throw new Error(`bench: template is a ${template.op}, not an access`);
  return { ...template, proc, args: { ...template.args, addr: parseExpr(`a+${i * 4096}`) } } as Step;
}

/**
 * Seconds for running `steps` on `session` (results are built, as for a user), then `check` on
 * each result, which throws if a step did not do what the figure assumes.
 */
export function timeSteps(session: Session, kernel: string, steps: readonly Step[], check: (r: ReturnType<Session['run']>, i: number) => void): number {
  const results = new Array<ReturnType<Session['run']>>(steps.length);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    results[i] = session.run(s, { kernel, step: s.index + 1, proc: s.proc, op: s.op });
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  results.forEach(check);
  return sec;
}

/**
 * Write faults/s through `kernel`'s whole path (tracing off): map `pages` private anonymous pages
 * and time one write to each (a zero-fill fault each); with `cow`, write them all first, fork,
 * and time the child writing each (a copy-on-write fault each). `check` throws for a write that
 * did not take the one fault the figure assumes. The best of `runs` (after a JIT warm-up run).
 */
export function writeFaultRate(kernel: string, opts: { pages: number; runs: number; cow: boolean; machine?: string },
  check: (r: ReturnType<Session['run']>, i: number) => void): number | Unavailable {
  const k = findKernel(kernel);
  if (!k) return { reason: `not available: the kernel ${kernel} is not registered in src/workload/kernels.ts` };
  const s = parseScenario(`name: bench
${opts.machine ? `machine: ${opts.machine}\n` : ''}steps:
  - mmap: {as: a, length: ${opts.pages * 4096}, prot: rw, flags: [private, anonymous]}
  - write: {addr: a, value: 1}
  - fork: {as: child}
`, 'bench/common.ts');
  const [mmap, write, fork] = s.steps as [Step, Step, Step];
  const base = (st: Step) => ({ kernel, step: st.index + 1, proc: st.proc, op: st.op });
  let best = Infinity;
  for (let run = 0; run < opts.runs + 1; run++) { // run 0 warms the JIT
    const session = k.create(s.machine, nullSink, s.seed);
    session.run(mmap, base(mmap));
    const pages = Array.from({ length: opts.pages }, (_, i) => pageStep(write, i, 'main'));
    let timed = pages;
    if (opts.cow) {
      timeSteps(session, kernel, pages, check); // populate in the parent
      session.run(fork, base(fork));
      timed = pages.map((p, i) => pageStep(p, i, 'child'));
    }
    const sec = timeSteps(session, kernel, timed, check);
    if (run > 0) best = Math.min(best, sec);
  }
  return opts.pages / best;
}
