// Perfetto / Chrome trace-event JSON: parses, B/E balanced and nested per track, ts monotonic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perfettoTrace, renderPerfetto, type ChromeTraceEvent } from '../../src/render/perfetto.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { demandFault, oneOfEach, segfault } from './fixture.test.js';

/** Check the Trace Event Format's rules on B/E: per track, each E closes the innermost B. */
function assertWellFormed(events: ChromeTraceEvent[]): void {
  const open = new Map<number, string[]>();
  let last = -Infinity;
  for (const e of events) {
    if (e.ph === 'M') continue;
    assert.equal(typeof e.ts, 'number');
    assert.ok(e.ts! >= last, `ts goes backwards at ${JSON.stringify(e)}`);
    last = e.ts!;
    const stack = open.get(e.tid) ?? [];
    open.set(e.tid, stack);
    if (e.ph === 'B') stack.push(e.name);
    if (e.ph === 'E') assert.equal(stack.pop(), e.name, `unbalanced E ${JSON.stringify(e)}`);
    if (e.ph === 'i') assert.equal(e.s, 't');
  }
  for (const [tid, stack] of open) assert.deepEqual(stack, [], `track ${tid} left open`);
}

const full = [...demandFault, ...segfault];

test('the output is Chrome trace JSON with ns display and named process and tracks', () => {
  const doc = JSON.parse(renderPerfetto(full)) as { traceEvents: ChromeTraceEvent[]; displayTimeUnit: string };
  assert.equal(doc.displayTimeUnit, 'ns');
  const meta = doc.traceEvents.filter((e) => e.ph === 'M');
  assert.deepEqual(
    meta.filter((e) => e.name !== 'thread_sort_index').map((e) => [e.name, e.tid, e.args?.name]),
    [['process_name', 1, 'faultline'], ['thread_name', 2, 'a.out [linux]']],
  );
  assert.ok(doc.traceEvents.every((e) => e.pid === 1));
  assertWellFormed(doc.traceEvents);
});

test('kernel calls are B/E slices with src; ts is the event sequence number', () => {
  const t = perfettoTrace(demandFault).traceEvents;
  const b = t.find((e) => e.ph === 'B' && e.name === 'exc_page_fault')!;
  assert.deepEqual(b.args, { error_code: '0x6', src: 'arch/x86/mm/fault.c:exc_page_fault (6.18)' });
  assert.equal(b.ts, demandFault.findIndex((e) => e.ev === 'enter' && e.fn === 'exc_page_fault'));
  const e = t.find((x) => x.ph === 'E' && x.name === 'handle_mm_fault')!;
  assert.deepEqual(e.args, { ret: '0' });
});

test('hardware events are instants with their fields and the text wording', () => {
  const t = perfettoTrace(demandFault).traceEvents;
  const walks = t.filter((e) => e.ph === 'i' && e.args?.ev === 'walk');
  assert.equal(walks.length, 4);
  assert.equal(walks[0]!.name, 'walk PML4[0x0fe] @0x17f0 = 0x2067 P RW US A');
  assert.equal(walks[0]!.cat, 'cpu');
  assert.deepEqual(walks[3]!.args, { ev: 'walk', level: 'pt', index: 0, entryPa: '0x4000', entry: '0x0', flags: '', leaf: false });
});

test('each step is a slice on its process track, enclosing its calls', () => {
  const t = perfettoTrace(full).traceEvents.filter((e) => e.cat === 'workload');
  assert.deepEqual(
    t.map((e) => [e.ph, e.name, e.ts]),
    [
      ['B', 'step 1: write 0x7f0000000000', 0],
      ['E', 'step 1: write 0x7f0000000000', 37],
      ['B', 'step 2: read 0x0', 38],
      ['E', 'step 2: read 0x0', 38 + 11],
    ],
  );
  assert.deepEqual(t[3]!.args, { outcome: 'SIGSEGV' });
});

test('cut traces still nest: open calls close at step ends and at the end of the trace', () => {
  const cut: TraceEvent[] = [
    { ev: 'log', text: 'before any step' },
    { ev: 'leave', fn: 'orphan' },
    { ev: 'step', step: 1, op: 'read 0x0', proc: 'p', kernel: 'xnu' },
    { ev: 'enter', fn: 'user_trap', src: 'osfmk/i386/trap.c:user_trap (xnu-11215)' },
    { ev: 'enter', fn: 'vm_fault', src: 'osfmk/vm/vm_fault.c:vm_fault (xnu-11215)' },
    { ev: 'step_end', step: 1, outcome: 'cut' },
    { ev: 'step', step: 2, op: 'read 0x0', proc: 'q', kernel: 'linux' },
    { ev: 'enter', fn: 'exc_page_fault', src: 'arch/x86/mm/fault.c:exc_page_fault (6.18)' },
    { ev: 'step', step: 3, op: 'read 0x0', proc: 'p', kernel: 'xnu' },
    { ev: 'enter', fn: 'user_trap', src: 'osfmk/i386/trap.c:user_trap (xnu-11215)' },
  ];
  const t = perfettoTrace(cut).traceEvents;
  assertWellFormed(t);
  assert.deepEqual(
    t.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args?.name]),
    [[1, 'cpu0'], [2, 'p [xnu]'], [3, 'q [linux]']],
  );
  const orphan = t.find((e) => e.args?.ev === 'leave')!;
  assert.equal(orphan.ph, 'i');
  assert.equal(orphan.tid, 1);
  assert.equal(t.at(-1)!.ts, cut.length);
});

test('every event type is accepted', () => {
  const t = perfettoTrace(Object.values(oneOfEach)).traceEvents;
  assertWellFormed(t);
  assert.ok(t.every((e) => !e.name.includes('undefined')));
});
