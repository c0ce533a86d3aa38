// Reverse-map bookkeeping (mm/rmap.c, include/linux/rmap.h): anon_vma creation and fork chains,
// and the mapcount / PageAnon / PageAnonExclusive updates when anon pages are mapped, shared at
// fork and unmapped. 6.x names the page operations on folios (folio_add_new_anon_rmap, ...).
// Simplified: an anon_vma_chain is an array; no interval tree, no rmap walks (no reclaim).

import {
  VM_ACCESS_FLAGS, VM_LOCKED, VM_SOFTDIRTY, type AnonVma, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { mmglobals } from './mm_init.js';
import { enter, leave } from './mmtrace.js';
import { PG_anon, PG_anon_exclusive, PG_swapbacked, PG_uptodate } from './page_alloc.js';
import { lru_cache_add_inactive_or_unevictable } from './swap.js';
import { vma_next, vma_prev } from './vma.js';

function new_anon_vma(k: Kernel, parent: AnonVma | null): AnonVma {
  const id = ++mmglobals(k).last_anon_vma_id;
  return { id, root: parent ? (parent.root ?? parent) : null, parent, refcount: 0 };
}

function chain(vma: VmAreaStruct, av: AnonVma): void {
  vma.anon_vma_chain.push(av);
  av.refcount++;
}

/** anon_vma_compatible + reusable_anon_vma: may `vma` share `other`'s anon_vma? */
function reusable(a: VmAreaStruct, b: VmAreaStruct, other: VmAreaStruct): AnonVma | null {
  const ign = VM_ACCESS_FLAGS | VM_SOFTDIRTY;
  const adjacent = a.vm_end === b.vm_start && a.vm_pgoff + (a.vm_end - a.vm_start) / 4096 === b.vm_pgoff;
  if (!adjacent || a.vm_file !== b.vm_file || ((a.vm_flags ^ b.vm_flags) & ~ign) !== 0) return null;
  return other.anon_vma && other.anon_vma_chain.length === 1 ? other.anon_vma : null;
}

/** find_mergeable_anon_vma: a neighbour's anon_vma this VMA could share (so they can merge later). */
function find_mergeable_anon_vma(vma: VmAreaStruct): AnonVma | null {
  const mm = vma.vm_mm;
  const next = vma_next(mm, vma);
  if (next) {
    const av = reusable(vma, next, next);
    if (av) return av;
  }
  const prev = vma_prev(mm, vma);
  return prev ? reusable(prev, vma, prev) : null;
}

/** anon_vma_prepare / __anon_vma_prepare: give the VMA an anon_vma before its first anon page. 0, or -ENOMEM. */
export function anon_vma_prepare(k: Kernel, vma: VmAreaStruct): number {
  if (vma.anon_vma) return 0;
  enter(k, '__anon_vma_prepare', 'mm/rmap.c');
  const av = find_mergeable_anon_vma(vma) ?? new_anon_vma(k, null);
  vma.anon_vma = av;
  chain(vma, av);
  if (k.machine.trace.enabled) leave(k, '__anon_vma_prepare', `anon_vma ${av.id}`);
  return 0;
}

/** anon_vma_clone: `dst` (a split or merged piece) joins every anon_vma of `src`. */
export function anon_vma_clone(dst: VmAreaStruct, src: VmAreaStruct): void {
  for (const av of src.anon_vma_chain) chain(dst, av);
  dst.anon_vma = src.anon_vma;
}

/** anon_vma_fork: the child VMA joins the parent's anon_vmas and gets its own, whose parent is the parent's. */
export function anon_vma_fork(k: Kernel, child: VmAreaStruct, parent: VmAreaStruct): void {
  if (!parent.anon_vma) return;
  anon_vma_clone(child, parent);
  const av = new_anon_vma(k, parent.anon_vma);
  child.anon_vma = av;
  chain(child, av);
}

/** unlink_anon_vmas: drop the VMA's chain. */
export function unlink_anon_vmas(_k: Kernel, vma: VmAreaStruct): void {
  for (const av of vma.anon_vma_chain) av.refcount--;
  vma.anon_vma_chain = [];
  vma.anon_vma = null;
}

const rmapName = (k: Kernel, old: string, folio: string): string => (k.features.folios ? folio : old);

/**
 * page_add_new_anon_rmap / folio_add_new_anon_rmap: first mapping of a new anon page, exclusive to
 * this VMA. Every caller then puts the page on the LRU (lru_cache_add_inactive_or_unevictable /
 * folio_add_lru_vma); the model does that here, once for all of them.
 */
export function page_add_new_anon_rmap(k: Kernel, pfn: number, vma: VmAreaStruct): void {
  const fn = rmapName(k, 'page_add_new_anon_rmap', 'folio_add_new_anon_rmap');
  enter(k, fn, 'mm/rmap.c');
  const mm = k.memmap;
  mm.mapcount[pfn] = 1;
  mm.flags[pfn]! |= PG_anon | PG_anon_exclusive | PG_swapbacked | PG_uptodate;
  mm.anon_vma[pfn] = vma.anon_vma!.id;
  lru_cache_add_inactive_or_unevictable(k, pfn, (vma.vm_flags & VM_LOCKED) !== 0);
  leave(k, fn);
}

/** page_add_file_rmap / folio_add_file_rmap_pte: a shmem page gets mapped once more. */
export function page_add_file_rmap(k: Kernel, pfn: number): void {
  k.memmap.mapcount[pfn]!++;
}

/**
 * page_try_dup_anon_rmap / folio_try_dup_anon_rmap_pte (fork): the page becomes shared, so it is no
 * longer exclusive. Returns false when the page may be pinned (the caller copies it at once); the
 * model has no GUP pins, so it always succeeds.
 */
export function page_try_dup_anon_rmap(k: Kernel, pfn: number): boolean {
  const mm = k.memmap;
  mm.flags[pfn]! &= ~PG_anon_exclusive;
  mm.mapcount[pfn]!++;
  return true;
}

/** page_dup_file_rmap: fork of a file/shmem PTE. */
export function page_dup_file_rmap(k: Kernel, pfn: number): void {
  k.memmap.mapcount[pfn]!++;
}

/** page_remove_rmap / folio_remove_rmap_pte: one mapping fewer. */
export function page_remove_rmap(k: Kernel, pfn: number): void {
  const mm = k.memmap;
  const m = --mm.mapcount[pfn]!;
  if (m < 0) throw new Error(`page_remove_rmap: pfn ${pfn} mapcount underflow`);
  // An unmapped anon page is no longer exclusive to anyone; the flag is cleared when it is freed.
}

/** page_move_anon_rmap / folio_move_anon_rmap: the sole owner's page joins its VMA's anon_vma, exclusive again. */
export function page_move_anon_rmap(k: Kernel, pfn: number, vma: VmAreaStruct): void {
  const fn = rmapName(k, 'page_move_anon_rmap', 'folio_move_anon_rmap');
  enter(k, fn, 'mm/rmap.c');
  k.memmap.anon_vma[pfn] = vma.anon_vma!.id;
  k.memmap.flags[pfn]! |= PG_anon_exclusive;
  leave(k, fn);
}
