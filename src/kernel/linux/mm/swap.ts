// The LRU lists (mm/swap.c, include/linux/mm_inline.h, include/linux/mmzone.h enum lru_list;
// 5.19 and 6.18): every user page sits on one of inactive/active anon, inactive/active file or
// unevictable, in the one lruvec of the one node. New anon pages join the inactive anon list
// (lru_cache_add_inactive_or_unevictable), page-cache pages the inactive file list
// (lru_cache_add / folio_add_lru); mark_page_accessed promotes on the second touch.
// Simplified: no per-CPU lru_add batches for anon pages (they join at once: the `lru_add_drain` that do_wp_page
// does is a no-op), no MGLRU (6.1+ CONFIG_LRU_GEN, off by default), no memcg lruvecs.
// Lists are doubly linked through two Int32Arrays keyed by PFN; the head is the newest page.

import type { Kernel } from '../types.js';
import { decision } from './mmtrace.js';
import { PG_active, PG_anon, PG_lru, PG_mlocked, PG_swapbacked, PG_unevictable } from './page_alloc.js';
import { pressure } from './vmscan.js';

/** enum lru_list. */
export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const LRU_UNEVICTABLE = 4;
export const NR_LRU_LISTS = 5;
export const LRU_NAMES = ['inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'] as const;

/** struct lruvec: the five lists. */
export class Lruvec {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Which list a PFN is on, or -1. */
  readonly on: Int8Array;
  /** Newest (head) and oldest (tail) PFN per list, -1 when empty. */
  readonly head = new Int32Array(NR_LRU_LISTS).fill(-1);
  readonly tail = new Int32Array(NR_LRU_LISTS).fill(-1);
  readonly size = new Int32Array(NR_LRU_LISTS);

  constructor(totalPages: number) {
    this.next = new Int32Array(totalPages).fill(-1);
    this.prev = new Int32Array(totalPages).fill(-1);
    this.on = new Int8Array(totalPages).fill(-1);
  }

  /** list_add: at the head (newest). */
  add(pfn: number, lru: number): void {
    if (this.on[pfn] !== -1) this.del(pfn);
    const h = this.head[lru]!;
    this.next[pfn] = h;
    this.prev[pfn] = -1;
    if (h >= 0) this.prev[h] = pfn;
    else this.tail[lru] = pfn;
    this.head[lru] = pfn;
    this.on[pfn] = lru;
    this.size[lru]!++;
  }

  /** list_del. */
  del(pfn: number): void {
    const lru = this.on[pfn]!;
    if (lru < 0) return;
    const n = this.next[pfn]!;
    const p = this.prev[pfn]!;
    if (p >= 0) this.next[p] = n;
    else this.head[lru] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail[lru] = p;
    this.next[pfn] = this.prev[pfn] = -1;
    this.on[pfn] = -1;
    this.size[lru]!--;
  }

  /** The oldest `n` pages of a list, oldest first (isolate_lru_pages takes from the tail). */
  oldest(lru: number, n: number): number[] {
    const out: number[] = [];
    for (let p = this.tail[lru]!; p >= 0 && out.length < n; p = this.prev[p]!) out.push(p);
    return out;
  }
}

/** page_lru: the list a page belongs on from its flags. */
export function page_lru(flags: number): number {
  if (flags & (PG_unevictable | PG_mlocked)) return LRU_UNEVICTABLE;
  const file = !(flags & PG_swapbacked);
  return (file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON) + (flags & PG_active ? 1 : 0);
}

/** add_page_to_lru_list / lruvec_add_folio: PG_lru set, on the list its flags say. */
export function add_page_to_lru_list(k: Kernel, pfn: number): void {
  const mm = k.memmap;
  mm.flags[pfn]! |= PG_lru;
  pressure(k).lru.add(pfn, page_lru(mm.flags[pfn]!));
}

/**
 * lru_cache_add_inactive_or_unevictable (5.19) / folio_add_lru_vma (6.x): a new anon page joins
 * the inactive anon list (unevictable in a VM_LOCKED VMA).
 */
export function lru_cache_add_inactive_or_unevictable(k: Kernel, pfn: number, locked: boolean): void {
  const mm = k.memmap;
  mm.flags[pfn]! &= ~PG_active;
  if (locked) mm.flags[pfn]! |= PG_unevictable;
  add_page_to_lru_list(k, pfn);
}

/** lru_cache_add (5.19) / folio_add_lru (6.x): a new page-cache page joins the inactive file list. */
export function folio_add_lru(k: Kernel, pfn: number): void {
  k.memmap.flags[pfn]! &= ~PG_active;
  add_page_to_lru_list(k, pfn);
}
export const lru_cache_add = folio_add_lru;

/**
 * mark_page_accessed / folio_mark_accessed: the first touch of an inactive page sets
 * PG_referenced (kept here as "referenced once" in the pressure state), the second activates it.
 */
export function mark_page_accessed(k: Kernel, pfn: number): void {
  const st = pressure(k);
  const mm = k.memmap;
  if (!(mm.flags[pfn]! & PG_lru) || mm.flags[pfn]! & PG_active) return;
  if (!st.referenced[pfn]) {
    st.referenced[pfn] = 1;
    return;
  }
  st.referenced[pfn] = 0;
  activate_page(k, pfn);
}

/** activate_page / folio_activate: move to the active list of its kind. */
export function activate_page(k: Kernel, pfn: number): void {
  const mm = k.memmap;
  if (mm.flags[pfn]! & PG_active) return;
  mm.flags[pfn]! |= PG_active;
  pressure(k).stat.pgactivate++;
  add_page_to_lru_list(k, pfn);
}

/** deactivate: back to the inactive list of its kind (shrink_active_list's move). */
export function deactivate_page(k: Kernel, pfn: number): void {
  const mm = k.memmap;
  mm.flags[pfn]! &= ~PG_active;
  pressure(k).stat.pgdeactivate++;
  add_page_to_lru_list(k, pfn);
}

/** putback_lru_page into the unevictable list (an mlocked page found by reclaim). */
export function move_to_unevictable(k: Kernel, pfn: number): void {
  k.memmap.flags[pfn]! |= PG_unevictable;
  add_page_to_lru_list(k, pfn);
  decision(k, 'shrink_page_list', 'mlocked-unevictable');
}

/**
 * lru_add_drain: pages handed to the LRU in a per-CPU batch join their list now. In the model the
 * page cache (fs/fs.ts add_to_page_cache) marks its pages PG_lru without a list; they join the
 * inactive file list here, before reclaim looks at the lists.
 */
export function lru_add_drain(k: Kernel): void {
  const st = pressure(k);
  const mm = k.memmap;
  for (let pfn = 1; pfn < mm.totalPages; pfn++) {
    if (mm.flags[pfn]! & PG_lru && st.lru.on[pfn] === -1 && !mm.isFree(pfn)) st.lru.add(pfn, page_lru(mm.flags[pfn]!));
  }
}

/** Whether a page counts as anon for the LRU (PageSwapBacked && PageAnon). */
export const page_is_anon = (flags: number): boolean => (flags & PG_anon) !== 0;
