// Page reclaim (mm/vmscan.c, 5.19 and 6.18; try_to_unmap and page_referenced of mm/rmap.c):
// direct reclaim from the page allocator when the free list is empty (__alloc_pages_slowpath →
// __alloc_pages_direct_reclaim → try_to_free_pages → do_try_to_free_pages → shrink_node →
// shrink_lruvec), then the OOM killer if nothing could be freed. shrink_active_list ages pages
// onto the inactive lists (clearing their accessed bits); shrink_page_list (6.x shrink_folio_list)
// frees inactive pages nobody touched since: clean file pages are dropped from the page cache,
// anon pages go to swap (add_to_swap, try_to_unmap puts swap entries in the PTEs, pageout writes
// the page, __remove_mapping frees it).
// Simplified: no kswapd and no watermarks (reclaim starts when the free list is empty and wants
// SWAP_CLUSTER_MAX pages); get_scan_count is "file first, then anon if there is free swap"
// (no swappiness arithmetic); dirty file pages are never written back by reclaim; shmem is never
// swapped; no MGLRU, memcg, compaction or THP splitting (a THP is never reclaimed). The reverse
// map is found by walking every process's page tables once per reclaim (the model's anon pages
// do not record page->index), not by rmap_walk over anon_vma / i_mmap.

import { _PAGE_ACCESSED, _PAGE_DIRTY } from '../arch/x86/include/asm/pgtable_types.js';
import { for_each_pte, pte_present, read_hi, read_lo, set_entry } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_mm_range, flush_tlb_page } from '../arch/x86/mm/tlb.js';
import { VM_LOCKED, type MmStruct, type VmAreaStruct } from '../include/linux/mm_types.js';
import type { Kernel, TaskStruct } from '../types.js';
import { vm_normal_page } from './memory.js';
import { decision, enter, leave } from './mmtrace.js';
import { out_of_memory } from './oom_kill.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_head, PG_lru, PG_shmem, PG_swapbacked, PG_swapcache, PG_tail } from './page_alloc.js';
import { page_remove_rmap } from './rmap.js';
import {
  LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, Lruvec, activate_page, deactivate_page, lru_add_drain, move_to_unevictable,
} from './swap.js';
import { add_to_swap, delete_from_swap_cache } from './swap_state.js';
import { swap_duplicate, swap_totals, swap_writepage, swapon, swp_entry_to_pte, type SwapInfo } from './swapfile.js';
import { mmglobals } from './mm_init.js';
import { fsglobals } from '../fs/fs.js';
import { setup_pku } from '../arch/x86/mm/pkeys.js';
import { vmas_of } from './vma.js';

/** What the page cache lends reclaim (see /work/helpers/pressure-api.md). */
export interface FileReclaimOps {
  /** __remove_mapping of an unmapped page-cache page: drop it and the cache's reference; false keeps it. */
  remove_mapping(k: Kernel, pfn: number): boolean;
}

/** /proc/vmstat counters of reclaim and swap (include/linux/vm_event_item.h). */
export interface ReclaimStat {
  allocstall: number;
  pgscan_direct: number;
  pgsteal_direct: number;
  pgactivate: number;
  pgdeactivate: number;
  pswpin: number;
  pswpout: number;
  oom_kill: number;
  thp_fault_fallback: number;
  thp_split_pmd: number;
}

export type ThpEnabled = 'always' | 'madvise' | 'never';

/** The memory-pressure state of one kernel (node 0's lruvec, the swap area, sysfs settings). */
export interface PressureState {
  lru: Lruvec;
  swap: SwapInfo | null;
  /** The swap cache: slot -> PFN. */
  swap_cache: Map<number, number>;
  /** page->private of swap-cache pages: the slot. */
  page_private: Float64Array;
  /** PG_referenced of page-cache pages (mark_page_accessed's first touch). */
  referenced: Uint8Array;
  file_ops: FileReclaimOps | null;
  stat: ReclaimStat;
  /** /sys/kernel/mm/transparent_hugepage/enabled (the model's default: never). */
  thp: ThpEnabled;
  /** PF_MEMALLOC: reclaim is running (its own allocations never recurse into it). */
  in_reclaim: boolean;
  /** The huge zero page's first frame, once allocated (mm_get_huge_zero_page). */
  huge_zero_pfn?: number;
}

/** The pressure state, created on first use; it installs the allocator's slow path and LRU release. */
export function pressure(k: Kernel): PressureState {
  let st = k.pressure;
  if (!st) {
    const n = k.memmap.totalPages;
    st = {
      lru: new Lruvec(n), swap: null, swap_cache: new Map(), page_private: new Float64Array(n), referenced: new Uint8Array(n), file_ops: null,
      stat: {
        allocstall: 0, pgscan_direct: 0, pgsteal_direct: 0, pgactivate: 0, pgdeactivate: 0, pswpin: 0, pswpout: 0, oom_kill: 0,
        thp_fault_fallback: 0, thp_split_pmd: 0,
      },
      thp: 'never', in_reclaim: false,
    };
    k.pressure = st;
    const lru = st.lru;
    const ref = st.referenced;
    k.memmap.lru_release = (pfn) => { lru.del(pfn); ref[pfn] = 0; };
    k.memmap.slowpath = (kk, why) => __alloc_pages_slowpath(kk, why);
  }
  return st;
}

/** The page cache registers how reclaim drops its pages. */
export function register_file_reclaim(k: Kernel, ops: FileReclaimOps): void {
  pressure(k).file_ops = ops;
}

const SWAP_CLUSTER_MAX = 32;
const DEF_PRIORITY = 12;

/**
 * __alloc_pages_slowpath (mm/page_alloc.c), order 0: direct reclaim; if it freed nothing,
 * __alloc_pages_may_oom → out_of_memory. True when the allocation should be tried again.
 */
function __alloc_pages_slowpath(k: Kernel, why: string): boolean {
  const st = pressure(k);
  if (st.in_reclaim) return false; // PF_MEMALLOC
  enter(k, '__alloc_pages_slowpath', 'mm/page_alloc.c', { for: why });
  st.in_reclaim = true;
  let freed: number;
  try {
    freed = try_to_free_pages(k);
  } finally {
    st.in_reclaim = false;
  }
  let retry = freed > 0;
  if (!retry) retry = out_of_memory(k);
  if (k.machine.trace.enabled) decision(k, '__alloc_pages_slowpath', freed > 0 ? 'reclaimed' : retry ? 'oom-killed-other' : 'failed', `${freed} page(s) reclaimed`);
  leave(k, '__alloc_pages_slowpath', retry ? 'retry' : 'NULL');
  return retry;
}

/** One mapping of a page found by the reverse map. */
interface Rmap {
  vma: VmAreaStruct;
  addr: number;
  pa: number;
}

/** A scan_control, reduced: the target, the progress, the reverse map of this reclaim. */
interface ScanControl {
  nr_to_reclaim: number;
  nr_reclaimed: number;
  priority: number;
  rmap: Map<number, Rmap[]> | null;
  /** reclaim_pages (MADV_PAGEOUT): the caller already cleared the accessed bits; do not check them. */
  ignore_references?: boolean;
}

/**
 * __remove_mapping for a page-cache page of the simulated disk fs (the default when the page cache
 * registered nothing): a clean page nobody maps or holds leaves its inode's i_pages and the cache's
 * reference goes (the page is freed). tmpfs pages are swap-backed and never get here.
 */
function remove_page_cache_page(k: Kernel, pfn: number): boolean {
  const mm = k.memmap;
  if (mm.flags[pfn]! & PG_dirty || mm.mapcount[pfn]! > 0 || mm.refcount[pfn] !== 1) return false;
  for (const inode of fsglobals(k).inodes.values()) {
    for (const [index, p] of inode.i_mapping.i_pages) {
      if (p !== pfn) continue;
      inode.i_mapping.i_pages.delete(index);
      inode.i_mapping.readahead.delete(index);
      mm.put_page(k, pfn, '__remove_mapping');
      return true;
    }
  }
  return false;
}

/** try_to_free_pages → do_try_to_free_pages: shrink the node at falling priority until enough is freed. */
export function try_to_free_pages(k: Kernel, nr_to_reclaim = SWAP_CLUSTER_MAX): number {
  enter(k, 'try_to_free_pages', 'mm/vmscan.c');
  const st = pressure(k);
  st.stat.allocstall++;
  lru_add_drain(k);
  const sc: ScanControl = { nr_to_reclaim, nr_reclaimed: 0, priority: DEF_PRIORITY, rmap: null };
  for (; sc.priority >= 0 && sc.nr_reclaimed < sc.nr_to_reclaim; sc.priority--) shrink_lruvec(k, sc);
  leave(k, 'try_to_free_pages', String(sc.nr_reclaimed));
  return sc.nr_reclaimed;
}

/** can_reclaim_anon_pages: there is swap with a free slot. */
function can_reclaim_anon_pages(k: Kernel): boolean {
  return swap_totals(k).free > 0;
}

/**
 * shrink_lruvec: each evictable list gets lru_size >> priority pages scanned, file first
 * (get_scan_count, simplified); an inactive list smaller than its active list is refilled first
 * (inactive_is_low with inactive_ratio 1, memory below 1 GiB).
 */
function shrink_lruvec(k: Kernel, sc: ScanControl): void {
  const lru = pressure(k).lru;
  const kinds = can_reclaim_anon_pages(k) ? [LRU_INACTIVE_FILE, LRU_INACTIVE_ANON] : [LRU_INACTIVE_FILE];
  for (const inactive of kinds) {
    if (sc.nr_reclaimed >= sc.nr_to_reclaim) return;
    if (lru.size[inactive]! < lru.size[inactive + 1]!) {
      shrink_active_list(k, sc, inactive + 1, Math.max(lru.size[inactive + 1]! >> sc.priority, sc.priority === 0 ? 1 : 0));
    }
    let nr = lru.size[inactive]! >> sc.priority;
    while (nr > 0 && sc.nr_reclaimed < sc.nr_to_reclaim) {
      const batch = Math.min(nr, SWAP_CLUSTER_MAX);
      nr -= batch;
      shrink_inactive_list(k, sc, inactive, batch);
    }
  }
}

/** The reverse map of every user page: walk each live mm's VMAs once (see the file comment). */
function build_rmap(k: Kernel): Map<number, Rmap[]> {
  const out = new Map<number, Rmap[]>();
  for (const mm of live_mms(k)) {
    for (const vma of vmas_of(mm)) {
      for_each_pte(k, mm, vma.vm_start, vma.vm_end, (pa, addr) => {
        const lo = read_lo(k, pa);
        if (!pte_present(lo)) return;
        const page = vm_normal_page(lo, read_hi(k, pa));
        if (page < 0) return;
        const list = out.get(page);
        if (list) list.push({ vma, addr, pa });
        else out.set(page, [{ vma, addr, pa }]);
      }, 'skip'); // a THP is never reclaimed
    }
  }
  return out;
}

/** for_each_process with an mm (kernel/fork.c's task list; the Kernel's `tasks` where it has one). */
export function live_tasks(k: Kernel): TaskStruct[] {
  const tasks = (k as Kernel & { tasks?: Map<number, TaskStruct & { state?: string }> }).tasks;
  if (!tasks) return k.current.mm ? [k.current] : [];
  return [...tasks.values()].filter((t) => t.mm && t.state !== 'dead' && !t.mm.is_init_mm);
}

function live_mms(k: Kernel): Set<MmStruct> {
  return new Set(live_tasks(k).map((t) => t.mm!));
}

function rmapOf(k: Kernel, sc: ScanControl, pfn: number): Rmap[] {
  sc.rmap ??= build_rmap(k);
  return sc.rmap.get(pfn) ?? [];
}

/**
 * page_referenced (mm/rmap.c): test and clear the accessed bit of every PTE mapping the page
 * (x86 ptep_clear_flush_young does not flush the TLB). -1 if a mapping VMA is VM_LOCKED.
 */
function page_referenced(k: Kernel, sc: ScanControl, pfn: number): number {
  let referenced = 0;
  for (const r of rmapOf(k, sc, pfn)) {
    if (r.vma.vm_flags & VM_LOCKED) return -1;
    const lo = read_lo(k, r.pa);
    if (lo & _PAGE_ACCESSED) {
      set_entry(k, 'pt', r.pa, (lo & ~_PAGE_ACCESSED) >>> 0, read_hi(k, r.pa), r.addr);
      referenced++;
    }
  }
  return referenced;
}

/** shrink_active_list: age the oldest active pages onto the inactive list (accessed bits cleared). */
function shrink_active_list(k: Kernel, sc: ScanControl, active: number, n: number): void {
  for (const pfn of pressure(k).lru.oldest(active, n)) {
    const ref = page_referenced(k, sc, pfn); // (a THP head has no PTEs: it cycles through the lists, never reclaimed)
    if (ref < 0) move_to_unevictable(k, pfn);
    else deactivate_page(k, pfn); // even referenced ones: only VM_EXEC file pages stay (no exec file pages here)
  }
  if (active === LRU_ACTIVE_ANON || active === LRU_ACTIVE_FILE) decision(k, 'shrink_active_list', 'aged', `${n} page(s) considered`);
}

/** shrink_inactive_list: isolate the oldest `n` pages and hand them to shrink_page_list. */
function shrink_inactive_list(k: Kernel, sc: ScanControl, inactive: number, n: number): void {
  const st = pressure(k);
  const pages = st.lru.oldest(inactive, n);
  st.stat.pgscan_direct += pages.length;
  for (const pfn of pages) {
    if (shrink_page(k, sc, pfn)) {
      sc.nr_reclaimed++;
      st.stat.pgsteal_direct++;
    }
  }
}

export type ShrinkPageReason = 'activate-referenced' | 'keep-referenced-file' | 'mlocked' | 'no-swap' | 'thp' | 'shmem' | 'dirty-file' |
  'still-referenced' | 'swapped-out' | 'dropped-clean-file' | 'file-kept';

/** shrink_page_list for one page: keep, activate, or free it. True if freed. */
function shrink_page(k: Kernel, sc: ScanControl, pfn: number): boolean {
  const mm = k.memmap;
  const st = pressure(k);
  const f = mm.flags[pfn]!;
  const anon = (f & PG_swapbacked) !== 0;
  const why = ((): ShrinkPageReason => {
    if (f & (PG_head | PG_tail)) return 'thp';
    if (anon && !(f & (PG_anon | PG_swapcache))) return 'shmem';
    const ref = sc.ignore_references ? 0 : page_referenced(k, sc, pfn);
    if (ref < 0) return 'mlocked';
    if (ref > 0 && anon) return 'activate-referenced'; // page_check_references: PAGEREF_ACTIVATE
    if (ref > 0) { // page_check_references for a file page: PG_referenced already (or VM_EXEC) → activate, else keep once
      if (st.referenced[pfn]) return 'activate-referenced';
      st.referenced[pfn] = 1;
      return 'keep-referenced-file';
    } // unreferenced by PTEs: reclaim, even with PG_referenced (PAGEREF_RECLAIM_CLEAN)
    if (anon && !(f & PG_swapcache) && !add_to_swap(k, pfn)) return 'no-swap';
    try_to_unmap(k, sc, pfn);
    if (mm.mapcount[pfn]! > 0) return 'still-referenced';
    if (anon) return pageout_anon(k, pfn);
    if (mm.flags[pfn]! & PG_dirty) return 'dirty-file';
    return (st.file_ops ? st.file_ops.remove_mapping(k, pfn) : remove_page_cache_page(k, pfn)) ? 'dropped-clean-file' : 'file-kept';
  })();
  if (k.machine.trace.enabled) decision(k, 'shrink_page_list', why, `pfn 0x${pfn.toString(16)}`);
  switch (why) {
    case 'activate-referenced':
    case 'no-swap':
      if (mm.flags[pfn]! & PG_lru) activate_page(k, pfn);
      return false;
    case 'mlocked':
      move_to_unevictable(k, pfn);
      return false;
    case 'swapped-out':
    case 'dropped-clean-file':
      return true;
    default:
      if (mm.flags[pfn]! & PG_lru) st.lru.add(pfn, st.lru.on[pfn]!); // putback: rotate to the head
      return false;
  }
}

/** pageout (swap_writepage) then __remove_mapping: an unmapped anon page in the swap cache is written and freed. */
function pageout_anon(k: Kernel, pfn: number): ShrinkPageReason {
  const mm = k.memmap;
  if (mm.flags[pfn]! & PG_dirty) {
    swap_writepage(k, pfn, pressure(k).page_private[pfn]!);
    mm.flags[pfn]! &= ~PG_dirty;
  }
  if (mm.refcount[pfn] !== 1) return 'still-referenced'; // someone else holds it (the cache's is the 1)
  delete_from_swap_cache(k, pfn);
  return 'swapped-out';
}

/**
 * try_to_unmap → try_to_unmap_one (mm/rmap.c): clear every PTE mapping the page (flushing the
 * TLB); an anon page's PTEs become its swap entry (exclusive if the page was), MM_ANONPAGES -1
 * and MM_SWAPENTS +1; a file page's PTE is just cleared (a dirty PTE dirties the page).
 */
function try_to_unmap(k: Kernel, sc: ScanControl, pfn: number): void {
  const mm = k.memmap;
  const anon = (mm.flags[pfn]! & PG_anon) !== 0;
  const exclusive = (mm.flags[pfn]! & PG_anon_exclusive) !== 0;
  const maps = rmapOf(k, sc, pfn);
  for (const r of maps) {
    const lo = read_lo(k, r.pa);
    if (lo & _PAGE_DIRTY) mm.flags[pfn]! |= PG_dirty; // set_page_dirty from the PTE
    const rss = r.vma.vm_mm.rss_stat;
    if (anon) {
      const off = pressure(k).page_private[pfn]!;
      swap_duplicate(k, off);
      const e = swp_entry_to_pte(0, off, exclusive);
      set_entry(k, 'pt', r.pa, 0, 0, r.addr); // ptep_clear_flush
      flush_tlb_page(k, r.vma, r.addr);
      set_entry(k, 'pt', r.pa, e.lo, e.hi, r.addr);
      rss.anon--;
      rss.swapents++;
    } else {
      set_entry(k, 'pt', r.pa, 0, 0, r.addr);
      flush_tlb_page(k, r.vma, r.addr);
      if (mm.flags[pfn]! & PG_shmem) rss.shmem--;
      else rss.file--;
    }
    page_remove_rmap(k, pfn);
    mm.put_page(k, pfn, 'try_to_unmap');
  }
  if (anon) mm.flags[pfn]! &= ~PG_anon_exclusive;
  sc.rmap?.delete(pfn);
}

/**
 * madvise_cold_or_pageout_pte_range (mm/madvise.c) and reclaim_pages: pages mapped only here lose
 * their accessed bit; MADV_COLD moves them to the inactive list, MADV_PAGEOUT reclaims them at
 * once (anon to swap if there is swap, clean file pages dropped). Returns the pages reclaimed.
 */
export function madvise_cold_or_pageout(k: Kernel, vma: VmAreaStruct, start: number, end: number, pageout: boolean): number {
  const fn = pageout ? 'madvise_pageout' : 'madvise_cold';
  enter(k, fn, 'mm/madvise.c');
  const mm = k.memmap;
  const pages: number[] = [];
  let cleared = false;
  for_each_pte(k, vma.vm_mm, start, end, (pa, addr) => {
    const lo = read_lo(k, pa);
    if (!pte_present(lo)) return;
    const page = vm_normal_page(lo, read_hi(k, pa));
    if (page < 0 || mm.mapcount[page] !== 1 || !(mm.flags[page]! & PG_lru) || mm.flags[page]! & (PG_head | PG_tail)) return;
    if (lo & _PAGE_ACCESSED) {
      set_entry(k, 'pt', pa, (lo & ~_PAGE_ACCESSED) >>> 0, read_hi(k, pa), addr); // ptep_test_and_clear_young
      cleared = true;
    }
    if (pageout) pages.push(page);
    else deactivate_page(k, page);
  }, 'skip'); // a THP is left alone (Linux splits a partly covered one)
  if (cleared) flush_tlb_mm_range(k, vma.vm_mm, start, end);
  let freed = 0;
  if (pageout) {
    const sc: ScanControl = { nr_to_reclaim: pages.length, nr_reclaimed: 0, priority: 0, rmap: null, ignore_references: true };
    const st = pressure(k);
    st.in_reclaim = true;
    try {
      for (const pfn of pages) if (shrink_page(k, sc, pfn)) freed++;
    } finally {
      st.in_reclaim = false;
    }
  }
  if (k.machine.trace.enabled) decision(k, fn, pageout ? 'reclaimed' : 'deactivated', `${pageout ? freed : pages.length} of the range's pages`);
  leave(k, fn, String(freed));
  return freed;
}

/** The scenario's `machine:` settings that live in the mm (swapon, THP sysfs, RLIMIT_STACK, stack_guard_gap=). */
export interface MmBootSettings {
  swapPages?: number;
  thp?: ThpEnabled;
  rlimitStack?: number;
  stackGuardGapPages?: number;
  /** The CPU has PKU: setup_pku (CR4.PKE, init_pkru_value). */
  pku?: boolean;
}

/** Apply them after boot, before the first process is created. Throws RangeError on a bad value. */
export function mm_boot_settings(k: Kernel, s: MmBootSettings): void {
  pressure(k); // the allocator's slow path (reclaim, OOM) from the start, not from the first LRU page
  const g = mmglobals(k);
  if (s.rlimitStack !== undefined) g.rlim.stack = s.rlimitStack;
  if (s.stackGuardGapPages !== undefined) g.stack_guard_gap = s.stackGuardGapPages * 4096;
  if (s.thp !== undefined) pressure(k).thp = s.thp;
  if (s.swapPages) swapon(k, s.swapPages);
  if (s.pku) setup_pku(k);
}
