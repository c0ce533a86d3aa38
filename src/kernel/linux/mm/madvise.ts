// madvise (mm/madvise.c, 5.19 and 6.18): do_madvise validates, madvise_walk_vmas visits each VMA
// of the range (a hole → -ENOMEM after the mapped parts are done), madvise_vma_behavior acts:
// DONTNEED zaps the PTEs (not on VM_LOCKED/VM_PFNMAP), FREE only on private anon (lazy free; with
// no memory pressure the pages stay, clean), DONTFORK/DOFORK and WIPEONFORK/KEEPONFORK flip VMA
// flags (split/merge like mprotect), POPULATE_READ/WRITE fault pages in. WILLNEED on anonymous
// memory is a swap-in hint: 0 (CONFIG_SWAP=y). Hints without effect here return 0.

import {
  VM_DONTCOPY, VM_DONTDUMP, VM_HUGEPAGE, VM_IO, VM_LOCKED, VM_MIXEDMAP, VM_NOHUGEPAGE, VM_PFNMAP, VM_RAND_READ, VM_SEQ_READ,
  VM_SHARED, VM_WIPEONFORK, VM_DONTEXPAND, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { EAGAIN, EFAULT, EINVAL, ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import * as M from '../include/uapi/asm-generic/mman-common.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY } from '../arch/x86/include/asm/pgtable_types.js';
import { for_each_pte, pte_present, read_hi, read_lo, set_entry } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_range } from '../arch/x86/mm/tlb.js';
import type { Kernel } from '../types.js';
import { faultin_vma_page_range } from './gup.js';
import { is_regular_file } from '../fs/fs.js';
import { filemap_willneed } from './filemap.js';
import { zap_page_range } from './memory_ranges.js';
import { madvise_cold_or_pageout } from './vmscan.js';
import { decision, enter, leave } from './mmtrace.js';
import { find_vma, vma_is_anonymous, vma_lookup, vma_modify_flags, vma_next, vma_prev } from './vma.js';

const VALID = new Set([
  M.MADV_DOFORK, M.MADV_DONTFORK, M.MADV_NORMAL, M.MADV_SEQUENTIAL, M.MADV_RANDOM, M.MADV_REMOVE, M.MADV_WILLNEED,
  M.MADV_DONTNEED, M.MADV_DONTNEED_LOCKED, M.MADV_FREE, M.MADV_COLD, M.MADV_PAGEOUT, M.MADV_POPULATE_READ, M.MADV_POPULATE_WRITE,
  M.MADV_MERGEABLE, M.MADV_UNMERGEABLE, M.MADV_HUGEPAGE, M.MADV_NOHUGEPAGE, M.MADV_DONTDUMP, M.MADV_DODUMP, M.MADV_WIPEONFORK,
  M.MADV_KEEPONFORK, M.MADV_HWPOISON, M.MADV_SOFT_OFFLINE,
]);

/** madvise_need_mmap_write: advice that changes VMA flags takes the write lock. */
function need_write(behavior: number): boolean {
  return ![M.MADV_REMOVE, M.MADV_WILLNEED, M.MADV_DONTNEED, M.MADV_DONTNEED_LOCKED, M.MADV_COLD, M.MADV_PAGEOUT, M.MADV_FREE,
    M.MADV_POPULATE_READ, M.MADV_POPULATE_WRITE].includes(behavior);
}

export type MadviseReason = 'bad-advice' | 'unaligned' | 'len-wraps' | 'len-zero' | 'hwpoison-unsupported' | 'walked';

/** sys_madvise → do_madvise. 0 or -errno. */
export function sys_madvise(k: Kernel, start: number, len_in: number, behavior: number): number {
  enter(k, 'do_madvise', 'mm/madvise.c');
  const done = (err: number, why: MadviseReason): number => {
    decision(k, 'do_madvise', why);
    leave(k, 'do_madvise', String(err));
    return err;
  };
  if (!VALID.has(behavior)) return done(-EINVAL, 'bad-advice');
  if (start % 4096) return done(-EINVAL, 'unaligned');
  const len = Math.ceil(len_in / 4096) * 4096;
  const end = start + len;
  if (end > 2 ** 64) return done(-EINVAL, 'len-wraps');
  if (end === start) return done(0, 'len-zero');
  if (behavior === M.MADV_HWPOISON || behavior === M.MADV_SOFT_OFFLINE) return done(-EINVAL, 'hwpoison-unsupported'); // FIXME: memory failure not modelled
  const mm = k.current.mm!;
  const write = need_write(behavior);
  if (write) mmap_write_lock(k, mm);
  else mmap_read_lock(k, mm);
  const err = madvise_walk_vmas(k, start, end, behavior);
  if (write) mmap_write_unlock(k, mm);
  else mmap_read_unlock(k, mm);
  return done(err, 'walked');
}

/** madvise_walk_vmas: visit each VMA piece; remember a hole (-ENOMEM) but keep going. */
function madvise_walk_vmas(k: Kernel, start0: number, end: number, behavior: number): number {
  const mm = k.current.mm!;
  let start = start0;
  let vma = find_vma(k, mm, start);
  let prev: VmAreaStruct | null = vma && start > vma.vm_start ? vma : vma_prev(mm, vma);
  let unmapped_error = 0;
  for (;;) {
    if (!vma) return -ENOMEM;
    if (start < vma.vm_start) {
      unmapped_error = -ENOMEM;
      start = vma.vm_start;
      if (start >= end) break;
    }
    const tmp = Math.min(vma.vm_end, end);
    const r = madvise_vma_behavior(k, vma, prev, start, tmp, behavior);
    if (typeof r === 'number') return r;
    prev = r;
    start = tmp;
    if (start < prev.vm_end) start = prev.vm_end;
    if (start >= end) break;
    vma = vma_next(mm, prev);
  }
  return unmapped_error;
}

/** madvise_vma_behavior: one advice on [start, end) of one VMA. The new `prev`, or -errno. */
function madvise_vma_behavior(k: Kernel, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number, behavior: number): VmAreaStruct | number {
  enter(k, 'madvise_vma_behavior', 'mm/madvise.c');
  const r = behave(k, vma, _prev, start, end, behavior);
  leave(k, 'madvise_vma_behavior', typeof r === 'number' ? String(r) : '0');
  return r;
}

function behave(k: Kernel, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, behavior: number): VmAreaStruct | number {
  let f = vma.vm_flags;
  switch (behavior) {
    case M.MADV_DONTNEED: case M.MADV_DONTNEED_LOCKED: case M.MADV_FREE:
      return madvise_dontneed_free(k, vma, start, end, behavior);
    case M.MADV_POPULATE_READ: case M.MADV_POPULATE_WRITE:
      return madvise_populate(k, vma, start, end, behavior === M.MADV_POPULATE_WRITE);
    case M.MADV_WILLNEED:
      // madvise_willneed on a disk file: vfs_fadvise(POSIX_FADV_WILLNEED) reads the range into the cache
      if (is_regular_file(vma.vm_file)) filemap_willneed(k, vma.vm_file, vma.vm_pgoff + (start - vma.vm_start) / 4096, (end - start) / 4096);
      return vma;
    case M.MADV_COLD: case M.MADV_PAGEOUT:
      madvise_cold_or_pageout(k, vma, start, end, behavior === M.MADV_PAGEOUT); // mm/vmscan.ts
      return vma;
    case M.MADV_REMOVE:
      if (!(vma.vm_flags & VM_SHARED)) return -EINVAL;
      return vma; // FIXME: MADV_REMOVE does not punch shmem holes
    case M.MADV_NORMAL: f &= ~(VM_RAND_READ | VM_SEQ_READ); break;
    case M.MADV_SEQUENTIAL: f = (f & ~VM_RAND_READ) | VM_SEQ_READ; break;
    case M.MADV_RANDOM: f = (f & ~VM_SEQ_READ) | VM_RAND_READ; break;
    case M.MADV_DONTFORK: f |= VM_DONTCOPY; break;
    case M.MADV_DOFORK:
      if (vma.vm_flags & VM_IO) return -EINVAL;
      f &= ~VM_DONTCOPY;
      break;
    case M.MADV_WIPEONFORK:
      if (vma.vm_file || vma.vm_flags & VM_SHARED) {
        decision(k, 'madvise_vma_behavior', 'wipeonfork-not-private-anon');
        return -EINVAL;
      }
      f |= VM_WIPEONFORK;
      break;
    case M.MADV_KEEPONFORK: f &= ~VM_WIPEONFORK; break;
    case M.MADV_DONTDUMP: f |= VM_DONTDUMP; break;
    case M.MADV_DODUMP:
      if (f & (VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP)) return -EINVAL;
      f &= ~VM_DONTDUMP;
      break;
    case M.MADV_HUGEPAGE: f = (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE; break;
    case M.MADV_NOHUGEPAGE: f = (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE; break;
    default: break; // MERGEABLE/UNMERGEABLE: no KSM in the model
  }
  if (f === vma.vm_flags) return vma;
  // madvise_update_vma: merge or split, then set the flags (-ENOMEM becomes -EAGAIN)
  const r = vma_modify_flags(k, vma.vm_mm, prev, vma, start, end, f);
  if (typeof r === 'number') return r === -ENOMEM ? -EAGAIN : r;
  r.vm_flags = f;
  return r;
}

/** madvise_dontneed_free: DONTNEED zaps; FREE (private anon only) makes the PTEs clean and old. */
function madvise_dontneed_free(k: Kernel, vma: VmAreaStruct, start: number, end: number, behavior: number): VmAreaStruct | number {
  const forbidden = VM_PFNMAP | (behavior === M.MADV_DONTNEED_LOCKED ? 0 : VM_LOCKED);
  if (vma.vm_flags & forbidden) {
    decision(k, 'madvise_dontneed_free', 'locked-or-pfnmap');
    return -EINVAL;
  }
  if (behavior !== M.MADV_FREE) {
    decision(k, 'madvise_dontneed_free', 'dontneed');
    zap_page_range(k, vma, start, end);
    return vma;
  }
  if (!vma_is_anonymous(vma)) {
    decision(k, 'madvise_dontneed_free', 'free-not-anon');
    return -EINVAL;
  }
  decision(k, 'madvise_dontneed_free', 'lazyfree');
  let n = 0;
  for_each_pte(k, vma.vm_mm, start, end, (pa, addr) => {
    const lo = read_lo(k, pa);
    if (!pte_present(lo) || !(lo & (_PAGE_DIRTY | _PAGE_ACCESSED))) return;
    set_entry(k, 'pt', pa, (lo & ~(_PAGE_DIRTY | _PAGE_ACCESSED)) >>> 0, read_hi(k, pa), addr);
    n++;
  });
  if (n) flush_tlb_range(k, vma, start, end);
  return vma;
}

/** madvise_populate: fault the range in, readable or writable; -EINVAL for an incompatible VMA, -ENOMEM for a hole. */
function madvise_populate(k: Kernel, vma0: VmAreaStruct, start0: number, end: number, write: boolean): VmAreaStruct | number {
  let start = start0;
  let vma: VmAreaStruct | null = vma0;
  while (start < end) {
    if (!vma || start >= vma.vm_end) {
      vma = vma_lookup(k, vma0.vm_mm, start);
      if (!vma) return -ENOMEM;
    }
    const tmp = Math.min(end, vma.vm_end);
    const pages = faultin_vma_page_range(k, vma, start, tmp, write);
    if (pages < 0) return pages === -EINVAL ? -EINVAL : pages === -EFAULT ? -EFAULT : -ENOMEM;
    start += pages * 4096;
  }
  return vma0;
}
