// Property tests (STYLE.md, Tests 5) for the mm as a whole: random sequences of mmap, munmap,
// mprotect, madvise, mlock, brk, user reads and writes (through the machine, faulting into
// handle_mm_fault), fork, context switches and exit, on both versions. After every step:
//   - no PTE points at a free frame, and no PTE lies outside a VMA;
//   - each page's refcount and mapcount equal the PTEs (and shmem cache slots) that hold it;
//   - each mm's RSS counters equal its present anon / shmem PTEs;
//   - every VMA tree still checks out (rbtree / maple tree invariants);
//   - the TLB holds no translation the page tables have since lost or weakened (flushes are where
//     they must be).
// At the end, every process exits and every frame the mms took is back in the allocator.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { follow_pte, for_each_pte, pte_none, pte_pfn, read_hi, read_lo } from '../../../../src/kernel/linux/arch/x86/mm/pgtable.js';
import { _PAGE_SPECIAL } from '../../../../src/kernel/linux/arch/x86/include/asm/pgtable_types.js';
import type { MmStruct } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import * as M from '../../../../src/kernel/linux/include/uapi/asm-generic/mman-common.js';
import { mt_validate } from '../../../../src/kernel/linux/lib/maple_tree.js';
import { rb_check } from '../../../../src/kernel/linux/lib/rbtree.js';
import { sys_madvise } from '../../../../src/kernel/linux/mm/madvise.js';
import { mm_alloc, mmput } from '../../../../src/kernel/linux/mm/mm_init.js';
import { sys_mlock, sys_munlock } from '../../../../src/kernel/linux/mm/mlock.js';
import { sys_brk, sys_mmap, sys_munmap } from '../../../../src/kernel/linux/mm/mmap.js';
import { sys_mprotect } from '../../../../src/kernel/linux/mm/mprotect.js';
import { PG_anon } from '../../../../src/kernel/linux/mm/page_alloc.js';
import { vmas_of } from '../../../../src/kernel/linux/mm/vma.js';
import type { Kernel, TaskStruct } from '../../../../src/kernel/linux/types.js';
import { bootKernel, forkTask, switchTo, userAccess, VERSIONS } from './kernel.js';

const BASE = 0x10000000;
const P = 4096;
const PROTS = [M.PROT_NONE, M.PROT_READ, M.PROT_READ | M.PROT_WRITE];
const ADV = [M.MADV_DONTNEED, M.MADV_FREE, M.MADV_DONTFORK, M.MADV_DOFORK, M.MADV_WIPEONFORK, M.MADV_KEEPONFORK];

type Op =
  | { k: 'mmap'; page: number; n: number; prot: number; shared: boolean; fixed: boolean; populate: boolean }
  | { k: 'munmap' | 'mlock' | 'munlock'; page: number; n: number }
  | { k: 'mprotect'; page: number; n: number; prot: number }
  | { k: 'madvise'; page: number; n: number; adv: number }
  | { k: 'access'; page: number; write: boolean; value: number }
  | { k: 'brk'; delta: number }
  | { k: 'fork' } | { k: 'switch'; to: number } | { k: 'exit' };

const page = fc.nat(7);
const n = fc.integer({ min: 1, max: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mmap' as const), page, n, prot: fc.nat(2), shared: fc.boolean(), fixed: fc.boolean(), populate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('munmap' as const, 'mlock' as const, 'munlock' as const), page, n }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('mprotect' as const), page, n, prot: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('madvise' as const), page, n, adv: fc.nat(ADV.length - 1) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('access' as const), page, write: fc.boolean(), value: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('brk' as const), delta: fc.integer({ min: -3, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fork' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('switch' as const), to: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('exit' as const) }) },
);

function apply(k: Kernel, o: Op, tasks: TaskStruct[], pidNext: { v: number }): void {
  const a = BASE + ('page' in o ? o.page : 0) * P;
  const len = 'n' in o ? o.n * P : P;
  switch (o.k) {
    case 'mmap': {
      const flags = (o.shared ? M.MAP_SHARED : M.MAP_PRIVATE) | M.MAP_ANONYMOUS | (o.fixed ? M.MAP_FIXED : 0) | (o.populate ? M.MAP_POPULATE : 0);
      sys_mmap(k, a, len, PROTS[o.prot]!, flags, -1, 0);
      break;
    }
    case 'munmap': sys_munmap(k, a, len); break;
    case 'mlock': sys_mlock(k, a, len); break;
    case 'munlock': sys_munlock(k, a, len); break;
    case 'mprotect': sys_mprotect(k, a, len, PROTS[o.prot]!); break;
    case 'madvise': sys_madvise(k, a, len, ADV[o.adv]!); break;
    case 'access': userAccess(k, a + 8, o.write ? 'write' : 'read', BigInt(o.value)); break;
    case 'brk': sys_brk(k, k.current.mm!.brk + o.delta * P); break;
    case 'fork': if (tasks.length < 4) tasks.push(forkTask(k, `c${pidNext.v}`, pidNext.v++)); break;
    case 'switch': switchTo(k, tasks[o.to % tasks.length]!); break;
    case 'exit': {
      const t = k.current;
      if (t === tasks[0]) break;
      switchTo(k, tasks[0]!);
      tasks.splice(tasks.indexOf(t), 1);
      mmput(k, t.mm!);
      break;
    }
  }
}

/** Check every invariant named in the header across all live mms. */
function check(k: Kernel, mms: MmStruct[]): void {
  const refs = new Map<number, number>();
  const maps = new Map<number, number>();
  const bump = (m: Map<number, number>, pfn: number): void => { m.set(pfn, (m.get(pfn) ?? 0) + 1); };
  for (const mm of mms) {
    if (mm.mm_mt) mt_validate(mm.mm_mt);
    else rb_check(mm.mm_rb!, (x, y) => x.vm_start < y.vm_start);
    const vmas = vmas_of(mm);
    let anon = 0;
    let shmem = 0;
    // Every non-empty PTE in the user range must be inside a VMA.
    for_each_pte(k, mm, BASE, BASE + 0x100000, (pa, addr) => {
      if (pte_none(read_lo(k, pa), read_hi(k, pa))) return;
      assert.ok(vmas.some((v) => v.vm_start <= addr && addr < v.vm_end), `PTE outside any VMA at ${addr.toString(16)}`);
    });
    for (const v of vmas) {
      for_each_pte(k, mm, v.vm_start, v.vm_end, (pa) => {
        const lo = read_lo(k, pa);
        const hi = read_hi(k, pa);
        if (pte_none(lo, hi)) return;
        const pfn = pte_pfn(lo, hi);
        assert.ok(!k.memmap.isFree(pfn), `PTE points at free frame ${pfn}`);
        if (lo & _PAGE_SPECIAL) { assert.equal(pfn, k.zero_pfn); return; }
        bump(refs, pfn);
        bump(maps, pfn);
        if (k.memmap.flags[pfn]! & PG_anon) anon++;
        else shmem++;
      });
      if (v.vm_file) for (const pfn of v.vm_file.pages.values()) if (!refs.has(-pfn - 1)) refs.set(-pfn - 1, 1);
    }
    assert.deepEqual({ anon: mm.rss_stat.anon, shmem: mm.rss_stat.shmem }, { anon, shmem }, 'RSS counters');
  }
  for (const [key] of refs) if (key < 0) bump(refs, -key - 1); // each shmem cache slot holds one reference
  for (const [pfn, r] of refs) {
    if (pfn < 0) continue;
    assert.equal(k.memmap.refcount[pfn], r, `refcount of ${pfn}`);
    assert.equal(k.memmap.mapcount[pfn], maps.get(pfn) ?? 0, `mapcount of ${pfn}`);
  }
}

/**
 * No stale TLB entry: for the running task, a user read or write that the CPU lets through (the
 * TLB may answer) must be allowed by the page tables as they are now, to the same frame. A write
 * stores the byte it just read, so the data does not change.
 */
function checkTlb(k: Kernel): void {
  const mm = k.current.mm!;
  for (let i = 0; i < 12; i++) {
    const va = BASE + i * P;
    const r = k.machine.tryAccess({ va: BigInt(va), access: 'read' });
    if (r.kind !== 'ok') continue;
    const pte = follow_pte(k, mm, va);
    assert.ok(pte && pte.lo & 1, `read at ${va.toString(16)} through a TLB entry the tables no longer have`);
    assert.equal(Number(r.pa >> 12n), pte.pfn, 'the TLB and the PTE agree on the frame');
    const w = k.machine.tryAccess({ va: BigInt(va), access: 'write', value: r.value });
    if (w.kind === 'ok') assert.ok(pte.lo & 2, `write at ${va.toString(16)} through a stale writable TLB entry`);
  }
}

for (const v of VERSIONS) {
  test(`linux ${v}: random mm syscalls, accesses, forks and exits keep refcounts, RSS and trees exact; exit frees everything`, () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), fc.boolean(), (seq, pti) => {
      const k = bootKernel(v, { pti, pages: 2048 });
      const main = k.current;
      const base = k.memmap.allocated - (pti ? 2 : 1); // minus main's PGD
      const tasks: TaskStruct[] = [main];
      const pidNext = { v: 2 };
      for (const o of seq) {
        apply(k, o, tasks, pidNext);
        check(k, tasks.map((t) => t.mm!));
        checkTlb(k);
      }
      switchTo(k, main);
      for (const t of tasks.slice(1)) mmput(k, t.mm!);
      // main's mm goes last: switch to a fresh mm first so nothing loaded is torn down
      const spare = mm_alloc(k)!;
      switchTo(k, { ...main, mm: spare });
      mmput(k, main.mm!);
      assert.equal(k.memmap.allocated - (pti ? 2 : 1), base, 'every frame the mms took is free again');
    }), { numRuns: 100 });
  });
}
