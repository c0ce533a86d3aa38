// The model, driven from the page: parse a scenario with the CLI's parser, run it with the CLI's
// runner (runScenario) for the full trace, and rebuild the machine as it was at any event by
// deterministic replay (the model has no clock and seeded randomness, so running the same steps
// again reaches the same state). Nothing here changes the model; the page only reads it.

import { KERNELS, PLANNED_KERNELS, findKernel, type KernelInfo, type Session } from '../../../src/workload/kernels.js';
import { checkOps, kernelsFor, runScenario, type KernelRun } from '../../../src/workload/runner.js';
import { parseScenario, ScenarioError, type Scenario } from '../../../src/workload/scenario/index.js';
import type { TraceEvent, TraceSink } from '../../../src/trace/events.js';
import type { StepResult } from '../../../src/workload/result.js';

export interface InputError {
  line: number;
  col: number;
  path: string;
  message: string;
  /** `file:line:col: path: message`, as the CLI prints it. */
  text: string;
}

export type Parsed = { ok: true; scenario: Scenario } | { ok: false; error: InputError };

function inputError(e: unknown): InputError {
  if (e instanceof ScenarioError) return { line: e.line, col: e.col, path: e.path, message: e.message, text: e.format() };
  const msg = e instanceof Error ? e.message : String(e);
  return { line: 0, col: 0, path: '', message: msg, text: msg };
}

/** Parse scenario text; never runs anything from it (YAML data only, validated by the schema). */
export function parse(text: string, file: string): Parsed {
  try {
    return { ok: true, scenario: parseScenario(text, file) };
  } catch (e) {
    return { ok: false, error: inputError(e) };
  }
}

/** Kernel names this build runs. */
export function availableKernels(): string[] {
  return KERNELS.map((k) => k.name);
}

export function plannedKernels(): Record<string, string> {
  return { ...PLANNED_KERNELS };
}

/** The kernels a scenario names (or bare), checked as the CLI checks them. */
export function scenarioKernels(s: Scenario, override?: readonly string[]): { ok: true; kernels: string[] } | { ok: false; error: InputError } {
  try {
    const ks = kernelsFor(s, override);
    for (const k of ks) checkOps(s, k);
    return { ok: true, kernels: ks.map((k) => k.name) };
  } catch (e) {
    return { ok: false, error: inputError(e) };
  }
}

/** One kernel's full run, with the index of each step's first event. */
export interface Run {
  scenario: Scenario;
  kernel: string;
  run: KernelRun;
  events: TraceEvent[];
  /** stepStart[i]: index of the `step` event of step i+1. */
  stepStart: number[];
}

export function fullRun(s: Scenario, kernel: string): { ok: true; run: Run } | { ok: false; error: InputError } {
  try {
    const [run] = runScenario(s, { kernels: [kernel] });
    const events = run!.events;
    const stepStart: number[] = [];
    events.forEach((e, i) => e.ev === 'step' && stepStart.push(i));
    return { ok: true, run: { scenario: s, kernel, run: run!, events, stepStart } };
  } catch (e) {
    return { ok: false, error: inputError(e) };
  }
}

class ReplayStop extends Error {}

/** A sink that counts events and stops the run when event `at` is emitted (after its effect). */
class StopSink implements TraceSink {
  readonly enabled = true;
  count = 0;
  stopped = false;
  constructor(private readonly at: number) {}
  emit(): void {
    if (this.stopped || this.count === this.at) {
      this.stopped = true;
      throw new ReplayStop('replay reached its event');
    }
    this.count++;
  }
}

export interface Replay {
  session: Session;
  /** Events the replay emitted before stopping (equals `at` when it reached it). */
  reached: number;
}

/**
 * The machine and kernel as they were when event `at` had just been emitted (its effect
 * applied), or right after boot for `at` = -1. Mirrors the runner's loop (src/workload/runner.ts):
 * a `step` event, the step, a `step_end` event; after a step that killed the machine, later
 * steps are not run.
 */
export function replay(s: Scenario, kernel: string, at: number): Replay {
  const k: KernelInfo | undefined = findKernel(kernel);
  if (!k) throw new Error(`kernel ${kernel} is not in this build`);
  const sink = new StopSink(at < 0 ? Number.MAX_SAFE_INTEGER : at);
  let session: Session | null = null;
  let stopped = false;
  try {
    // A kernel that traces its own boot emits those events before step 1, as in the full run.
    // The runner also hands the session the scenario's options (`signals`); a kernel whose
    // create() takes fewer arguments ignores them.
    session = (k.create as (...a: unknown[]) => Session)(s.machine, sink, s.seed, { signals: s.signals });
    if (at < 0) return { session, reached: 0 };
    for (const step of s.steps) {
      const n = step.index + 1;
      const base = { kernel: k.name, step: n, proc: step.proc, op: step.op };
      sink.emit();
      let r: StepResult | null = null;
      if (!stopped) {
        try {
          r = session!.run(step, base);
        } catch (e) {
          if (sink.stopped) throw e;
          // The runner reports a step error as a result and goes on.
        }
      }
      if (r?.outcome === 'killed') stopped = true;
      sink.emit();
    }
  } catch (e) {
    if (!sink.stopped) throw e;
  }
  if (!session) throw new Error(`replay stopped while ${kernel} was booting (event ${at})`);
  return { session, reached: sink.count };
}
