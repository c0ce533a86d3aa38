// JSON renderers: the events exactly as the model emitted them (they are plain JSON by design,
// 64-bit values already being hex strings), for scripts, golden files and the web UI.

import type { TraceEvent } from '../trace/events.js';

/** The single-document form: results (whatever the runner reports per run) and the events. */
export interface JsonTrace<R = unknown> {
  results: R[];
  events: TraceEvent[];
}

/** One pretty-printed (2-space) document `{ "results": [...], "events": [...] }`, newline-terminated. */
export function renderJson<R = unknown>(events: readonly TraceEvent[], results: readonly R[] = []): string {
  const doc: JsonTrace<R> = { results: [...results], events: [...events] };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** JSON Lines: one compact event per line, the same bytes `JsonlSink` streams. */
export function renderJsonl(events: readonly TraceEvent[]): string {
  return events.map((e) => JSON.stringify(e) + '\n').join('');
}

/**
 * Read JSON Lines back (blank lines ignored). Checks only that each line is a JSON object with
 * an `ev` string: the events come from this program, so this guards against truncated or
 * foreign files, not against a malicious producer.
 */
export function parseJsonl(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new SyntaxError(`line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
    if (typeof v !== 'object' || v === null || typeof (v as { ev?: unknown }).ev !== 'string') {
      throw new SyntaxError(`line ${i + 1}: not a trace event (no "ev" field)`);
    }
    events.push(v as TraceEvent);
  });
  return events;
}
