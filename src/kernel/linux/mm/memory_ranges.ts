// The range walks of mm/memory.c (5.19 and 6.18): unmap_page_range → zap_pte_range (munmap,
// MADV_DONTNEED, exit) with an mmu_gather that flushes the TLB before the pages are freed
// (tlb_finish_mmu), and copy_page_range → copy_present_pte (fork). 6.x names: zap_present_ptes,
// copy_present_ptes, folio_try_dup_anon_rmap_pte. Simplified: no swap entries, no batching limit.

import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_RW } from '../arch/x86/include/asm/pgtable_types.js';
import { for_each_pte, pte_none, pte_present, read_hi, read_lo, set_entry, walk_alloc, pte_alloc, PMD_SIZE, walk_existing } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_mm_range } from '../arch/x86/mm/tlb.js';
import { VM_SHARED, type MmStruct, type VmAreaStruct } from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave, srcOf } from './mmtrace.js';
import { PG_anon, PG_shmem } from './page_alloc.js';
import { page_dup_file_rmap, page_remove_rmap, page_try_dup_anon_rmap } from './rmap.js';
import { vm_normal_page } from './memory.js';
import { is_cow_mapping } from './vma.js';
import { copy_swap_pte, zap_swap_pte } from './swap_fault.js';
import { copy_huge_pmd, pmd_trans_huge, zap_huge_pmd } from './huge_memory.js';

/** struct mmu_gather, reduced: the range whose PTEs were cleared and the pages to free after the flush. */
export interface MmuGather {
  readonly mm: MmStruct;
  readonly fullmm: boolean;
  start: number;
  end: number;
  pages: number[];
}

export function tlb_gather_mmu(mm: MmStruct, fullmm = false): MmuGather {
  return { mm, fullmm, start: Infinity, end: 0, pages: [] };
}

/** tlb_finish_mmu: flush the gathered range (or the whole mm), then free the gathered pages. */
export function tlb_finish_mmu(k: Kernel, tlb: MmuGather): void {
  if (tlb.end > tlb.start) {
    if (tlb.fullmm) flush_tlb_mm_range(k, tlb.mm, 0, -1);
    else flush_tlb_mm_range(k, tlb.mm, tlb.start, tlb.end);
  }
  for (const pfn of tlb.pages) k.memmap.put_page(k, pfn, 'tlb_finish_mmu');
  tlb.pages = [];
  tlb.start = Infinity;
  tlb.end = 0;
}

/** zap_pte_range over [start, end) of `vma`: clear present PTEs, drop RSS and rmap, gather the pages. */
export function unmap_page_range(k: Kernel, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): void {
  enter(k, 'unmap_page_range', 'mm/memory.c');
  const mm = vma.vm_mm;
  const mem = k.memmap;
  let zapped = 0;
  // zap_pmd_range: a huge PMD wholly inside [start, end) goes as one (zap_huge_pmd); a partly covered one is split by for_each_pte.
  for (let h = Math.ceil(start / PMD_SIZE) * PMD_SIZE; h + PMD_SIZE <= end; h += PMD_SIZE) {
    const pmdPa = walk_existing(k, mm, h, 2);
    if (pmdPa < 0 || !pmd_trans_huge(read_lo(k, pmdPa))) continue;
    tlb.pages.push(...zap_huge_pmd(k, mm, pmdPa, h));
    if (h < tlb.start) tlb.start = h;
    if (h + PMD_SIZE > tlb.end) tlb.end = h + PMD_SIZE;
    zapped += 512;
  }
  for_each_pte(k, mm, start, end, (pa, addr) => {
    const lo = read_lo(k, pa);
    const hi = read_hi(k, pa);
    if (pte_none(lo, hi)) return;
    if (!pte_present(lo)) { // a swap entry
      set_entry(k, 'pt', pa, 0, 0, addr); // pte_clear_not_present_full
      zap_swap_pte(k, mm, lo, hi);
      return;
    }
    set_entry(k, 'pt', pa, 0, 0, addr); // ptep_get_and_clear_full
    if (addr < tlb.start) tlb.start = addr; // tlb_remove_tlb_entry
    if (addr + 4096 > tlb.end) tlb.end = addr + 4096;
    zapped++;
    const page = vm_normal_page(lo, hi);
    if (page < 0) return; // the zero page
    if (mem.flags[page]! & PG_anon) mm.rss_stat.anon--;
    else if (mem.flags[page]! & PG_shmem) mm.rss_stat.shmem--; // mm_counter_file
    else mm.rss_stat.file--;
    page_remove_rmap(k, page);
    tlb.pages.push(page); // __tlb_remove_page: freed after the flush
  });
  if (k.machine.trace.enabled) decision(k, 'unmap_page_range', zapped ? 'ptes-zapped' : 'nothing-mapped', `${zapped} PTEs`);
  leave(k, 'unmap_page_range');
}

/** zap_page_range (5.19) / zap_page_range_single (6.x): unmap and flush one range of one VMA. */
export function zap_page_range(k: Kernel, vma: VmAreaStruct, start: number, end: number): void {
  const fn = k.features.folios ? 'zap_page_range_single' : 'zap_page_range';
  enter(k, fn, 'mm/memory.c');
  const tlb = tlb_gather_mmu(vma.vm_mm);
  unmap_page_range(k, tlb, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end));
  tlb_finish_mmu(k, tlb);
  leave(k, fn);
}

/** vma_needs_copy (kernel/fork.c 5.19 / mm/memory.c): copy PTEs only for VMAs that may hold anon pages. */
export function vma_needs_copy(dst: VmAreaStruct, src: VmAreaStruct): boolean {
  void dst; // uffd-wp destination: not modelled
  return src.anon_vma !== null;
}

/**
 * copy_page_range → copy_pte_range → copy_present_pte: the child gets each present PTE; anon pages
 * become shared (not exclusive); a COW mapping's writable PTE is write-protected in both; a shared
 * mapping's child PTE is clean; the child's PTE is old. Returns 0 or -ENOMEM.
 */
export function copy_page_range(k: Kernel, dst: VmAreaStruct, src: VmAreaStruct): number {
  enter(k, 'copy_page_range', srcOf(k, 'mm/memory.c'));
  if (!vma_needs_copy(dst, src)) {
    decision(k, 'copy_page_range', 'no-anon-vma');
    leave(k, 'copy_page_range', '0');
    return 0;
  }
  const fn = k.features.folios ? 'copy_present_ptes' : 'copy_present_pte';
  const cow = is_cow_mapping(src.vm_flags);
  const mem = k.memmap;
  const srcMm = src.vm_mm;
  const dstMm = dst.vm_mm;
  let err = 0;
  let copied = 0;
  // copy_pmd_range: a huge PMD leaf is shared whole (copy_huge_pmd); the PTE walk skips it.
  for (let h = Math.ceil(src.vm_start / PMD_SIZE) * PMD_SIZE; h + PMD_SIZE <= src.vm_end && !err; h += PMD_SIZE) {
    const pmdPa = walk_existing(k, srcMm, h, 2);
    if (pmdPa >= 0 && pmd_trans_huge(read_lo(k, pmdPa))) err = copy_huge_pmd(k, dstMm, pmdPa, h, cow);
  }
  for_each_pte(k, srcMm, src.vm_start, src.vm_end, (pa, addr) => {
    if (err) return;
    let lo = read_lo(k, pa);
    let hi = read_hi(k, pa);
    if (pte_none(lo, hi)) return;
    const pmdPa = walk_alloc(k, dstMm, addr, 2);
    const dpa = pmdPa < 0 ? -1 : pte_alloc(k, pmdPa, addr);
    if (dpa < 0) { err = -12; return; }
    lo = read_lo(k, pa); // the table allocation may have reclaimed (swapped out) this very page: read it again
    hi = read_hi(k, pa);
    if (!pte_present(lo)) { // copy_nonpresent_pte: a swap entry
      const e = copy_swap_pte(k, dstMm, lo, hi, pa, addr);
      set_entry(k, 'pt', dpa, e.lo, e.hi, addr);
      copied++;
      return;
    }
    const page = vm_normal_page(lo, hi);
    if (page >= 0 && mem.flags[page]! & PG_anon) {
      mem.get_page(page);
      page_try_dup_anon_rmap(k, page);
      dstMm.rss_stat.anon++;
    } else if (page >= 0) {
      mem.get_page(page);
      page_dup_file_rmap(k, page);
      if (mem.flags[page]! & PG_shmem) dstMm.rss_stat.shmem++; // mm_counter_file
      else dstMm.rss_stat.file++;
    }
    if (cow && (lo & _PAGE_RW)) {
      lo &= ~_PAGE_RW;
      set_entry(k, 'pt', pa, lo >>> 0, hi, addr); // ptep_set_wrprotect in the parent
    }
    if (src.vm_flags & VM_SHARED) lo &= ~_PAGE_DIRTY; // pte_mkclean
    lo &= ~_PAGE_ACCESSED; // pte_mkold
    set_entry(k, 'pt', dpa, lo >>> 0, hi, addr);
    copied++;
  }, 'skip');
  if (k.machine.trace.enabled) decision(k, fn, err ? 'oom' : 'copied', `${copied} PTEs`);
  leave(k, 'copy_page_range', String(err));
  return err;
}

