// JSON and JSON Lines: the events round-trip unchanged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonl, renderJson, renderJsonl } from '../../src/render/json.js';
import { JsonlSink } from '../../src/trace/events.js';
import { demandFault, oneOfEach, segfault } from './fixture.test.js';

const trace = [...demandFault, ...segfault, ...Object.values(oneOfEach)];

test('renderJson: one pretty document with results then events, round-tripping', () => {
  const results = [{ kernel: 'linux', outcome: 'ok' }];
  const text = renderJson(trace, results);
  assert.ok(text.startsWith('{\n  "results": [\n    {\n      "kernel": "linux"'));
  assert.ok(text.endsWith('}\n'));
  assert.deepEqual(JSON.parse(text), { results, events: trace });
});

test('renderJson: results default to an empty list', () => {
  assert.deepEqual(JSON.parse(renderJson(segfault)), { results: [], events: segfault });
});

test('renderJsonl: one event per line, the same bytes JsonlSink streams', () => {
  const text = renderJsonl(trace);
  const lines = text.split('\n');
  assert.equal(lines.length, trace.length + 1);
  assert.equal(lines.at(-1), '');
  let streamed = '';
  const sink = new JsonlSink((s) => (streamed += s));
  trace.forEach((e) => sink.emit(e));
  assert.equal(text, streamed);
  assert.deepEqual(parseJsonl(text), trace);
});

test('parseJsonl: blank lines are skipped; a bad line is reported by number', () => {
  assert.deepEqual(parseJsonl('\n' + renderJsonl(segfault) + '\n\n'), segfault);
  assert.throws(() => parseJsonl('{"ev":"log","text":"x"}\n{"ev":'), /^SyntaxError: line 2: /);
  assert.throws(() => parseJsonl('[1,2]'), /line 1: not a trace event/);
});
