// struct page as a side table keyed by PFN (include/linux/mm_types.h, include/linux/page-flags.h)
// and the page allocator over the machine's RAM (mm/page_alloc.c, 5.19 and 6.18). Simplified: one
// zone, no buddy merging; freed frames go on a LIFO free list (the per-CPU lists are LIFO too, so
// a frame freed by munmap comes straight back, as on the host), fresh frames come from a bump
// pointer. Order-1 blocks (the PTI PGD pair) are 2-frame aligned. Pages are zeroed at allocation.

import { hex } from '../../../trace/events.js';
import type { Machine } from '../../../hw/machine.js';
import type { Kernel } from '../types.js';

// page->flags bits the model uses (enum pageflags; PageAnon is really page->mapping's low bit,
// PageAnonExclusive is PG_anon_exclusive (5.19: PG_mappedtodisk's alias), PG_buddy a page type).
export const PG_reserved = 1 << 0;
export const PG_anon = 1 << 1;
export const PG_anon_exclusive = 1 << 2;
export const PG_table = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_swapbacked = 1 << 5;
export const PG_uptodate = 1 << 6;
export const PG_dirty = 1 << 7;
export const PG_mlocked = 1 << 8;
export const PG_shmem = 1 << 9;
export const PG_buddy = 1 << 10;
// Memory pressure (mm/swap.c, mm/vmscan.c, mm/swap_state.c, mm/huge_memory.c): the LRU list a page
// is on (PG_active, PG_unevictable), the swap cache (PG_swapcache, page->private = the swp entry),
// and a THP's head page (PG_head; its 511 tails are PG_tail).
export const PG_active = 1 << 11;
export const PG_swapcache = 1 << 12;
export const PG_unevictable = 1 << 13;
export const PG_head = 1 << 14;
export const PG_tail = 1 << 15;

const FLAG_NAMES: [number, string][] = [
  [PG_reserved, 'reserved'], [PG_anon, 'anon'], [PG_anon_exclusive, 'anon_exclusive'], [PG_table, 'table'],
  [PG_lru, 'lru'], [PG_swapbacked, 'swapbacked'], [PG_uptodate, 'uptodate'], [PG_dirty, 'dirty'],
  [PG_mlocked, 'mlocked'], [PG_shmem, 'shmem'], [PG_buddy, 'buddy'],
  [PG_active, 'active'], [PG_swapcache, 'swapcache'], [PG_unevictable, 'unevictable'], [PG_head, 'head'], [PG_tail, 'tail'],
];

/** A snapshot of one struct page, for tests and displays. */
export interface PageState {
  pfn: number;
  refcount: number;
  mapcount: number;
  flags: string[];
  /** page->mapping's anon_vma id for an anon page, else 0. */
  anon_vma: number;
}

export class MemMap {
  readonly machine: Machine;
  readonly totalPages: number;
  /** page_ref_count(): _refcount. */
  readonly refcount: Int32Array;
  /** page_mapcount(): _mapcount + 1 (0 = not mapped). */
  readonly mapcount: Int32Array;
  readonly flags: Uint32Array;
  /** page->mapping for anon pages: the anon_vma id (0 = none). */
  readonly anon_vma: Int32Array;
  private readonly freeList: number[] = [];
  private bump = 1; // PFN 0 is reserved (the BIOS page; Linux never hands it out)
  /** Pages currently allocated (not counting reserved PFN 0). */
  allocated = 0;
  /**
   * __alloc_pages_slowpath, installed by mm/vmscan.ts: direct reclaim, then the OOM killer, when
   * the free list is empty. True if it freed something (the allocation is tried again).
   * An allocation with `k === null` (boot, GFP_NOWAIT readahead) never enters it.
   */
  slowpath: ((k: Kernel, why: string) => boolean) | null = null;
  /** Installed by mm/swap.ts: take a PG_lru page off its LRU list as its last reference goes (__page_cache_release). */
  lru_release: ((pfn: number) => void) | null = null;

  constructor(machine: Machine, totalPages: number) {
    if (!Number.isInteger(totalPages) || totalPages < 16) throw new RangeError(`MemMap: totalPages must be an integer >= 16, got ${totalPages}`);
    this.machine = machine;
    this.totalPages = totalPages;
    this.refcount = new Int32Array(totalPages);
    this.mapcount = new Int32Array(totalPages);
    this.flags = new Uint32Array(totalPages);
    this.anon_vma = new Int32Array(totalPages);
    this.flags[0] = PG_reserved;
    this.refcount[0] = 1;
  }

  /** Free pages left (free list plus never-used frames). */
  get nr_free(): number {
    return this.freeList.length + (this.totalPages - this.bump);
  }

  /** alloc_page(GFP_KERNEL|__GFP_ZERO): a zeroed frame with refcount 1, or -1 when out of memory. */
  alloc_page(k: Kernel | null, why: string): number {
    let pfn: number;
    if (this.freeList.length) pfn = this.freeList.pop()!;
    else if (this.bump < this.totalPages) pfn = this.bump++;
    else if (k !== null && this.slowpath !== null && this.slowpath(k, why)) return this.alloc_page(k, why);
    else return -1;
    this.prep(pfn, why);
    return pfn;
  }

  /**
   * alloc_pages(order 9) for a THP (mm/huge_memory.c): 512 contiguous frames, 2 MiB aligned, from
   * the never-used frames, else any fully free aligned block (no buddy allocator: a linear search).
   * No reclaim or compaction: -1 makes the caller fall back to 4 KiB pages.
   */
  alloc_pages_thp(why: string): number {
    const n = 512;
    let base = -1;
    const aligned = Math.ceil(this.bump / n) * n;
    if (aligned + n <= this.totalPages) {
      for (let p = this.bump; p < aligned; p++) this.freeList.unshift(p); // the skipped frames, used last
      this.bump = aligned + n;
      base = aligned;
    } else {
      for (let b = n; b + n <= this.bump && base < 0; b += n) {
        let free = true;
        for (let p = b; p < b + n && free; p++) free = (this.flags[p]! & PG_buddy) !== 0;
        if (free) base = b;
      }
      if (base < 0) return -1;
      const inBlock = (p: number): boolean => p >= base && p < base + n;
      const keep = this.freeList.filter((p) => !inBlock(p));
      this.freeList.length = 0;
      this.freeList.push(...keep);
    }
    for (let p = base; p < base + n; p++) this.prep(p, why);
    return base;
  }

  /** alloc_pages(order): 2^order contiguous, aligned frames (order 0 or 1), or -1. */
  alloc_pages(k: Kernel | null, order: 0 | 1, why: string): number {
    if (order === 0) return this.alloc_page(k, why);
    if (this.bump % 2) this.freeList.unshift(this.bump++); // keep the odd frame, used last
    let pfn: number;
    if (this.bump + 2 <= this.totalPages) {
      pfn = this.bump;
      this.bump += 2;
    } else {
      pfn = this.take_free_pair();
      if (pfn < 0) return k !== null && this.slowpath !== null && this.slowpath(k, why) ? this.alloc_pages(k, order, why) : -1;
    }
    this.prep(pfn, why);
    this.prep(pfn + 1, why);
    return pfn;
  }

  /** An aligned pair of free frames taken off the free list (what the buddy allocator would merge), or -1. */
  private take_free_pair(): number {
    const free = new Set(this.freeList);
    const pfn = this.freeList.find((p) => p % 2 === 0 && free.has(p + 1)) ?? -1;
    if (pfn >= 0) {
      this.freeList.splice(this.freeList.indexOf(pfn), 1);
      this.freeList.splice(this.freeList.indexOf(pfn + 1), 1);
    }
    return pfn;
  }

  private prep(pfn: number, why: string): void {
    this.refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.flags[pfn] = 0;
    this.anon_vma[pfn] = 0;
    this.allocated++;
    this.machine.mem.zeroFrame(pfn);
    if (this.machine.trace.enabled) this.machine.trace.emit({ ev: 'frame', what: 'alloc', pfn: hex(pfn), why });
  }

  /** __free_pages: return a frame (refcount must have dropped to zero, or be 1 for a direct free). */
  free_page(_k: Kernel | null, pfn: number, why: string): void {
    if (this.flags[pfn]! & (PG_reserved | PG_buddy)) throw new Error(`free_page: pfn ${hex(pfn)} is ${this.flags[pfn]! & PG_buddy ? 'already free' : 'reserved'}`);
    if (this.mapcount[pfn]! > 0) throw new Error(`free_page: pfn ${hex(pfn)} is still mapped (mapcount ${this.mapcount[pfn]})`);
    if (this.flags[pfn]! & PG_lru && this.lru_release) this.lru_release(pfn);
    this.refcount[pfn] = 0;
    this.flags[pfn] = PG_buddy;
    this.anon_vma[pfn] = 0;
    this.allocated--;
    this.freeList.push(pfn);
    if (this.machine.trace.enabled) this.machine.trace.emit({ ev: 'frame', what: 'free', pfn: hex(pfn), why });
  }

  /** get_page: take a reference. */
  get_page(pfn: number): void {
    if (this.refcount[pfn]! <= 0) throw new Error(`get_page: pfn ${hex(pfn)} has refcount ${this.refcount[pfn]}`);
    this.refcount[pfn]!++;
  }

  /** put_page: drop a reference; the last one frees the frame (reserved pages are never freed). */
  put_page(k: Kernel | null, pfn: number, why = 'put_page'): void {
    const f = this.flags[pfn]!;
    if (f & PG_reserved) return;
    const r = --this.refcount[pfn]!;
    if (r < 0) throw new Error(`put_page: pfn ${hex(pfn)} refcount underflow`);
    if (r === 0) this.free_page(k, pfn, why);
  }

  /** Mark a frame the boot code owns as PG_reserved (kernel image, page tables built at boot). */
  reserve(pfn: number): void {
    this.flags[pfn] = (this.flags[pfn]! & ~PG_buddy) | PG_reserved;
    if (this.refcount[pfn] === 0) this.refcount[pfn] = 1;
  }

  isFree(pfn: number): boolean {
    return (this.flags[pfn]! & PG_buddy) !== 0 || (pfn >= this.bump && pfn < this.totalPages);
  }

  page(pfn: number): PageState {
    const f = this.flags[pfn]!;
    return {
      pfn, refcount: this.refcount[pfn]!, mapcount: this.mapcount[pfn]!, anon_vma: this.anon_vma[pfn]!,
      flags: FLAG_NAMES.filter(([b]) => f & b).map(([, n]) => n),
    };
  }
}

/** The shared zero page (`empty_zero_page`, arch/x86/kernel/head_64.S; `zero_pfn`, mm/memory.c): a reserved, zero-filled frame. */
export function setup_zero_page(memmap: MemMap): number {
  const pfn = memmap.alloc_page(null, 'empty_zero_page');
  if (pfn < 0) throw new Error('setup_zero_page: no memory');
  memmap.reserve(pfn);
  return pfn;
}
