// The write-protect faults of mm/memory.c (5.19 and 6.18): do_wp_page and its reuse-or-copy
// decision (6.x: wp_can_reuse_anon_folio), wp_page_reuse, wp_page_copy, and vm_normal_page. In
// their own module only to keep files small; the functions and trace sources are memory.c's.

import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from '../arch/x86/include/asm/pgtable_types.js';
import { pfn_hi, pte_pfn, read_hi, read_lo, set_entry } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_page } from '../arch/x86/mm/tlb.js';
import {
  FAULT_FLAG_UNSHARE, VM_FAULT_ERROR, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_WRITE, VM_MAYSHARE, VM_SHARED, VM_WRITE, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave, vmFaultName } from './mmtrace.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_shmem } from './page_alloc.js';
import { page_add_new_anon_rmap, page_move_anon_rmap, page_remove_rmap } from './rmap.js';
import { is_regular_file } from '../fs/fs.js';
import { page_mkwrite } from './filemap.js';
import { mk_pte_lo, vmf_anon_prepare, type VmFault, type WpPageReason } from './memory.js';

const SRC = 'mm/memory.c';

/** vm_normal_page: the struct page behind a PTE, or -1 for special PFNs (the zero page). */
export function vm_normal_page(lo: number, hi: number): number {
  return lo & _PAGE_SPECIAL ? -1 : pte_pfn(lo, hi);
}

/** do_wp_page: a write to a present read-only PTE: reuse the page if this mapping is its only user, else copy. */
export function do_wp_page(k: Kernel, vmf: VmFault): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'do_wp_page', SRC);
  const vma = vmf.vma;
  const mm = k.memmap;
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const page = vm_normal_page(vmf.orig_lo, vmf.orig_hi);
  const sharedWritable = (vma.vm_flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED);
  const sharedVma = k.features.folios ? (vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) !== 0 : sharedWritable;
  let why: WpPageReason;
  let ret: number;
  if (page < 0 && sharedVma) {
    why = 'shared-pfn';
    ret = wp_page_reuse(k, vmf, -1);
  } else if (page < 0) {
    why = unshare ? 'unshare-noop' : 'zero-page-copy';
    ret = unshare ? 0 : wp_page_copy(k, vmf, -1);
  } else if (!(mm.flags[page]! & PG_anon) && sharedVma && is_regular_file(vma.vm_file)) {
    why = 'shared-page-mkwrite'; // wp_page_shared → do_page_mkwrite, then finish_mkwrite_fault → wp_page_reuse
    const m = page_mkwrite(k, vma.vm_file, vmf.pgoff, page);
    ret = m & (VM_FAULT_ERROR | VM_FAULT_NOPAGE) ? m : wp_page_reuse(k, vmf, page);
  } else if (!(mm.flags[page]! & PG_anon) && sharedVma) {
    why = 'shared-reuse'; // wp_page_shared: shmem has no page_mkwrite
    mm.flags[page]! |= PG_dirty;
    ret = wp_page_reuse(k, vmf, page);
  } else if ((mm.flags[page]! & PG_anon) && (mm.flags[page]! & PG_anon_exclusive)) {
    why = 'anon-exclusive-reuse';
    ret = unshare ? 0 : wp_page_reuse(k, vmf, page);
  } else if ((mm.flags[page]! & PG_anon) && wp_can_reuse_anon_page(k, page, vma)) {
    why = 'anon-refcount-reuse';
    ret = unshare ? 0 : wp_page_reuse(k, vmf, page);
  } else {
    why = mm.flags[page]! & PG_anon ? 'anon-shared-copy' : 'page-cache-copy';
    mm.get_page(page);
    ret = wp_page_copy(k, vmf, page);
  }
  if (tr) {
    decision(k, 'do_wp_page', why);
    leave(k, 'do_wp_page', vmFaultName(ret));
  }
  return ret;
}

/**
 * The refcount test for a non-exclusive anon page (5.19 inline in do_wp_page; 6.x
 * wp_can_reuse_anon_folio): no KSM, refcount 1 (no swap cache) → page_move_anon_rmap, reuse.
 */
function wp_can_reuse_anon_page(k: Kernel, page: number, vma: VmAreaStruct): boolean {
  const fn = k.features.folios ? 'wp_can_reuse_anon_folio' : 'do_wp_page';
  const ref = k.memmap.refcount[page]!;
  if (ref > 3) {
    decision(k, fn, 'refcount-above-3');
    return false;
  }
  if (ref !== 1) {
    if (k.machine.trace.enabled) decision(k, fn, 'refcount-not-1', `refcount ${ref}`);
    return false;
  }
  page_move_anon_rmap(k, page, vma);
  return true;
}

/** wp_page_reuse: make the PTE young, dirty and (if VM_WRITE) writable in place; count PGREUSE. No flush: an upgrade. */
function wp_page_reuse(k: Kernel, vmf: VmFault, _page: number): number {
  enter(k, 'wp_page_reuse', SRC);
  let lo = vmf.orig_lo | _PAGE_ACCESSED | _PAGE_DIRTY;
  if (vmf.vma.vm_flags & VM_WRITE) lo |= _PAGE_RW; // maybe_mkwrite
  set_entry(k, 'pt', vmf.ptePa, lo >>> 0, vmf.orig_hi, vmf.address);
  k.vmstat.pgreuse++;
  leave(k, 'wp_page_reuse');
  return k.features.folios ? 0 : VM_FAULT_WRITE;
}

/**
 * wp_page_copy: a new page (zeroed if the old PTE was the zero page, else a copy), mapped
 * writable after clearing and flushing the old PTE (ptep_clear_flush_notify). The old page loses
 * this mapping and the reference do_wp_page took.
 */
function wp_page_copy(k: Kernel, vmf: VmFault, old: number): number {
  enter(k, 'wp_page_copy', SRC);
  const vma = vmf.vma;
  const mm = k.memmap;
  if (vmf_anon_prepare(k, vmf) !== 0) return copyFail(k, old);
  const pfn = mm.alloc_page(k, old < 0 ? 'alloc_zeroed_user_highpage_movable' : 'alloc_page_vma');
  if (pfn < 0) return copyFail(k, old);
  if (read_lo(k, vmf.ptePa) !== vmf.orig_lo || read_hi(k, vmf.ptePa) !== vmf.orig_hi) {
    // !pte_same after re-taking the PTL: the allocation's reclaim swapped the old page out. Let go; the access re-faults.
    decision(k, 'wp_page_copy', 'pte-changed');
    mm.put_page(k, pfn, 'wp_page_copy');
    if (old >= 0) mm.put_page(k, old, 'wp_page_copy');
    leave(k, 'wp_page_copy', '0');
    return 0;
  }
  if (old >= 0) k.machine.mem.copyFrame(old, pfn); // __wp_page_copy_user → copy_user_highpage
  const rss = vma.vm_mm.rss_stat;
  if (old < 0) rss.anon++;
  else if (!(mm.flags[old]! & PG_anon)) { // mm_counter_file(old)--
    if (mm.flags[old]! & PG_shmem) rss.shmem--;
    else rss.file--;
    rss.anon++;
  }
  const prot = vma.vm_page_prot;
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const lo = mk_pte_lo(pfn, prot.lo, false) | (unshare ? 0 : _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0));
  // ptep_clear_flush_notify: clear, then flush the stale read-only translation.
  set_entry(k, 'pt', vmf.ptePa, 0, 0, vmf.address);
  flush_tlb_page(k, vma, vmf.address);
  page_add_new_anon_rmap(k, pfn, vma);
  set_entry(k, 'pt', vmf.ptePa, lo >>> 0, pfn_hi(pfn) | prot.hi, vmf.address);
  if (old >= 0) {
    page_remove_rmap(k, old);
    mm.put_page(k, old, 'wp_page_copy'); // the old PTE's reference
    mm.put_page(k, old, 'wp_page_copy'); // the reference do_wp_page took
  }
  const ret = k.features.folios ? 0 : VM_FAULT_WRITE;
  leave(k, 'wp_page_copy', vmFaultName(ret));
  return ret;
}

function copyFail(k: Kernel, old: number): number {
  if (old >= 0) k.memmap.put_page(k, old);
  leave(k, 'wp_page_copy', 'VM_FAULT_OOM');
  return VM_FAULT_OOM;
}
