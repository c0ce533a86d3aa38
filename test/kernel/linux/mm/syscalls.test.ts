// Per-decision tests of the mm syscalls and fork, named by checklist item. Each test draws the
// address space it builds: `[a: 2p rw]` is a two-page read-write private anonymous VMA.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sys_brk, sys_mmap, sys_munmap, expand_stack } from '../../../../src/kernel/linux/mm/mmap.js';
import { sys_mprotect } from '../../../../src/kernel/linux/mm/mprotect.js';
import { sys_madvise } from '../../../../src/kernel/linux/mm/madvise.js';
import { sys_mlock, sys_mlock2, sys_munlock, sys_mlockall } from '../../../../src/kernel/linux/mm/mlock.js';
import { find_vma } from '../../../../src/kernel/linux/mm/vma.js';
import { mmglobals } from '../../../../src/kernel/linux/mm/mm_init.js';
import { VM_LOCKED, VM_DONTCOPY, VM_WIPEONFORK, VM_GROWSDOWN } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import {
  MADV_DOFORK as M_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE, MADV_WIPEONFORK, MADV_KEEPONFORK, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MCL_CURRENT, MCL_FUTURE, MLOCK_ONFAULT, PROT_NONE, PROT_READ, PROT_WRITE, MADV_WILLNEED,
} from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { EACCES, EEXIST, EINVAL, ENOMEM } from '../../../../src/kernel/linux/include/uapi/asm-generic/errno-base.js';
import { bootKernel, decisions, forkTask, mmOf, pfnAt, switchTo, userAccess, vmaList, VERSIONS } from './kernel.js';

const RW = PROT_READ | PROT_WRITE;
const PRIV = MAP_PRIVATE | MAP_ANONYMOUS;
const P = 4096;
const ok = (r: ReturnType<typeof userAccess>): bigint => {
  assert.ok(r.ok, `access failed: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r.value;
};

for (const v of VERSIONS) {
  describe(`linux ${v}: fork and COW`, () => {
    test('checklist 27 28 29: [a: 1p rw] written, fork: both RO; child reads w/o fault; first writer copies, last reuses', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      ok(userAccess(k, a, 'write', 0x11n));
      const orig = pfnAt(k, a)!;
      const parent = k.current;
      const child = forkTask(k, 'child', 2);
      assert.deepEqual(decisions(k, 'copy_present_pte' + (v === '5.19' ? '' : 's')), ['copied']);
      assert.equal(k.memmap.refcount[orig], 2);
      switchTo(k, child);
      assert.equal(pfnAt(k, a), orig);
      const f0 = child.min_flt;
      assert.equal(ok(userAccess(k, a, 'read')), 0x11n);
      assert.equal(child.min_flt, f0, '#29: no fault');
      ok(userAccess(k, a, 'write', 0x22n));
      assert.equal(child.min_flt, f0 + 1);
      assert.notEqual(pfnAt(k, a), orig, '#28: the child copied');
      switchTo(k, parent);
      const pf = parent.min_flt;
      assert.equal(ok(userAccess(k, a, 'read')), 0x11n);
      ok(userAccess(k, a, 'write', 0x33n));
      assert.equal(parent.min_flt, pf + 1, '#27: the parent PTE was write-protected too');
      assert.equal(pfnAt(k, a), orig, '#28: the last sharer reuses');
      assert.ok(decisions(k, 'do_wp_page').includes('anon-refcount-reuse'));
    });

    test('checklist 29 (surprise): [z: 1p rw, zero page only] has no anon_vma: fork copies no PTEs', () => {
      const k = bootKernel(v);
      const z = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      sys_mmap(k, 0, P, PROT_NONE, PRIV, -1, 0); // keeps z from merging with w
      ok(userAccess(k, z, 'read'));
      assert.equal(pfnAt(k, z), k.zero_pfn);
      const child = forkTask(k, 'c', 2);
      switchTo(k, child);
      assert.equal(pfnAt(k, z), null);
    });

    test('checklist 30: [f: dontfork] absent in the child; [w: wipeonfork] present but reads zero', () => {
      const k = bootKernel(v);
      const f = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      sys_mmap(k, 0, P, PROT_NONE, PRIV, -1, 0);
      const w = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      ok(userAccess(k, f, 'write', 1n));
      ok(userAccess(k, w, 'write', 0x77n));
      assert.equal(sys_madvise(k, f, P, MADV_DONTFORK), 0);
      assert.equal(sys_madvise(k, w, P, MADV_WIPEONFORK), 0);
      assert.ok(find_vma(k, mmOf(k), f)!.vm_flags & VM_DONTCOPY);
      assert.ok(find_vma(k, mmOf(k), w)!.vm_flags & VM_WIPEONFORK);
      const child = forkTask(k, 'c', 2);
      switchTo(k, child);
      const fv = find_vma(k, child.mm!, f);
      assert.ok(!fv || fv.vm_start > f, 'no VMA at f: MAPERR');
      assert.equal(ok(userAccess(k, w, 'read')), 0n);
      assert.equal(sys_madvise(k, w, P, MADV_KEEPONFORK), 0);
      assert.equal(find_vma(k, child.mm!, w)!.vm_flags & VM_WIPEONFORK, 0);
    });
  });

  describe(`linux ${v}: mprotect`, () => {
    test('checklist 33: [m: 1p] PROT_NONE keeps the page (PROTNONE PTE, PFN inverted); back to RW restores it', () => {
      const k = bootKernel(v);
      const m = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      ok(userAccess(k, m, 'write', 0x77n));
      const pfn = pfnAt(k, m);
      assert.equal(sys_mprotect(k, m, P, PROT_NONE), 0);
      assert.equal(pfnAt(k, m), pfn, 'pte_pfn un-inverts the PROT_NONE PTE');
      const r = userAccess(k, m, 'read');
      assert.deepEqual(r, { ok: false, err: 4 }, '#3: not present to the CPU');
      assert.equal(sys_mprotect(k, m, P, RW), 0);
      assert.equal(ok(userAccess(k, m, 'read')), 0x77n);
    });

    test('checklist 34: mprotect(R) then (RW) on exclusive anon: 5.19 write faults and reuses; 6.x no fault', () => {
      const k = bootKernel(v, { trace: true });
      const a = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      ok(userAccess(k, a, 'write', 5n));
      const pfn = pfnAt(k, a);
      sys_mprotect(k, a, P, PROT_READ);
      assert.equal(ok(userAccess(k, a, 'read')), 5n, 'the TLB now caches a read-only translation');
      sys_mprotect(k, a, P, RW);
      const f = k.current.min_flt;
      ok(userAccess(k, a, 'write', 7n));
      assert.equal(k.current.min_flt - f, v === '5.19' ? 1 : 0, '6.x: upgraded and flushed (pte_needs_flush on RW change)');
      assert.equal(pfnAt(k, a), pfn, 'no copy');
    });

    test('checklist 35: unaligned → EINVAL; [h0][hole][h2] → ENOMEM with h0 changed; beyond VM_MAY* → EACCES is not reachable for anon', () => {
      const k = bootKernel(v);
      const h = sys_mmap(k, 0, 3 * P, RW, PRIV, -1, 0);
      assert.equal(sys_munmap(k, h + P, P), 0);
      assert.equal(sys_mprotect(k, h + 1, P, PROT_READ), -EINVAL);
      assert.equal(sys_mprotect(k, h, 3 * P, PROT_READ), -ENOMEM);
      assert.equal(find_vma(k, mmOf(k), h)!.vm_flags & 2, 0, 'h0 became read-only');
      assert.ok(find_vma(k, mmOf(k), h + 2 * P)!.vm_flags & 2, 'h2 untouched');
      assert.notEqual(-EACCES, 0);
    });

    test('checklist 36: mprotect of the middle page splits [a: 3p] into three; restoring merges back to one', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, 3 * P, RW, PRIV, -1, 0);
      ok(userAccess(k, a, 'write', 1n));
      sys_mprotect(k, a + P, P, PROT_READ);
      assert.deepEqual(vmaList(mmOf(k)), [[a, a + P], [a + P, a + 2 * P], [a + 2 * P, a + 3 * P]]);
      sys_mprotect(k, a + P, P, RW);
      assert.deepEqual(vmaList(mmOf(k)), [[a, a + 3 * P]]);
      assert.equal(mmOf(k).map_count, 1);
    });
  });

  describe(`linux ${v}: mmap and munmap`, () => {
    test('checklist 36 38: two adjacent anon mmaps merge; top-down placement below mmap_base', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      const b = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      assert.equal(a, mmOf(k).mmap_base - P);
      assert.equal(b, a - P, 'directly below');
      assert.deepEqual(vmaList(mmOf(k)), [[b, a + P]]);
    });

    test('checklist 38: len 0 → EINVAL; FIXED replaces; FIXED_NOREPLACE overlap → EEXIST; past max_map_count → ENOMEM', () => {
      const k = bootKernel(v);
      assert.equal(sys_mmap(k, 0, 0, RW, PRIV, -1, 0), -EINVAL);
      const a = sys_mmap(k, 0, 5 * P, RW, PRIV, -1, 0);
      ok(userAccess(k, a + P, 'write', 9n));
      assert.equal(sys_mmap(k, a + P, P, RW, PRIV | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
      assert.equal(sys_mmap(k, a + P, P, RW, PRIV | MAP_FIXED, -1, 0), a + P);
      assert.equal(ok(userAccess(k, a + P, 'read')), 0n, 'the old page is gone');
      assert.equal(mmOf(k).rss_stat.anon, 0);
      mmglobals(k).sysctl_max_map_count = 3;
      let last = 0;
      for (let i = 0; i < 5 && last >= 0; i++) last = sys_mmap(k, 0, P, i % 2 ? RW : PROT_READ, PRIV, -1, 0);
      assert.equal(last, -ENOMEM);
    });

    test('checklist 37: munmap unaligned / len 0 → EINVAL; unmapped range → 0; the page is freed, RSS drops', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, 2 * P, RW, PRIV, -1, 0);
      ok(userAccess(k, a, 'write', 1n));
      const pfn = pfnAt(k, a)!;
      assert.equal(sys_munmap(k, a + 1, P), -EINVAL);
      assert.equal(sys_munmap(k, a, 0), -EINVAL);
      assert.equal(sys_munmap(k, 0x10000000, P), 0);
      assert.equal(sys_munmap(k, a, P), 0);
      assert.equal(mmOf(k).rss_stat.anon, 0);
      assert.ok(k.memmap.isFree(pfn));
      assert.deepEqual(vmaList(mmOf(k)), [[a + P, a + 2 * P]]);
      assert.equal(pfnAt(k, a), null);
    });

    test('checklist 39: MAP_POPULATE of RW private allocates real pages (GUP faults: min_flt, no perf); of R maps the zero page', () => {
      const k = bootKernel(v);
      const a = sys_mmap(k, 0, 2 * P, RW, PRIV | MAP_POPULATE, -1, 0);
      assert.equal(mmOf(k).rss_stat.anon, 2);
      assert.equal(k.current.min_flt, 2);
      assert.equal(k.perf.page_faults_min, 0);
      assert.notEqual(pfnAt(k, a), k.zero_pfn);
      const r = sys_mmap(k, 0, P, PROT_READ, PRIV | MAP_POPULATE, -1, 0);
      assert.equal(pfnAt(k, r), k.zero_pfn);
      const s = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      assert.equal(pfnAt(k, s), null, 'no populate without MAP_POPULATE');
    });
  });

  describe(`linux ${v}: madvise, mlock, brk, stack`, () => {
    test('checklist 40: DONTNEED on private anon: reads give the zero page, writes a fresh zeroed page', () => {
      const k = bootKernel(v);
      const d = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      ok(userAccess(k, d, 'write', 0x55n));
      assert.equal(sys_madvise(k, d, P, MADV_DONTNEED), 0);
      assert.equal(mmOf(k).rss_stat.anon, 0);
      assert.equal(ok(userAccess(k, d, 'read')), 0n);
      assert.equal(pfnAt(k, d), k.zero_pfn);
      ok(userAccess(k, d, 'write', 1n));
      assert.notEqual(pfnAt(k, d), k.zero_pfn);
    });

    test('checklist 40: DONTNEED on shared anon (shmem) keeps the data', () => {
      const k = bootKernel(v);
      const s = sys_mmap(k, 0, P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      ok(userAccess(k, s, 'write', 0x66n));
      assert.equal(sys_madvise(k, s, P, MADV_DONTNEED), 0);
      assert.equal(ok(userAccess(k, s, 'read')), 0x66n);
    });

    test('checklist 41 + errno matrix: DONTNEED on locked → EINVAL; over a hole → ENOMEM after the mapped part; FREE/WIPEONFORK on shared → EINVAL', () => {
      const k = bootKernel(v);
      const l = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      assert.equal(sys_mlock(k, l, P), 0);
      assert.equal(sys_madvise(k, l, P, MADV_DONTNEED), -EINVAL);
      assert.equal(sys_madvise(k, l + 1, P, MADV_DONTNEED), -EINVAL, 'unaligned');
      assert.equal(sys_madvise(k, l, P, 12345), -EINVAL, 'bad advice');
      const h = sys_mmap(k, 0, 3 * P, RW, PRIV, -1, 0);
      ok(userAccess(k, h, 'write', 1n));
      sys_munmap(k, h + P, P);
      assert.equal(sys_madvise(k, h, 3 * P, MADV_DONTNEED), -ENOMEM);
      assert.equal(pfnAt(k, h), null, 'the mapped part was zapped');
      const s = sys_mmap(k, 0, P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      assert.equal(sys_madvise(k, s, P, MADV_FREE), -EINVAL);
      assert.equal(sys_madvise(k, s, P, MADV_WIPEONFORK), -EINVAL);
      assert.equal(sys_madvise(k, h, P, MADV_WILLNEED), 0, 'anon WILLNEED is a swap-in hint (CONFIG_SWAP)');
      assert.equal(sys_madvise(k, 0x10000000, P, MADV_DONTNEED), -ENOMEM, 'unmapped');
    });

    test('checklist 46: mlock populates and sets VM_LOCKED; MLOCK_ONFAULT does not populate; munlock clears', () => {
      const k = bootKernel(v);
      const l = sys_mmap(k, 0, 2 * P, RW, PRIV, -1, 0);
      assert.equal(sys_mlock(k, l, 2 * P), 0);
      assert.equal(mmOf(k).rss_stat.anon, 2);
      assert.equal(k.current.min_flt, 2, '#25: GUP faults count');
      assert.ok(find_vma(k, mmOf(k), l)!.vm_flags & VM_LOCKED);
      assert.equal(mmOf(k).locked_vm, 2);
      assert.equal(sys_munlock(k, l, 2 * P), 0);
      assert.equal(find_vma(k, mmOf(k), l)!.vm_flags & VM_LOCKED, 0);
      assert.equal(mmOf(k).locked_vm, 0);
      const o = sys_mmap(k, 0, P, RW, PRIV, -1, 0);
      assert.equal(sys_mlock2(k, o, P, MLOCK_ONFAULT), 0);
      assert.equal(pfnAt(k, o), null);
      assert.equal(sys_mlock2(k, o, P, 2), -EINVAL);
      assert.equal(sys_mlockall(k, MCL_CURRENT), 0);
      assert.ok(find_vma(k, mmOf(k), l)!.vm_flags & VM_LOCKED);
    });

    test('checklist 45: brk grows (new break), fails below start_brk (old break), shrinks (unmaps); heap is private anon', () => {
      const k = bootKernel(v);
      const b0 = mmOf(k).brk;
      assert.equal(sys_brk(k, b0 + 0x2000), b0 + 0x2000);
      ok(userAccess(k, b0, 'write', 3n));
      assert.equal(mmOf(k).rss_stat.anon, 1);
      assert.equal(sys_brk(k, 0), b0 + 0x2000, 'failure returns the current break');
      assert.equal(sys_brk(k, b0), b0);
      assert.equal(pfnAt(k, b0), null);
      assert.equal(mmOf(k).rss_stat.anon, 0);
      assert.ok(decisions(k).length >= 0);
    });

    test('checklist 42 43 44: a GROWSDOWN VMA grows to the faulting page; a VMA within the guard gap blocks it; PROT_NONE does not', () => {
      const k = bootKernel(v);
      const s = sys_mmap(k, 0x700000000000, 4 * P, RW, PRIV | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
      const vma = find_vma(k, mmOf(k), s)!;
      assert.ok(vma.vm_flags & VM_GROWSDOWN);
      assert.equal(expand_stack(k, vma, s - 10 * P + 5), 0);
      assert.equal(vma.vm_start, s - 10 * P);
      const blocker = sys_mmap(k, s - 10 * P - 256 * P, P, RW, PRIV | MAP_FIXED, -1, 0);
      assert.ok(blocker > 0);
      assert.equal(expand_stack(k, vma, s - 11 * P), -ENOMEM, 'within stack_guard_gap of an accessible VMA');
      assert.equal(sys_mprotect(k, blocker, P, PROT_NONE), 0);
      assert.equal(expand_stack(k, vma, s - 11 * P), 0, '#44: PROT_NONE does not enforce the gap');
    });
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 29 (shmem): fork copies no shmem PTEs; the child's first read faults once and fault-around maps the cached neighbours`, () => {
    const k = bootKernel(v, { trace: true });
    const s = sys_mmap(k, 0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (let i = 0; i < 4; i++) ok(userAccess(k, s + i * P, 'write', BigInt(i + 1)));
    const parent = k.current;
    const child = forkTask(k, 'c', 2);
    switchTo(k, child);
    assert.equal(pfnAt(k, s), null, 'no PTE copied: the VMA has no anon_vma');
    assert.equal(ok(userAccess(k, s, 'read')), 1n);
    assert.equal(child.min_flt, 1);
    assert.equal(decisions(k, 'do_fault_around').at(-1), 'target-mapped');
    for (let i = 1; i < 4; i++) assert.equal(ok(userAccess(k, s + i * P, 'read')), BigInt(i + 1));
    assert.equal(child.min_flt, 1, 'the neighbours were mapped by fault-around');
    assert.equal(child.mm!.rss_stat.shmem, 4);
    ok(userAccess(k, s + P, 'write', 9n));
    switchTo(k, parent);
    assert.equal(ok(userAccess(k, s + P, 'read')), 9n, 'shared: the parent sees the child\'s write');
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 38: below mmap_min_addr MAP_FIXED is EPERM (without CAP_SYS_RAWIO); a low hint is rounded up; anonymous MAP_SHARED_VALIDATE is EINVAL`, () => {
    const k = bootKernel(v);
    assert.equal(sys_mmap(k, 0x1000, P, RW, PRIV | MAP_FIXED, -1, 0), -1);
    assert.equal(sys_mmap(k, 0x1234, P, RW, PRIV, -1, 0), 0x10000, 'hint & PAGE_MASK, then up to mmap_min_addr');
    assert.equal(sys_mmap(k, 0x20fff, P, RW, PRIV, -1, 0), 0x20000, 'a hint is rounded down to its page');
    assert.equal(sys_mmap(k, 0, P, RW, 0x03 | MAP_ANONYMOUS, -1, 0), -EINVAL);
    assert.equal(sys_mmap(k, 0, P, RW, MAP_PRIVATE, 3, 0), -9, 'no files in the model: EBADF');
    assert.equal(sys_mmap(k, 0, P, RW, PRIV, -1, 1), -EINVAL, 'unaligned offset');
    mmglobals(k).cap_sys_rawio = true;
    assert.equal(sys_mmap(k, 0x1000, P, RW, PRIV | MAP_FIXED, -1, 0), 0x1000);
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 36: madvise(DONTFORK) and mlock on the middle page split [a: 3p] in three; undoing them merges it back`, () => {
    const k = bootKernel(v);
    const a = sys_mmap(k, 0, 3 * P, RW, PRIV, -1, 0);
    ok(userAccess(k, a + P, 'write', 1n)); // an anon_vma: the pieces must keep sharing it to merge
    const three = [[a, a + P], [a + P, a + 2 * P], [a + 2 * P, a + 3 * P]];
    assert.equal(sys_madvise(k, a + P, P, MADV_DONTFORK), 0);
    assert.deepEqual(vmaList(mmOf(k)), three);
    assert.equal(sys_madvise(k, a + P, P, M_DOFORK), 0);
    assert.deepEqual(vmaList(mmOf(k)), [[a, a + 3 * P]]);
    assert.equal(sys_mlock(k, a + P, P), 0);
    assert.deepEqual(vmaList(mmOf(k)), three);
    assert.equal(mmOf(k).locked_vm, 1);
    assert.equal(sys_munlock(k, a + P, P), 0);
    assert.deepEqual(vmaList(mmOf(k)), [[a, a + 3 * P]]);
    assert.equal(mmOf(k).locked_vm, 0);
    assert.equal(mmOf(k).map_count, 1);
  });
}

for (const v of VERSIONS) {
  test(`linux ${v}: checklist 46: MCL_FUTURE makes later mmaps locked and populated; without CAP_IPC_LOCK past RLIMIT_MEMLOCK they fail (EAGAIN)`, () => {
    const k = bootKernel(v);
    assert.equal(sys_mlockall(k, MCL_FUTURE), 0);
    const a = sys_mmap(k, 0, 2 * P, RW, PRIV, -1, 0);
    assert.ok(find_vma(k, mmOf(k), a)!.vm_flags & VM_LOCKED);
    assert.equal(mmOf(k).rss_stat.anon, 2, 'populated');
    mmglobals(k).cap_ipc_lock = false;
    k.current.rlim = { memlock: 4 * P };
    assert.equal(sys_mmap(k, 0, 4 * P, RW, PRIV | MAP_POPULATE, -1, 0), -11, 'mlock_future_check: EAGAIN');
    assert.equal(sys_mlockall(k, 12), -EINVAL, 'unknown flag bits');
  });
}
