// The model, driven from the page: parse a scenario with the CLI's parser, run it with the CLI's
// runner (runScenario) for the full trace, and rebuild the machine as it was at any event by
// deterministic replay (the model has no clock and seeded randomness, so running the same steps
// again reaches the same state). Nothing here changes the model; the page only reads it.

import { KERNELS, PLANNED_KERNELS, findKernel, type KernelInfo, type Session } from '../../../src/workload/kernels.js';
import { checkOps, kernelsFor, runScenario, type KernelRun } from '../../../src/workload/runner.js';
import { parseScenario, ScenarioError, type Scenario } from '../../../src/workload/scenario/index.js';
import type { TraceEvent, TraceSink } from '../../../src/trace/events.js';

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

/**
 * Runs the steps as the runner does (src/workload/runner.ts): a `step` marker, the step, a
 * `step_end` marker; a step error is a result and the run goes on; after a step that killed the
 * machine, later steps are not run. `halted()` tells an error that stops a replay from others.
 */
function drive(s: Scenario, kernel: string, session: Session, marker: () => void, halted: () => boolean): void {
  let killed = false;
  for (const step of s.steps) {
    marker();
    if (!killed) {
      try {
        const r = session.run(step, { kernel, step: step.index + 1, proc: step.proc, op: step.op });
        if (r.outcome === 'killed') killed = true;
      } catch (e) {
        if (halted()) throw e;
      }
    }
    marker();
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
  /** The kernel session behind `session` (tasks, maps, pages), when the page can reach it. */
  state: unknown;
  /** Events the replay emitted before stopping (equals `at` when it reached it). */
  reached: number;
}

/**
 * The machine and kernel as they were when event `at` of run `r` had just been emitted (its
 * effect applied), or right after boot for `at` = -1: the scenario is run again from the start
 * (deterministic) and stopped there.
 */
export function replay(r: Run, at: number): Replay {
  const k: KernelInfo | undefined = findKernel(r.kernel);
  if (!k) throw new Error(`kernel ${r.kernel} is not in this build`);
  const s = r.scenario;
  const sink = new StopSink(at < 0 ? Number.MAX_SAFE_INTEGER : at);
  let session: Session | null = null;
  let state: unknown = null;
  try {
    // The runner also hands the session the scenario's options (`signals`).
    session = k.create(s.machine, sink, s.seed, { signals: s.signals });
    state = session.state;
    if (at >= 0) drive(s, r.kernel, session, () => sink.emit(), () => sink.stopped);
  } catch (e) {
    if (!sink.stopped) throw e;
  }
  if (!session) throw new Error(`replay stopped while ${r.kernel} was booting (event ${at})`);
  return { session, state, reached: sink.count };
}
