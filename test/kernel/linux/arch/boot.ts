// Helpers for the arch tests: a booted Linux model with its first process, traced into memory.

import { Machine } from '../../../../src/hw/machine.js';
import { MemorySink, type TraceEvent } from '../../../../src/trace/events.js';
import type { LinuxVersion } from '../../../../src/kernel/linux/types.js';
import { LinuxSession } from '../../../../src/workload/linux.js';
import type { StepResult } from '../../../../src/workload/result.js';
import { parseScenario } from '../../../../src/workload/scenario/parse.js';

export const VERSIONS: readonly LinuxVersion[] = ['5.19', '6.18'];

export interface Booted {
  s: LinuxSession;
  sink: MemorySink;
  /** Run scenario steps (YAML list items) in this session; returns their results. */
  steps(yaml: string): StepResult[];
}

export function boot(v: LinuxVersion, signals: 'handle' | 'default' = 'handle'): Booted {
  const m = new Machine();
  const s = new LinuxSession(m, v, { signals, seed: 0 });
  const sink = new MemorySink();
  m.trace = sink;
  return {
    s,
    sink,
    steps(yaml: string): StepResult[] {
      const sc = parseScenario(`name: t\nsteps:\n${yaml}`, 't.yaml');
      return sc.steps.map((st) => s.run(st, { kernel: `linux-${v}`, step: st.index + 1, proc: st.proc, op: st.op }));
    },
  };
}

/** The `decision` reasons `fn` emitted, in order. */
export function decisions(events: readonly TraceEvent[], fn: string): string[] {
  return events.filter((e): e is Extract<TraceEvent, { ev: 'decision' }> => e.ev === 'decision' && e.fn === fn).map((e) => e.reason);
}

/** Functions entered, in order. */
export function entered(events: readonly TraceEvent[]): string[] {
  return events.filter((e): e is Extract<TraceEvent, { ev: 'enter' }> => e.ev === 'enter').map((e) => e.fn);
}
