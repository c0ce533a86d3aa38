// Runs a parsed scenario on one or more kernels: checks up front that each kernel runs every
// operation the scenario uses, then runs the steps in order, matching each result against the
// step's `expect`. Deterministic: same scenario, seed and kernel, same events and results.

import { MemorySink, TeeSink, nullSink, type TraceEvent, type TraceSink } from '../trace/events.js';
import { matchExpect, type Mismatch } from './expect.js';
import { StepError } from './bare.js';
import { KERNELS, PLANNED_KERNELS, findKernel, type KernelInfo } from './kernels.js';
import { withFields, type StepResult } from './result.js';
import { ScenarioError } from './scenario/errors.js';
import { UnknownNameError } from './scenario/expr.js';
import type { Scenario } from './scenario/schema.js';

export interface StepMismatch {
  step: number;
  line: number;
  mismatches: Mismatch[];
}

export interface KernelRun {
  scenario: string;
  file: string;
  kernel: string;
  results: StepResult[];
  /** Trace events (empty when the run was not traced). */
  events: TraceEvent[];
  failed: StepMismatch[];
}

export interface RunOptions {
  /** Kernels to run on; overrides the scenario's `kernel`. */
  kernels?: readonly string[];
  /** Keep the trace events in the result (default true). */
  trace?: boolean;
  /** Extra sink for the events (e.g. a JSONL stream). */
  sink?: TraceSink;
  /** Reads a host file for `file: {content: {host: PATH}}` (see SessionOptions). */
  readHostFile?: (path: string) => Uint8Array;
}

/** The kernels a scenario runs on: the CLI's choice, else the scenario's, else `bare`. */
export function kernelsFor(s: Scenario, override?: readonly string[]): KernelInfo[] {
  const names = override && override.length > 0 ? override : s.kernel ?? ['bare'];
  return names.map((name) => {
    const k = findKernel(name);
    if (k) return k;
    const planned = PLANNED_KERNELS[name];
    const known = KERNELS.map((x) => x.name).join(', ');
    const msg = planned
      ? `kernel '${name}' (${planned}) is not in this build yet; available: ${known}`
      : `unknown kernel '${name}'; available: ${known}`;
    throw new ScenarioError({ file: s.file, line: 0, col: 0, path: 'kernel' }, msg);
  });
}

/** Reject, before running, any step whose operation the kernel does not run. */
export function checkOps(s: Scenario, k: KernelInfo): void {
  for (const step of s.steps) {
    if (!k.ops.includes(step.op)) {
      const why = k.name === 'bare' ? 'it is a process operation and needs an OS kernel' : `kernel ${k.name} does not run it`;
      throw new ScenarioError(step.loc(step.op), `'${step.op}' cannot run on ${k.name}: ${why}; ${k.name} runs ${k.ops.join(', ')}`);
    }
  }
}

/** Reject, before running, a `machine:` setting the kernel does not model (rather than ignore it). */
export function checkSettings(s: Scenario, k: KernelInfo): void {
  for (const key of Object.keys(s.machine) as (keyof Scenario['machine'])[]) {
    if (s.machine[key] === undefined || k.settings.includes(key)) continue;
    const at = s.loc?.(['machine', key]) ?? { file: s.file, line: 0, col: 0, path: `machine.${key}` };
    const who = KERNELS.filter((x) => x.settings.includes(key)).map((x) => x.name).join(', ');
    throw new ScenarioError(at, `not modelled by ${k.name}; it is a setting of ${who}: remove it or run on one of those`);
  }
}

export function runScenario(s: Scenario, opts: RunOptions = {}): KernelRun[] {
  const kernels = kernelsFor(s, opts.kernels);
  for (const k of kernels) {
    checkOps(s, k);
    checkSettings(s, k);
  }
  return kernels.map((k) => runOn(s, k, opts));
}

function runOn(s: Scenario, k: KernelInfo, opts: RunOptions): KernelRun {
  const mem = opts.trace === false ? null : new MemorySink();
  const sinks = [mem ?? nullSink, opts.sink ?? nullSink];
  const sink = new TeeSink(sinks);
  const session = k.create(s.machine, sink, s.seed, { signals: s.signals, readHostFile: opts.readHostFile });
  const results: StepResult[] = [];
  const failed: StepMismatch[] = [];
  let stopped: string | null = null;
  for (const step of s.steps) {
    const n = step.index + 1; // steps are numbered from 1, as a reader counts them
    const base = { kernel: k.name, step: n, proc: step.proc, op: step.op };
    if (sink.enabled) sink.emit({ ev: 'step', step: n, op: step.op, proc: step.proc, kernel: k.name, line: step.line });
    const r: StepResult = stopped ? withFields(base, { outcome: 'error', message: stopped }) : runStep(session, s, step, base);
    if (r.outcome === 'killed' && !stopped) stopped = `not run: the machine stopped at step ${n} (${r.message ?? 'killed'})`;
    if (sink.enabled) sink.emit({ ev: 'step_end', step: n, outcome: r.outcome });
    results.push(r);
    if (step.expect) {
      const mismatches = matchExpect(step.expect, r);
      if (mismatches.length) failed.push({ step: n, line: step.line, mismatches });
    }
  }
  return { scenario: s.name, file: s.file, kernel: k.name, results, events: mem?.events ?? [], failed };
}

function runStep(session: ReturnType<KernelInfo['create']>, s: Scenario, step: Scenario['steps'][number], base: Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>): StepResult {
  try {
    return session.run(step, base);
  } catch (e) {
    if (e instanceof StepError || e instanceof UnknownNameError) {
      const at = step.loc(step.op);
      // The scenario's file name as the caller gave it (goldens use a relative one).
      return withFields(base, { outcome: 'error', message: `${s.file}:${at.line}:${at.col}: ${e.message}` });
    }
    throw e;
  }
}
