// Per-decision tests of the anonymous fault path (mm/memory.c do_anonymous_page, do_wp_page),
// named by checklist item (../shared/reference/linux.md).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handle_mm_fault } from '../../../../src/kernel/linux/mm/memory.js';
import { sys_mmap } from '../../../../src/kernel/linux/mm/mmap.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { FAULT_FLAG_USER, FAULT_FLAG_WRITE, FAULT_FLAG_DEFAULT } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { bootKernel, decisions, entered, mmOf, pfnAt, touch, VERSIONS } from './kernel.js';

const RW = PROT_READ | PROT_WRITE;
const PRIV = MAP_PRIVATE | MAP_ANONYMOUS;
const USER = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER;
const regs = {};

for (const v of VERSIONS) {
  describe(`linux ${v}: anonymous faults`, () => {
    test('checklist 12: a first read maps the shared zero page read-only; minor; RSS unchanged', () => {
      // a: [ one page, rw, private ]  — read a
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, 4096, RW, PRIV, -1, 0);
      assert.ok(a > 0);
      const vma = find_vma(k, mmOf(k), a)!;
      assert.equal(handle_mm_fault(k, vma, a + 5, USER, regs), 0);
      assert.equal(pfnAt(k, a), k.zero_pfn);
      assert.deepEqual(decisions(k, 'do_anonymous_page'), ['read-maps-zero-page']);
      assert.equal(mmOf(k).rss_stat.anon, 0);
      assert.equal(k.current.min_flt, 1);
      assert.equal(k.perf.page_faults_min, 1);
      assert.equal(vma.anon_vma, null, 'no anon_vma for the zero page');
      assert.deepEqual(touch(k, a + 5, 'read'), { ok: true, value: 0n });
      const w = touch(k, a, 'write', 1n);
      assert.deepEqual(w, { ok: false, err: 7 }, 'the zero-page PTE is present and read-only: PROT|WRITE|USER');
      assert.ok(entered(k).includes(v === '5.19' ? 'do_anonymous_page' : 'do_pte_missing'));
    });

    test('checklist 13: writing the zero page copies: do_wp_page → wp_page_copy allocates a zeroed page; ANON +1', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, 4096, RW, PRIV, -1, 0);
      const vma = find_vma(k, mmOf(k), a)!;
      handle_mm_fault(k, vma, a, USER, regs);
      const r = handle_mm_fault(k, vma, a, USER | FAULT_FLAG_WRITE, regs);
      assert.equal(r, v === '5.19' ? 0x8 : 0, '5.19 returns VM_FAULT_WRITE');
      assert.deepEqual(decisions(k, 'do_wp_page'), ['zero-page-copy']);
      const pfn = pfnAt(k, a)!;
      assert.notEqual(pfn, k.zero_pfn);
      assert.equal(mmOf(k).rss_stat.anon, 1);
      assert.equal(k.current.min_flt, 2);
      assert.deepEqual(touch(k, a, 'write', 0x41n), { ok: true, value: 0x41n });
      assert.deepEqual(k.memmap.page(pfn).flags.includes('anon_exclusive'), true);
    });

    test('checklist 14: a first write allocates a zeroed, writable, dirty page in one minor fault', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, 4096, RW, PRIV, -1, 0);
      const vma = find_vma(k, mmOf(k), a)!;
      assert.equal(handle_mm_fault(k, vma, a, USER | FAULT_FLAG_WRITE, regs), 0);
      assert.deepEqual(decisions(k, 'do_anonymous_page'), ['new-anon-page']);
      assert.equal(mmOf(k).rss_stat.anon, 1);
      assert.equal(k.current.min_flt, 1);
      assert.notEqual(vma.anon_vma, null);
      assert.deepEqual(touch(k, a, 'write', 7n), { ok: true, value: 7n });
      assert.deepEqual(touch(k, a, 'read'), { ok: true, value: 7n });
    });

    test('checklist 15: MAP_SHARED|MAP_ANONYMOUS is shmem: a read allocates a real page, already writable', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      const vma = find_vma(k, mmOf(k), a)!;
      assert.equal(vma.vm_ops, 'shmem');
      handle_mm_fault(k, vma, a, USER, regs);
      assert.notEqual(pfnAt(k, a), k.zero_pfn);
      assert.equal(mmOf(k).rss_stat.shmem, 1);
      assert.equal(mmOf(k).rss_stat.anon, 0);
      assert.deepEqual(touch(k, a, 'write', 3n), { ok: true, value: 3n }, 'no second fault');
    });

    test('checklist 25: a GUP fault (regs null) counts min_flt but no perf event', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, 4096, RW, PRIV, -1, 0);
      handle_mm_fault(k, find_vma(k, mmOf(k), a)!, a, FAULT_FLAG_WRITE, null);
      assert.equal(k.current.min_flt, 1);
      assert.equal(k.perf.page_faults_min, 0);
    });

    test('checklist 26: a spurious fault (PTE already good) returns 0 and counts as minor', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, 4096, RW, PRIV, -1, 0);
      const vma = find_vma(k, mmOf(k), a)!;
      handle_mm_fault(k, vma, a, USER | FAULT_FLAG_WRITE, regs);
      assert.equal(handle_mm_fault(k, vma, a, USER | FAULT_FLAG_WRITE, regs), 0);
      assert.deepEqual(decisions(k, 'handle_pte_fault').at(-1), 'spurious');
      assert.equal(k.current.min_flt, 2);
    });
  });
}
