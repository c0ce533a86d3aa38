// vm_map_fork and copy-on-write (checklist 24-26, 29-31, 34, 51-56) and the §9 oracles (58).
//
//   parent: buf [0x108000000, +8k) -> object O        after fork: parent and child entries
//   child:  buf [0x108000000, +8k) -> object O        needs_copy; O.ref_count 2
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vm_map_lookup_entry } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import { pmap_find_phys } from '../../../src/kernel/xnu/osfmk/x86_64/pmap.js';
import { DBG_CACHE_HIT_FAULT, DBG_COW_FAULT } from '../../../src/kernel/xnu/osfmk/vm/vm_fault.js';
import { runScenario } from '../../../src/workload/runner.js';
import { loadScenarioFile } from '../../../src/workload/scenario/parse.js';
import { decisions, session, stepEvents } from './helpers.js';

const MMAP = '- mmap: {as: buf, length: 8k, prot: rw, flags: [private, anonymous]}';
const BUF = 0x108000000;
const entry = (s: ReturnType<typeof session>['s'], task: number) => vm_map_lookup_entry(s.k.tasks[task]!.map, BUF).entry;

test('checklist 51: fork COPY of an object-less entry gives the child an independent lazy entry', () => {
  const { s } = session([MMAP, '- fork: {as: c}']);
  assert.deepEqual([entry(s, 1).object, entry(s, 1).needs_copy, entry(s, 0).needs_copy], [null, false, false]);
});

test('checklist 52: fork COPY of a SYMMETRIC object: ref_count++, needs_copy on both, the parent\'s PTEs write-protected', () => {
  const { s, events } = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}']);
  const o = entry(s, 0).object!;
  assert.equal(entry(s, 1).object, o);
  assert.deepEqual([o.ref_count, o.shadowed, entry(s, 0).needs_copy, entry(s, 1).needs_copy], [2, true, true, true]);
  const w = stepEvents(events, 3).filter((e) => e.ev === 'pte_write' && e.va === '0x108000000').map((e) => (e.ev === 'pte_write' ? e.flags : ''));
  assert.deepEqual(w, ['P US NX']);
});

test('checklist 53: fork SHARE: same object, is_shared on both, SYMMETRIC becomes DELAY; writes are mutually visible', () => {
  const { s, results } = session(['- mmap: {as: buf, length: 8k, prot: rw, flags: [shared, anonymous]}', '- fork: {as: c}', '- write: {addr: buf, value: 9}', '  proc: c', '- read: {addr: buf}']);
  const o = entry(s, 0).object!;
  assert.equal(entry(s, 1).object, o);
  assert.deepEqual([o.copy_strategy, entry(s, 0).is_shared, entry(s, 1).is_shared, o.ref_count], [2, true, true, 2]);
  assert.equal(results[3]!.value, '0x9');
});

test('checklist 54: fork NONE: the range is absent in the child (SIGSEGV there)', () => {
  const { results } = session([MMAP, '- minherit: {addr: buf, length: 8k, inherit: none}', '- fork: {as: c}', '- read: {addr: buf}', '  proc: c']);
  assert.deepEqual([results[3]!.signal?.name, results[3]!.mach_exception?.code], ['SIGSEGV', 1]);
});

test('checklist 24, 30, 55: the first write after fork shadows (shadow = O, offset = entry offset, needs_copy cleared) and COWs; the peer keeps the old data', () => {
  const { s, events, results } = session([MMAP, '- write: {addr: buf+4k, value: 1}', '- fork: {as: c}', '- write: {addr: buf+4k, value: 2}', '- read: {addr: buf+4k}', '  proc: c']);
  const k = s.k;
  const top = entry(s, 0).object!;
  const o = entry(s, 1).object!;
  assert.notEqual(top, o);
  assert.deepEqual([top.shadow, top.vo_shadow_offset, entry(s, 0).needs_copy, entry(s, 0).vme_offset], [o, 0, false, 0]);
  assert.deepEqual(decisions(stepEvents(events, 4), 'vm_object_shadow'), ['shadow-created']);
  assert.ok(decisions(stepEvents(events, 4), 'vm_fault_internal').includes('cow-into-top-object'));
  assert.equal(results[3]!.faults![0]!.error_code, 7);
  assert.equal(results[4]!.value, '0x1');
  assert.deepEqual([k.stats.cow_faults, k.tasks[0]!.cow_faults, k.tasks[1]!.cow_faults], [1, 1, 0]);
  assert.equal(top.memq.size, 1);
});

test('checklist 31: a COW with top.ref_count 1 leaves the source page mapped in the peer; the parent\'s old PTE is replaced', () => {
  const { s } = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}', '- read: {addr: buf}', '  proc: c', '- write: {addr: buf, value: 2}']);
  const k = s.k;
  const child = pmap_find_phys(k, k.tasks[1]!.map.pmap, BUF);
  const parent = pmap_find_phys(k, k.tasks[0]!.map.pmap, BUF);
  assert.notEqual(child, parent);
  assert.ok(child > 0, 'the child still maps O\'s page');
});

test('checklist 26, 29: a read through needs_copy strips WRITE and maps the backing page read-only, no copy', () => {
  const { s, results, events } = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}', '- read: {addr: buf}', '  proc: c']);
  assert.ok(decisions(stepEvents(events, 4), 'vm_map_lookup_and_lock_object').includes('needs-copy-read-strip-write'));
  assert.equal(results[3]!.page!.writable, false);
  assert.equal(entry(s, 1).needs_copy, true, 'a read does not resolve needs_copy');
  assert.equal(s.k.stats.cow_faults, 0);
});

test('checklist 34: each step down the shadow chain adds vo_shadow_offset', () => {
  const { events } = session([MMAP, '- write: {addr: buf+4k, value: 1}', '- fork: {as: c}', '- write: {addr: buf, value: 2}', '- read: {addr: buf+4k}']);
  const d = events.filter((e) => e.ev === 'decision' && e.reason === 'descend-to-shadow');
  assert.ok(d.length >= 1);
  assert.match(d[0]!.ev === 'decision' ? d[0]!.detail ?? '' : '', /offset \+= 0x0/);
});

test('checklist 25, 56: once the peer is gone, the survivor\'s write skips the shadow and is a CACHE_HIT soft fault', () => {
  const { s, events, results } = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}', '- exit:', '  proc: c', '- write: {addr: buf, value: 2}']);
  assert.deepEqual(decisions(stepEvents(events, 5), 'vm_object_shadow'), ['shadow-skipped-sole-reference']);
  assert.equal(s.k.lastFaultType, DBG_CACHE_HIT_FAULT);
  assert.equal(results[4]!.faults![0]!.error_code, 7);
  assert.equal(s.k.stats.cow_faults, 0);
});

test('proc_info pidtask_info (§9 row 9): the child\'s faults and cow_faults grow by at least one', () => {
  const { s } = session(['- mmap: {as: buf, length: 4k, prot: w, flags: [private, anonymous]}', '- write: {addr: buf, size: 4, value: 10}', '- fork: {as: c}',
    '- mmap: {as: n, length: 4k, prot: rw, flags: [private, anonymous]}', '  proc: c', '- write: {addr: n, value: 1}', '  proc: c', '- write: {addr: buf, size: 4, value: 20}', '  proc: c']);
  const c = s.k.tasks[1]!;
  assert.ok(c.faults >= 2 && c.cow_faults >= 1, JSON.stringify({ faults: c.faults, cow: c.cow_faults }));
  assert.equal(s.k.lastFaultType, DBG_COW_FAULT);
  assert.ok(c.map.pmap.resident_count >= 2, 'resident grew by at least a page');
});

test('checklist 58: every xnu-*.yaml scenario (the §9 oracles) passes its expectations', () => {
  const dir = join(fileURLToPath(new URL('../../../../', import.meta.url)), 'scenarios');
  const files = readdirSync(dir).filter((f) => f.startsWith('xnu-'));
  assert.ok(files.length >= 7, files.join(', '));
  for (const f of files) {
    for (const r of runScenario(loadScenarioFile(join(dir, f)), { trace: false })) assert.deepEqual(r.failed, [], `${f}: ${JSON.stringify(r.failed)}`);
  }
});
