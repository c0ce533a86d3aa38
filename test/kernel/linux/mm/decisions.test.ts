// More per-decision tests, named by checklist item: error accounting, write-only mappings, the
// COW reuse rule, and 6.x per-VMA locking (lock_vma_under_rcu / lock_mm_and_find_vma).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handle_mm_fault, lock_mm_and_find_vma, lock_vma_under_rcu, vma_end_read } from '../../../../src/kernel/linux/mm/memory.js';
import { sys_mmap } from '../../../../src/kernel/linux/mm/mmap.js';
import { sys_mprotect } from '../../../../src/kernel/linux/mm/mprotect.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { mmap_read_trylock, mmap_read_unlock } from '../../../../src/kernel/linux/include/linux/mmap_lock.js';
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, VM_FAULT_SIGSEGV,
} from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { bootKernel, decisions, entered, forkTask, mmOf, pfnAt, switchTo, userAccess, VERSIONS } from './kernel.js';

const P = 4096;
const PRIV = MAP_PRIVATE | MAP_ANONYMOUS;
const USER = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER;

for (const v of VERSIONS) {
  describe(`linux ${v}: fault decisions`, () => {
    test('checklist 10: [w: PROT_WRITE only] reads succeed (the PTE is readable: x86 has no write-only)', () => {
      const k = bootKernel(v);
      const w = sys_mmap(k, 0, P, PROT_WRITE, PRIV, -1, 0);
      const r = userAccess(k, w, 'read');
      assert.deepEqual(r, { ok: true, value: 0n });
      assert.equal(pfnAt(k, w), k.zero_pfn);
      assert.deepEqual(userAccess(k, w, 'write', 4n), { ok: true, value: 4n });
    });

    test('checklist 7 24 (mm side): a write fault on a read-only VMA allocates nothing; 6.x sanitize_fault_flags → SIGSEGV, uncounted', () => {
      const k = bootKernel(v, { trace: true });
      const r = sys_mmap(k, 0, P, PROT_READ, PRIV, -1, 0);
      sys_mprotect(k, r, P, PROT_READ); // VM_MAYWRITE stays: only 6.x's sanitize catches !VM_WRITE on... a COW mapping passes
      const vma = find_vma(k, mmOf(k), r)!;
      vma.vm_flags &= ~0x20; // a never-writable mapping (!VM_MAYWRITE), as a read-only file mapping would be
      const allocated = k.memmap.allocated;
      const before = k.vmstat.pgfault;
      const ret = handle_mm_fault(k, vma, r, USER | FAULT_FLAG_WRITE, {});
      if (v === '5.19') {
        assert.equal(k.vmstat.pgfault, before + 1, '5.19 counts PGFAULT at entry');
      } else {
        assert.equal(ret, VM_FAULT_SIGSEGV);
        assert.deepEqual(decisions(k, 'sanitize_fault_flags'), ['write-to-unwritable']);
        assert.equal(k.vmstat.pgfault, before + 1, '6.x counts PGFAULT for an error outcome');
        assert.equal(k.current.min_flt + k.current.maj_flt, 0, '#24: failed faults are not min/maj');
        assert.equal(k.memmap.allocated, allocated, 'no page allocated');
      }
    });

    test('checklist 32: a COW-shared anon page is reused only when its refcount is 1', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, P, PROT_READ | PROT_WRITE, PRIV, -1, 0);
      userAccess(k, a, 'write', 1n);
      const orig = pfnAt(k, a)!;
      const main = k.current;
      const c1 = forkTask(k, 'c1', 2);
      const c2 = forkTask(k, 'c2', 3);
      assert.equal(k.memmap.refcount[orig], 3);
      userAccess(k, a, 'write', 2n);
      assert.notEqual(pfnAt(k, a), orig, 'refcount 3: copy');
      switchTo(k, c1);
      userAccess(k, a, 'write', 3n);
      assert.notEqual(pfnAt(k, a), orig, 'refcount 2: copy');
      switchTo(k, c2);
      userAccess(k, a, 'write', 4n);
      assert.equal(pfnAt(k, a), orig, 'refcount 1: reuse');
      const why = decisions(k, v === '5.19' ? 'do_wp_page' : 'wp_can_reuse_anon_folio');
      assert.ok(why.includes('refcount-not-1'));
      assert.ok(decisions(k, 'do_wp_page').includes('anon-refcount-reuse'));
      void main;
    });

    test('checklist 34 [6.x] + 27: after fork, mprotect(R) then (RW) does not make the shared page writable: the write copies', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, P, PROT_READ | PROT_WRITE, PRIV, -1, 0);
      userAccess(k, a, 'write', 1n);
      const orig = pfnAt(k, a);
      forkTask(k, 'c', 2);
      sys_mprotect(k, a, P, PROT_READ);
      sys_mprotect(k, a, P, PROT_READ | PROT_WRITE);
      const f = k.current.min_flt;
      userAccess(k, a, 'write', 2n);
      assert.equal(k.current.min_flt, f + 1);
      assert.notEqual(pfnAt(k, a), orig);
    });
  });
}

describe('linux 6.18: per-VMA locks (checklist 59)', () => {
  test('lock_vma_under_rcu finds the VMA; a first anon write under it takes mmap_lock only around anon_vma_prepare', () => {
    const k = bootKernel('6.18', { trace: true });
    const mm = mmOf(k);
    const a = sys_mmap(k, 0, P, PROT_READ | PROT_WRITE, PRIV, -1, 0);
    const vma = lock_vma_under_rcu(k, mm, a)!;
    assert.ok(vma);
    assert.equal(vma.vm_lock_readers, 1);
    assert.equal(handle_mm_fault(k, vma, a, USER | FAULT_FLAG_WRITE | FAULT_FLAG_VMA_LOCK, {}), 0);
    vma_end_read(k, vma);
    assert.equal(vma.vm_lock_readers, 0);
    const fns = entered(k);
    assert.ok(fns.indexOf('mmap_read_trylock') < fns.indexOf('__anon_vma_prepare'));
    assert.ok(fns.includes('mmap_read_unlock'));
    assert.deepEqual(mm.mmap_lock, { readers: 0, writer: false });
  });

  test('checklist 60: below a stack VMA lock_vma_under_rcu fails; lock_mm_and_find_vma grows it under the write lock and downgrades', () => {
    const k = bootKernel('6.18', { trace: true });
    const mm = mmOf(k);
    const s = sys_mmap(k, 0x700000000000, 2 * P, PROT_READ | PROT_WRITE, PRIV | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
    assert.equal(lock_vma_under_rcu(k, mm, s - P), null);
    assert.deepEqual(decisions(k, 'lock_vma_under_rcu'), ['no-vma']);
    const vma = lock_mm_and_find_vma(k, mm, s - P, true)!;
    assert.equal(vma.vm_start, s - P);
    assert.deepEqual(decisions(k, 'lock_mm_and_find_vma'), ['stack-expanded']);
    assert.deepEqual(mm.mmap_lock, { readers: 1, writer: false }, 'returned with the read lock held');
    mmap_read_unlock(k, mm);
    assert.equal(lock_mm_and_find_vma(k, mm, 0x10000, true), null);
    assert.deepEqual(mm.mmap_lock, { readers: 0, writer: false }, 'failure releases the lock');
    assert.ok(mmap_read_trylock(k, mm));
  });
});

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 54: out of memory: do_anonymous_page returns VM_FAULT_OOM, counts no fault, leaks nothing`, () => {
    const k = bootKernel(v, { pages: 64, trace: true });
    const n = 80;
    const a = sys_mmap(k, 0, n * P, PROT_READ | PROT_WRITE, PRIV, -1, 0);
    const vma = find_vma(k, mmOf(k), a)!;
    let i = 0;
    let ret = 0;
    for (; i < n && ret === 0; i++) ret = handle_mm_fault(k, vma, a + i * P, USER | FAULT_FLAG_WRITE, {});
    assert.equal(ret, 0x1, 'VM_FAULT_OOM');
    assert.equal(k.current.min_flt, i - 1, 'the failed fault is not counted');
    assert.equal(mmOf(k).rss_stat.anon, i - 1);
    assert.equal(k.memmap.nr_free, 0);
    assert.deepEqual(decisions(k, 'do_anonymous_page').at(-1), 'page-alloc-oom');
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: frames above 2 GiB (PFN bit 19 = bit 31 of the PTE's low word) fault, COW, mprotect and unmap cleanly`, () => {
    const k = bootKernel(v, { pages: 0x80000 + 256, trace: true });
    k.machine.trace = { enabled: false, emit() {} };
    while (k.memmap.nr_free > 200) k.memmap.alloc_page(k, 'filler'); // push the allocator past PFN 0x7ffff
    k.machine.trace = k.sink!;
    const a = sys_mmap(k, 0, 2 * P, PROT_READ | PROT_WRITE, PRIV, -1, 0);
    assert.deepEqual(userAccess(k, a, 'write', 0x5an), { ok: true, value: 0x5an });
    const pfn = pfnAt(k, a)!;
    assert.ok(pfn >= 0x80000, `pfn ${pfn.toString(16)}`);
    const f = k.current.min_flt;
    assert.equal(handle_mm_fault(k, find_vma(k, mmOf(k), a)!, a, USER | FAULT_FLAG_WRITE, {}), 0);
    assert.equal(k.current.min_flt, f + 1);
    assert.equal(decisions(k, 'handle_pte_fault').at(-1), 'spurious', 'an unchanged PTE is recognised (unsigned words)');
    sys_mprotect(k, a, P, 0);
    assert.equal(pfnAt(k, a), pfn, 'the inverted PROT_NONE PFN flips back');
    sys_mprotect(k, a, P, PROT_READ | PROT_WRITE);
    assert.deepEqual(userAccess(k, a, 'read'), { ok: true, value: 0x5an });
    forkTask(k, 'c', 2);
    assert.deepEqual(userAccess(k, a, 'write', 1n), { ok: true, value: 1n });
    assert.notEqual(pfnAt(k, a), pfn, 'COW copy');
  });
}
