// Shared helpers for the XNU model's tests: boot a machine, run inline scenarios on xnu-11417.
import assert from 'node:assert/strict';
import { Machine } from '../../../src/hw/machine.js';
import { MemorySink, type TraceEvent } from '../../../src/trace/events.js';
import { runScenario, type KernelRun } from '../../../src/workload/runner.js';
import { parseScenario } from '../../../src/workload/scenario/parse.js';
import { XnuSession } from '../../../src/workload/xnu.js';

export function boot(opts: { seed?: number; randL3?: number; ram?: number; signals?: 'handle' | 'default' } = {}): XnuSession {
  const m = new Machine();
  return new XnuSession(m, { seed: opts.seed ?? 0, randL3: opts.randL3, ram: opts.ram, signals: opts.signals });
}

/** Run a scenario written inline on xnu-11417 (steps only; header lines may be given). */
export function run(steps: string[], header: string[] = []): KernelRun {
  const text = ['name: inline', 'kernel: xnu-11417', ...header, 'steps:', ...steps.map((s) => '  ' + s)].join('\n') + '\n';
  const runs = runScenario(parseScenario(text, 'inline.yaml'));
  return runs[0]!;
}

/** The run's expectations all held. */
export function assertPassed(r: KernelRun): void {
  assert.deepEqual(r.failed, [], JSON.stringify(r.failed, null, 1));
}

export function eventsOf(r: KernelRun): TraceEvent[] {
  return r.events;
}

/** The function names entered, in order. */
export function entered(events: readonly TraceEvent[]): string[] {
  return events.flatMap((e) => (e.ev === 'enter' ? [e.fn] : []));
}

export function decisions(events: readonly TraceEvent[], fn?: string): string[] {
  return events.flatMap((e) => (e.ev === 'decision' && (fn === undefined || e.fn === fn) ? [e.reason] : []));
}

export { MemorySink };

/** Run steps on a session kept for inspection (k, tasks, maps, objects). */
export function session(steps: string[], opts: { seed?: number; ram?: number; signals?: 'handle' | 'default' } = {}): { s: XnuSession; results: import('../../../src/workload/result.js').StepResult[]; events: TraceEvent[] } {
  const text = ['name: inline', 'kernel: xnu-11417', 'steps:', ...steps.map((x) => '  ' + x)].join('\n') + '\n';
  const sc = parseScenario(text, 'inline.yaml');
  const s = new XnuSession(new Machine(), { seed: opts.seed ?? 0, ram: opts.ram, signals: opts.signals });
  const sink = new MemorySink();
  s.machine.trace = sink;
  const results = sc.steps.map((st, i) => {
    const base = { kernel: 'xnu-11417', step: i + 1, proc: st.proc, op: st.op };
    sink.emit({ ev: 'step', step: i + 1, op: st.op, proc: st.proc, kernel: 'xnu-11417' });
    return s.run(st, base);
  });
  return { s, results, events: sink.events };
}

/** Events of step n (1-based). */
export function stepEvents(events: readonly TraceEvent[], n: number): TraceEvent[] {
  const i = events.findIndex((e) => e.ev === 'step' && e.step === n);
  const j = events.findIndex((e, x) => x > i && e.ev === 'step');
  return events.slice(i, j < 0 ? undefined : j);
}
