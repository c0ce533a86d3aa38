// The renderers: each reads a finished list of trace events and returns text. None of them
// touches the model; the CLI and the web UI pick one by name.

import type { TraceEvent } from '../trace/events.js';
import { renderText } from './text.js';
import { renderJson, renderJsonl } from './json.js';
import { renderPerfetto } from './perfetto.js';

export { renderText, describeEvent, TEXT_HEADER, type TextOptions } from './text.js';
export { renderJson, renderJsonl, parseJsonl, type JsonTrace } from './json.js';
export { renderPerfetto, perfettoTrace, type ChromeTrace, type ChromeTraceEvent } from './perfetto.js';

/** The output formats a command can offer with `--format`. */
export const FORMATS = ['text', 'json', 'jsonl', 'perfetto'] as const;
export type Format = (typeof FORMATS)[number];

export interface RenderOptions {
  /** Text only: ANSI colours. */
  color?: boolean;
  /** JSON only: the per-run results that precede the events. */
  results?: readonly unknown[];
}

/** Render in the named format: the one switch the CLI's `--format` option needs. */
export function renderAs(format: Format, events: readonly TraceEvent[], opts: RenderOptions = {}): string {
  switch (format) {
    case 'text':
      return renderText(events, { color: opts.color === true });
    case 'json':
      return renderJson(events, opts.results ?? []);
    case 'jsonl':
      return renderJsonl(events);
    case 'perfetto':
      return renderPerfetto(events);
  }
}

export function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}
