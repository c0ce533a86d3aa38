// The swap cache (mm/swap_state.c, 5.19 and 6.18): pages on their way to or from swap, found by
// their swap entry. A page in the swap cache has PG_swapcache, page->private = the entry, and one
// reference held by the cache; its slot has SWAP_HAS_CACHE. add_to_swap (reclaim) puts an anon
// page there; swapin_readahead reads a page (and its neighbours in the swap area) into it.
// Simplified: readahead is swap_cluster_readahead's aligned window of 2^page_cluster slots (no
// VMA-based readahead, no hit statistics); its extra pages are allocated without reclaim.

import type { Kernel } from '../types.js';
import { decision, enter, leave } from './mmtrace.js';
import { PG_active, PG_dirty, PG_swapbacked, PG_swapcache, PG_uptodate } from './page_alloc.js';
import { add_page_to_lru_list } from './swap.js';
import { get_swap_page, put_swap_page, swap_count, swap_readpage } from './swapfile.js';
import { pressure } from './vmscan.js';

/** page_cluster (vm.page-cluster, default 3): readahead reads 2^3 = 8 slots. */
const PAGE_CLUSTER = 3;

/** lookup_swap_cache: the page for a slot, or -1. */
export function lookup_swap_cache(k: Kernel, off: number): number {
  return pressure(k).swap_cache.get(off) ?? -1;
}

/** add_to_swap_cache: the cache takes a reference; PG_swapcache; page->private = the entry. */
export function add_to_swap_cache(k: Kernel, pfn: number, off: number): void {
  const st = pressure(k);
  st.swap_cache.set(off, pfn);
  st.page_private[pfn] = off;
  k.memmap.flags[pfn]! |= PG_swapcache;
  k.memmap.get_page(pfn);
}

/** add_to_swap (mm/swap_state.c; 6.x folio_alloc_swap + add_to_swap_cache): a slot for an anon page, which becomes dirty. */
export function add_to_swap(k: Kernel, pfn: number): boolean {
  const off = get_swap_page(k);
  if (!off) return false;
  add_to_swap_cache(k, pfn, off);
  k.memmap.flags[pfn]! |= PG_dirty; // "the page must be written to swap before it is freed"
  return true;
}

/** delete_from_swap_cache: drop the cache's reference and SWAP_HAS_CACHE (the page may be freed). */
export function delete_from_swap_cache(k: Kernel, pfn: number): void {
  const st = pressure(k);
  const off = st.page_private[pfn]!;
  st.swap_cache.delete(off);
  st.page_private[pfn] = 0;
  k.memmap.flags[pfn]! &= ~PG_swapcache;
  put_swap_page(k, off);
  k.memmap.put_page(k, pfn, 'delete_from_swap_cache');
}

/**
 * try_to_free_swap (6.x folio_free_swap): a swap-cache page no PTE still refers to by its swap
 * entry (swap count 0) leaves the cache and frees its slot; the page itself stays.
 */
export function try_to_free_swap(k: Kernel, pfn: number): boolean {
  const mm = k.memmap;
  if (!(mm.flags[pfn]! & PG_swapcache)) return false;
  if (swap_count(k, pressure(k).page_private[pfn]!) > 0) return false;
  delete_from_swap_cache(k, pfn);
  mm.flags[pfn]! |= PG_dirty; // the only copy is in memory again
  return true;
}

/**
 * __read_swap_cache_async + swap_readpage: a new page for the slot, in the swap cache and on the
 * inactive anon list, read from swap. -1 if no page could be had. `reclaim` false = GFP_NOWAIT.
 */
function read_swap_cache_async(k: Kernel, off: number, reclaim: boolean): number {
  const pfn = k.memmap.alloc_page(reclaim ? k : null, 'read_swap_cache_async');
  if (pfn < 0) return -1;
  k.memmap.flags[pfn]! |= PG_swapbacked | PG_uptodate;
  k.memmap.flags[pfn]! &= ~PG_active;
  pressure(k).swap!.has_cache[off] = 1; // swapcache_prepare: SWAP_HAS_CACHE
  add_to_swap_cache(k, pfn, off);
  add_page_to_lru_list(k, pfn);
  swap_readpage(k, pfn, off);
  k.memmap.put_page(k, pfn); // the allocation's reference; the cache keeps one
  return pfn;
}

/**
 * swapin_readahead → swap_cluster_readahead: read the aligned window of 2^page_cluster slots
 * around `off` that are in use and not cached (the neighbours without reclaim), then the target.
 * Returns the target page (with a reference for the caller) or -1 (out of memory).
 */
export function swapin_readahead(k: Kernel, off: number): number {
  enter(k, 'swapin_readahead', 'mm/swap_state.c', { offset: '0x' + off.toString(16) });
  const si = pressure(k).swap!;
  const win = 1 << PAGE_CLUSTER;
  const start = Math.max(1, off - (off % win)); // slot 0 is the swap header
  const end = Math.min(si.max, off - (off % win) + win);
  let extra = 0;
  for (let o = start; o < end; o++) {
    if (o === off || si.swap_map[o] === 0 || lookup_swap_cache(k, o) >= 0) continue;
    if (read_swap_cache_async(k, o, false) < 0) break;
    extra++;
  }
  const pfn = read_swap_cache_async(k, off, true);
  if (pfn >= 0) k.memmap.get_page(pfn);
  if (k.machine.trace.enabled) decision(k, 'swapin_readahead', pfn < 0 ? 'no-memory' : 'read', `target + ${extra} readahead page(s)`);
  leave(k, 'swapin_readahead', pfn < 0 ? 'NULL' : '0x' + pfn.toString(16));
  return pfn;
}
