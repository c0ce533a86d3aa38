// do_swap_page (mm/memory.c, 5.19 and 6.18) in a file of its own, with the swap parts of the
// range walks (zap_pte_range's and copy_nonpresent_pte's swap-entry cases, mm/memory.c).
// A swap-cache hit is a minor fault; a miss reads the page (and readahead) from swap: MAJOR and
// PGMAJFAULT. The PTE's reference on the slot is dropped (swap_free); a page known to be
// exclusive (the swap PTE's exclusive bit, or refcount 1) is mapped writable at once on a write
// fault, and in 6.x also on a read fault of a VM_WRITE mapping.
// Simplified: no migration/device/hwpoison/marker entries (a non-swap entry is a bad PTE →
// SIGBUS), no SWP_SYNCHRONOUS_IO bypass, no KSM; a page is locked only for its own read.

import { _PAGE_DIRTY, _PAGE_RW } from '../arch/x86/include/asm/pgtable_types.js';
import { pfn_hi, pfn_lo, set_entry } from '../arch/x86/mm/pgtable.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE,
  VM_FAULT_ERROR, VM_FAULT_MAJOR, VM_FAULT_RETRY, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_WRITE, VM_LOCKED, VM_WRITE, type MmStruct, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { do_wp_page, vma_end_read, type VmFault } from './memory.js';
import { mmap_read_unlock } from '../include/linux/mmap_lock.js';
import { decision, enter, leave, vmFaultName } from './mmtrace.js';
import { PG_anon, PG_anon_exclusive, PG_mlocked } from './page_alloc.js';
import { lookup_swap_cache, swapin_readahead, try_to_free_swap } from './swap_state.js';
import { pte_swp_exclusive, pte_to_swp_entry, swap_duplicate, swap_free, vm_swap_full, swp_entry_to_pte } from './swapfile.js';
import { pressure } from './vmscan.js';

export type SwapPageReason = 'bad-swap-entry' | 'swapcache-hit' | 'swapin-io' | 'swapin-oom' | 'lock-page-or-retry';

/**
 * should_try_to_free_swap: leave the swap cache now if swap is over half full, the VMA is locked,
 * or a write fault holds the only other reference (then the page can be mapped writable).
 */
function should_try_to_free_swap(k: Kernel, page: number, vma: VmAreaStruct, flags: number): boolean {
  if (vm_swap_full(k) || vma.vm_flags & VM_LOCKED || k.memmap.flags[page]! & PG_mlocked) return true;
  return (flags & FAULT_FLAG_WRITE) !== 0 && k.memmap.refcount[page] === 2;
}

/** page_add_anon_rmap / folio_add_anon_rmap_pte: one more mapping of a swapped-in page. */
function page_add_anon_rmap(k: Kernel, pfn: number, vma: VmAreaStruct, exclusive: boolean): void {
  const mm = k.memmap;
  if (mm.mapcount[pfn]!++ === 0) {
    mm.flags[pfn]! |= PG_anon;
    mm.anon_vma[pfn] = vma.anon_vma?.id ?? 0;
  }
  if (exclusive) mm.flags[pfn]! |= PG_anon_exclusive;
}

/** do_swap_page: bring the page of a swap PTE back and map it. */
export function do_swap_page(k: Kernel, vmf: VmFault): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'do_swap_page', 'mm/memory.c');
  const mm = k.memmap;
  const { type, off } = pte_to_swp_entry(vmf.orig_lo, vmf.orig_hi);
  const si = pressure(k).swap;
  let ret = 0;
  let why: SwapPageReason;
  let page = -1;
  if (type !== 0 || !si || off <= 0 || off >= si.max || si.swap_map[off] === 0) {
    why = 'bad-swap-entry'; // print_bad_pte
    ret = VM_FAULT_SIGBUS;
  } else if ((page = lookup_swap_cache(k, off)) >= 0) {
    why = 'swapcache-hit';
    mm.get_page(page);
  } else if ((page = swapin_readahead(k, off)) >= 0) {
    why = 'swapin-io';
    ret = VM_FAULT_MAJOR;
    k.vmstat.pgmajfault++; // count_vm_event(PGMAJFAULT)
  } else {
    why = 'swapin-oom';
    ret = VM_FAULT_OOM;
  }
  if (tr) decision(k, 'do_swap_page', why, `swap slot 0x${off.toString(16)}`);
  if (why === 'swapin-io' && lock_page_or_retry(k, vmf)) {
    mm.put_page(k, page, 'do_swap_page'); // out_release: the page stays in the swap cache for the retry
    ret |= VM_FAULT_RETRY;
  } else if (page >= 0) {
    ret |= map_swapped_page(k, vmf, page, off);
  }
  if (tr) leave(k, 'do_swap_page', vmFaultName(ret));
  return ret;
}

/**
 * lock_page_or_retry (5.19; 6.x folio_lock_or_retry) on a page whose read was just submitted: it is
 * locked until the I/O completes, so a first attempt that may retry drops its lock
 * (release_fault_lock: the VMA lock in 6.x, else mmap_lock), waits, and returns RETRY; the retry
 * finds the page in the swap cache and counts as major (FAULT_FLAG_TRIED, checklist 23). A fault
 * that may not retry (GUP in the model, RETRY_NOWAIT, a second attempt) just waits for the lock.
 * True when the fault must return RETRY.
 */
function lock_page_or_retry(k: Kernel, vmf: VmFault): boolean {
  const f = vmf.flags;
  if (!(f & FAULT_FLAG_ALLOW_RETRY) || f & (FAULT_FLAG_TRIED | FAULT_FLAG_RETRY_NOWAIT) || !(f & FAULT_FLAG_USER)) return false;
  if (f & FAULT_FLAG_VMA_LOCK) vma_end_read(k, vmf.vma);
  else mmap_read_unlock(k, vmf.vma.vm_mm);
  decision(k, 'do_swap_page', 'lock-page-or-retry', 'the page is locked for I/O: drop the lock, wait, VM_FAULT_RETRY');
  return true;
}

/** The second half of do_swap_page: drop the slot reference, map the page, finish a write. */
function map_swapped_page(k: Kernel, vmf: VmFault, page: number, off: number): number {
  const vma = vmf.vma;
  const mm = k.memmap;
  const rss = vma.vm_mm.rss_stat;
  const exclusive = pte_swp_exclusive(vmf.orig_lo);
  let ret = 0;
  swap_free(k, off);
  if (should_try_to_free_swap(k, page, vma, vmf.flags)) try_to_free_swap(k, page);
  rss.anon++;
  rss.swapents--;
  const prot = vma.vm_page_prot;
  let lo = (pfn_lo(page) | prot.lo) >>> 0;
  const reuse = exclusive || mm.refcount[page] === 1;
  if (reuse) {
    const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
    if (vma.vm_flags & VM_WRITE && (write || k.features.folios)) lo |= _PAGE_RW; // 6.x: also on a read fault
    if (write) {
      lo |= _PAGE_DIRTY;
      vmf.flags &= ~FAULT_FLAG_WRITE;
      if (!k.features.folios) ret |= VM_FAULT_WRITE;
    }
  }
  decision(k, 'do_swap_page', reuse ? 'exclusive' : 'shared', lo & _PAGE_RW ? 'mapped writable' : 'mapped read-only');
  page_add_anon_rmap(k, page, vma, reuse);
  set_entry(k, 'pt', vmf.ptePa, lo >>> 0, pfn_hi(page) | prot.hi, vmf.address);
  if (vmf.flags & FAULT_FLAG_WRITE) {
    vmf.orig_lo = lo >>> 0;
    vmf.orig_hi = pfn_hi(page) | prot.hi;
    const wp = do_wp_page(k, vmf);
    ret = wp & VM_FAULT_ERROR ? wp & VM_FAULT_ERROR : ret | wp;
  }
  return ret;
}

// --- the swap cases of the range walks ----------------------------------------------------------

/** zap_pte_range's swap case: free_swap_and_cache; MM_SWAPENTS -1. */
export function zap_swap_pte(k: Kernel, mm: MmStruct, lo: number, hi: number): void {
  const { off } = pte_to_swp_entry(lo, hi);
  mm.rss_stat.swapents--;
  swap_free(k, off);
  // free_swap_and_cache → __try_to_reclaim_swap: an unmapped cache page nobody else refers to goes now.
  const page = lookup_swap_cache(k, off);
  if (page >= 0 && k.memmap.mapcount[page] === 0) try_to_free_swap(k, page);
}

/**
 * copy_nonpresent_pte's swap case (fork): one more reference on the slot; the entry loses its
 * exclusive bit in the parent and the child (the page is shared now). Returns the child's PTE.
 */
export function copy_swap_pte(k: Kernel, dst: MmStruct, lo: number, hi: number, srcPa: number, addr: number): { lo: number; hi: number } {
  const { type, off } = pte_to_swp_entry(lo, hi);
  swap_duplicate(k, off);
  dst.rss_stat.swapents++;
  const e = swp_entry_to_pte(type, off, false);
  if (pte_swp_exclusive(lo)) set_entry(k, 'pt', srcPa, e.lo, e.hi, addr);
  return e;
}
