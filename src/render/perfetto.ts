// Perfetto renderer: Chrome trace-event JSON ("Trace Event Format", the JSON that
// ui.perfetto.dev and chrome://tracing open). Kernel calls become B/E slices, everything else an
// instant event on the same track, so the UI shows the call tree with the hardware steps as ticks.
//
// Time is the event's sequence number (the model has no clock and must stay deterministic), so a
// "microsecond" in the UI is one event. Each workload step gets a track named after its process and
// kernel; events before the first step go to the `cpu0` track.
//
// The trace-event format requires B/E to nest per track. The model's own enter/leave already
// nest, but a trace may be cut (a step ending inside a call, a `leave` whose `enter` came before
// the trace started), so this renderer closes open slices itself and never emits an unmatched E.

import type { TraceEvent } from '../trace/events.js';
import { describeEvent } from './text.js';

export interface ChromeTraceEvent {
  name: string;
  ph: 'B' | 'E' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  cat?: string;
  /** Instant-event scope: 't' draws the tick on its thread's track. */
  s?: 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
}

const PID = 1;
const CPU_TID = 1;
const PROCESS_NAME = 'faultline';

/** One timeline row: its open slices, innermost last (`step` marks a step's own slice). */
interface Track {
  tid: number;
  name: string;
  open: { name: string; step: boolean }[];
}

/** Build the Chrome trace object (see `renderPerfetto` for the JSON text). */
export function perfettoTrace(events: readonly TraceEvent[]): ChromeTrace {
  const out: ChromeTraceEvent[] = [];
  const tracks = new Map<string, Track>([['', { tid: CPU_TID, name: 'cpu0', open: [] }]]);
  let cur = tracks.get('')!;

  const slice = (ph: 'B' | 'E', name: string, ts: number, cat: string, args?: Record<string, unknown>): void => {
    out.push({ name, ph, pid: PID, tid: cur.tid, ts, cat, ...(args === undefined ? {} : { args }) });
  };
  /** Close the innermost `n` open slices of the current track, innermost first. */
  const close = (n: number, ts: number, lastArgs?: Record<string, unknown>): void => {
    for (let i = 0; i < n; i++) {
      const s = cur.open.pop()!;
      slice('E', s.name, ts, s.step ? 'workload' : 'kernel', i === n - 1 ? lastArgs : undefined);
    }
  };

  events.forEach((e, ts) => {
    switch (e.ev) {
      case 'step': {
        close(cur.open.length, ts);
        cur = trackFor(tracks, e.proc, e.kernel);
        const name = stepName(e);
        cur.open.push({ name, step: true });
        slice('B', name, ts, 'workload', fields(e));
        return;
      }
      case 'step_end': {
        const at = findLast(cur.open, (s) => s.step);
        if (at >= 0) close(cur.open.length - at, ts, { outcome: e.outcome });
        else out.push(instant(e, ts, cur.tid));
        return;
      }
      case 'enter':
        cur.open.push({ name: e.fn, step: false });
        slice('B', e.fn, ts, 'kernel', { ...e.args, src: e.src });
        return;
      case 'leave': {
        const at = findLast(cur.open, (s) => !s.step && s.name === e.fn);
        if (at >= 0) close(cur.open.length - at, ts, e.ret === undefined ? undefined : { ret: e.ret });
        else out.push(instant(e, ts, cur.tid));
        return;
      }
      default:
        out.push(instant(e, ts, cur.tid, innermostFn(cur)));
    }
  });
  for (const t of tracks.values()) {
    cur = t;
    close(t.open.length, events.length);
  }
  const used = new Set(out.map((e) => e.tid));
  const named = [...tracks.values()].filter((t) => used.has(t.tid));
  return { traceEvents: [...metadata(named), ...out], displayTimeUnit: 'ns' };
}

/** The Chrome trace as JSON text (compact: traces get large), newline-terminated. */
export function renderPerfetto(events: readonly TraceEvent[]): string {
  return JSON.stringify(perfettoTrace(events)) + '\n';
}

function trackFor(tracks: Map<string, Track>, proc: string, kernel: string): Track {
  const key = `${proc} [${kernel}]`;
  let t = tracks.get(key);
  if (t === undefined) {
    t = { tid: CPU_TID + tracks.size, name: key, open: [] };
    tracks.set(key, t);
  }
  return t;
}

function stepName(e: Extract<TraceEvent, { ev: 'step' }>): string {
  return `step ${e.step}: ${e.op}`;
}

function innermostFn(t: Track): string | undefined {
  const at = findLast(t.open, (s) => !s.step);
  return at < 0 ? undefined : t.open[at]!.name;
}

function findLast<T>(xs: readonly T[], p: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (p(xs[i]!)) return i;
  return -1;
}

/** The event's fields as slice arguments (the `ev` tag is kept so the UI can filter on it). */
function fields(e: TraceEvent): Record<string, unknown> {
  return { ...e };
}

function instant(e: TraceEvent, ts: number, tid: number, inFn?: string): ChromeTraceEvent {
  return { name: instantName(e, inFn), ph: 'i', s: 't', pid: PID, tid, ts, cat: category(e), args: fields(e) };
}

/** The text renderer's line without its comment markers: one wording for both views. */
function instantName(e: TraceEvent, inFn?: string): string {
  const text = describeEvent(e, inFn);
  const m = /^\/\* (.*) \*\/$/.exec(text);
  return m === null ? text : m[1]!;
}

function category(e: TraceEvent): string {
  switch (e.ev) {
    case 'step':
    case 'step_end':
      return 'workload';
    case 'enter':
    case 'leave':
    case 'decision':
    case 'pte_write':
    case 'frame':
    case 'signal':
    case 'log':
    case 'pt_regs':
      return 'kernel';
    default:
      return 'cpu';
  }
}

/** Names for the process and each track that has events, and their order in the UI (cpu0 first). */
function metadata(tracks: readonly Track[]): ChromeTraceEvent[] {
  const m: ChromeTraceEvent[] = [{ name: 'process_name', ph: 'M', pid: PID, tid: CPU_TID, args: { name: PROCESS_NAME } }];
  for (const t of tracks) {
    m.push({ name: 'thread_name', ph: 'M', pid: PID, tid: t.tid, args: { name: t.name } });
    m.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid: t.tid, args: { sort_index: t.tid } });
  }
  return m;
}
