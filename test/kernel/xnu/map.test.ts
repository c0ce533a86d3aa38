// vm_map: entries, the red-black tree, vm_map_enter, mprotect, munmap, minherit, each test naming
// its checklist item (xnu.md §10).
//
//   0x108000000        0x108002000   0x108003000
//   |  buf (rw, 8k)    | b2 (r, 4k)  |
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { entriesOf, newEntry, vm_map_lookup_entry } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import { rb_check, rb_insert, rb_remove, vm_map_store_lookup_entry_rb, type RbHead } from '../../../src/kernel/xnu/osfmk/vm/vm_map_store_rb.js';
import { pmap_find_phys } from '../../../src/kernel/xnu/osfmk/x86_64/pmap.js';
import { decisions, session } from './helpers.js';

const MMAP = '- mmap: {as: buf, length: 8k, prot: rw, flags: [private, anonymous]}';
const BUF = 0x108000000;

test('checklist 22: RB descent (hit in [start,end), right when addr >= end, else left) agrees with a sorted list; the tree stays balanced', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 520 }), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 30 }), (slots, probes, removals) => {
    const head: RbHead = { root: null };
    const header = newEntry(0, 0, true);
    const live = new Map<number, ReturnType<typeof newEntry>>();
    for (const s of slots) {
      const e = newEntry(s * 0x1000, s * 0x1000 + 0x800);
      rb_insert(head, e);
      live.set(s, e);
    }
    for (const r of removals) {
      const keys = [...live.keys()];
      if (!keys.length) break;
      const key = keys[r % keys.length]!;
      rb_remove(head, live.get(key)!);
      live.delete(key);
    }
    const inorder = rb_check(head);
    const sorted = [...live.keys()].sort((a, b) => a - b);
    assert.deepEqual(inorder.map((e) => e.vme_start / 0x1000), sorted);
    for (const p of probes) {
      const addr = p * 0x1000 + 0x400;
      const r = vm_map_store_lookup_entry_rb(head, header, addr);
      const hit = live.get(p);
      if (hit) assert.deepEqual([r.found, r.entry], [true, hit]);
      else {
        const pred = sorted.filter((s) => s * 0x1000 <= addr).pop();
        assert.equal(r.found, false);
        assert.equal(r.entry, pred === undefined ? header : live.get(pred));
      }
    }
  }), { numRuns: 200 });
});

test('checklist 44: mmap(ANON|PRIVATE, RW): READ added, max ALL, inheritance COPY (SHARE for MAP_SHARED), no object, no needs_copy', () => {
  const { s } = session(['- mmap: {as: w, length: 4k, prot: w, flags: [private, anonymous]}', '- mmap: {as: sh, addr: 0x200000000, length: 4k, prot: rw, flags: [shared, anonymous]}']);
  const map = s.k.tasks[0]!.map;
  const w = vm_map_lookup_entry(map, BUF).entry;
  assert.deepEqual([w.protection, w.max_protection, w.inheritance, w.object, w.needs_copy, w.is_shared], [3, 7, 1, null, false, false]);
  const sh = vm_map_lookup_entry(map, 0x200000000).entry;
  assert.equal(sh.inheritance, 0);
});

test('checklist 45: mmap coalesces with a compatible previous entry up to 128K-1, else new entries, split every 128 MiB', () => {
  const { s, events } = session([MMAP, '- mmap: {length: 8k, prot: rw, flags: [private, anonymous]}', '- mmap: {length: 128k, prot: rw, flags: [private, anonymous]}', '- mmap: {length: 4k, prot: r, flags: [private, anonymous]}', '- mmap: {as: big, length: 0x8002000, prot: rw, flags: [private, anonymous]}']);
  const starts = entriesOf(s.k.tasks[0]!.map).map((e) => [e.vme_start - BUF, e.vme_end - e.vme_start]);
  assert.deepEqual(starts.slice(0, 5), [[0, 0x4000], [0x4000, 0x20000], [0x24000, 0x1000], [0x25000, 0x8000000], [0x8025000, 0x2000]]);
  assert.deepEqual(decisions(events, 'vm_map_enter').slice(0, 3), ['new-entries', 'coalesced', 'no-coalesce-size-limit']);
});

test('checklist 46: mmap errors: NO_SPACE/INVALID_ADDRESS give ENOMEM; unaligned MAP_FIXED gives EINVAL', () => {
  const { results } = session(['- mmap: {addr: 0x7fffffe00000, length: 4k, prot: rw, flags: [private, anonymous, fixed]}', '- mmap: {addr: 0x200000800, length: 4k, prot: rw, flags: [private, anonymous, fixed]}', '- mmap: {length: 0x100000000000, prot: rw, flags: [private, anonymous]}']);
  assert.deepEqual(results.map((r) => r.errno), ['ENOMEM', 'EINVAL', undefined]);
});

test('checklist 47: mprotect: a hole is ENOMEM, beyond max is EACCES; entries are clipped to the range and re-merged after', () => {
  const { s, results } = session([MMAP, '- mprotect: {addr: buf+4k, length: 4k, prot: r}', '- mprotect: {addr: buf+4k, length: 4k, prot: rw}', '- mprotect: {addr: buf, length: 12k, prot: r}']);
  assert.deepEqual(results.map((r) => r.errno), [undefined, undefined, undefined, 'ENOMEM']);
  const map = s.k.tasks[0]!.map;
  assert.deepEqual(entriesOf(map).filter((e) => e.vme_start >= BUF && e.vme_start < BUF + 0x10000).map((e) => [e.vme_start - BUF, e.vme_end - BUF, e.protection]), [[0, 0x2000, 3]], 'clipped in two, then simplified back');
});

test('checklist 48: mprotect never adds WRITE to PTEs (the next write faults); PROT_NONE removes the PTEs', () => {
  const { s, results, events } = session([MMAP, '- write: {addr: buf, value: 1}', '- mprotect: {addr: buf, length: 8k, prot: r}', '- mprotect: {addr: buf, length: 8k, prot: rw}', '- write: {addr: buf, value: 2}', '- mprotect: {addr: buf, length: 8k, prot: none}']);
  assert.deepEqual(results[4]!.faults!.map((f) => f.error_code), [7], 'RW restored in the entry, not in the PTE');
  assert.ok(decisions(events, 'pmap_protect_options').includes('prot-none-removes'));
  assert.equal(pmap_find_phys(s.k, s.k.tasks[0]!.map.pmap, BUF), -1);
});

test('checklist 49: munmap: unaligned or zero length EINVAL, holes fine, entries clipped and removed, hint = previous entry', () => {
  const { s, results } = session([MMAP, '- write: {addr: buf+4k, value: 1}', '- munmap: {addr: buf+4k, length: 64k}', '- munmap: {addr: buf+1, length: 4k}']);
  assert.deepEqual(results.map((r) => r.errno), [undefined, undefined, undefined, 'EINVAL']);
  const map = s.k.tasks[0]!.map;
  const e = vm_map_lookup_entry(map, BUF).entry;
  assert.deepEqual([e.vme_start, e.vme_end], [BUF, BUF + 0x1000]);
  assert.equal(map.hint, e);
  assert.equal(pmap_find_phys(s.k, map.pmap, BUF + 0x1000), -1);
  assert.equal(s.k.pages.vm_page_free_count, s.k.pages.lastPfn - s.k.pages.nextFresh + s.k.pages.free.length, 'the page went back to the free queue');
});

test('checklist 50: a permanent entry survives deallocation with prot/max NONE; a later access is SIGBUS', () => {
  const { s, results } = session(['- mach_vm_allocate: {as: p, size: 4k, flags: [anywhere, permanent]}', '- munmap: {addr: p, length: 4k}', '- read: {addr: p}']);
  const e = vm_map_lookup_entry(s.k.tasks[0]!.map, BUF);
  assert.deepEqual([e.found, e.entry.protection, e.entry.max_protection], [true, 0, 0]);
  assert.deepEqual([results[2]!.signal?.name, results[2]!.mach_exception?.code], ['SIGBUS', 2]);
});

test('minherit: holes allowed, the range is clipped, a bad value is EINVAL (scenario schema refuses it first)', () => {
  const { s } = session([MMAP, '- minherit: {addr: buf+4k, length: 16k, inherit: none}']);
  const es = entriesOf(s.k.tasks[0]!.map).filter((e) => e.vme_start >= BUF && e.vme_start < BUF + 0x10000);
  assert.deepEqual(es.map((e) => [e.vme_start - BUF, e.inheritance]), [[0, 1], [0x1000, 2]]);
});

test('madvise DONTNEED on XNU deactivates (inactive queue, A cleared) without freeing; FREE marks an unshared object\'s pages clean', () => {
  const { s, events } = session([MMAP, '- write: {addr: buf, value: 1}', '- madvise: {addr: buf, length: 4k, advice: dontneed}']);
  const k = s.k;
  const e = vm_map_lookup_entry(k.tasks[0]!.map, BUF).entry;
  const m = e.object!.memq.get(0)!;
  assert.equal(m.vmp_q_state, 11, 'VM_PAGE_ON_INACTIVE_INTERNAL_Q');
  assert.equal(pmap_find_phys(k, k.tasks[0]!.map.pmap, BUF), m.phys_page, 'still mapped');
  assert.ok(decisions(events, 'vm_map_behavior_set').includes('msync-deactivate'));
  const f = session([MMAP, '- write: {addr: buf, value: 1}', '- fork: {as: c}', '- madvise: {addr: buf, length: 4k, advice: free}']);
  assert.deepEqual(decisions(f.events, 'vm_object_deactivate_pages'), ['object-shared-no-kill']);
});
