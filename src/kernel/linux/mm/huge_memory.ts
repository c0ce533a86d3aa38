// Transparent huge pages for anonymous memory (mm/huge_memory.c, include/linux/huge_mm.h; 5.19
// and 6.18): the sysfs switch transparent_hugepage/enabled (always | madvise | never, the model's
// default never), __transparent_hugepage_enabled, do_huge_pmd_anonymous_page (an aligned 2 MiB
// range wholly inside the VMA gets one PMD leaf: a new THP on a write, the huge zero page on a
// read), do_huge_pmd_wp_page, huge_pmd_set_accessed, __split_huge_pmd and copy_huge_pmd (fork).
// Simplified: a THP is 512 order-0 frames that each carry the huge mapping's reference and
// mapcount (so a split PMD needs no refcount transfer and split_huge_page is never needed);
// no deposited page table (the split allocates one); no khugepaged, no mTHP (6.8+ sysfs per
// size, off by default), no defrag/compaction (no aligned free block → fallback to 4 KiB), no
// THP on the LRU for reclaim (a THP is never swapped). Range operations other than fork (munmap,
// MADV_DONTNEED, mprotect, mlock) split the PMD first, where Linux splits only a partial range.

import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE, _PAGE_RW, _PAGE_SPECIAL, _PAGE_TABLE } from '../arch/x86/include/asm/pgtable_types.js';
import { entry_pfn, pfn_hi, pfn_lo, read_hi, read_lo, set_entry, walk_alloc } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_mm_range } from '../arch/x86/mm/tlb.js';
import {
  FAULT_FLAG_WRITE, VM_FAULT_FALLBACK, VM_FAULT_OOM, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_WRITE, VM_FAULT_WRITE, type MmStruct, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave, vmFaultName } from './mmtrace.js';
import { PG_anon, PG_anon_exclusive, PG_head, PG_swapbacked, PG_table, PG_tail, PG_uptodate } from './page_alloc.js';
import { anon_vma_prepare, page_add_new_anon_rmap } from './rmap.js';
import { pressure } from './vmscan.js';
import { vma_is_anonymous } from './vma.js';

export const HPAGE_PMD_SIZE = 2 * 1024 * 1024;
export const HPAGE_PMD_NR = 512;

export type ThpReason = 'thp-disabled' | 'not-suitable' | 'huge-zero-page' | 'thp-alloc-failed' | 'thp-allocated' | 'anon-vma-oom';
export type HugePmdReason = 'huge-zero-new-thp' | 'huge-zero-split' | 'reuse' | 'shared-split' | 'access-flags';

/** pmd_trans_huge: a present PMD with PSE, a 2 MiB leaf. */
export function pmd_trans_huge(lo: number): boolean {
  return (lo & (1 | _PAGE_PSE)) === (1 | _PAGE_PSE);
}

/**
 * __transparent_hugepage_enabled / hugepage_vma_check: not for VM_NOHUGEPAGE or a non-anon VMA
 * (no file THP here); `always` for every VMA, `madvise` only for VM_HUGEPAGE.
 */
export function transparent_hugepage_enabled(k: Kernel, vma: VmAreaStruct): boolean {
  const mode = k.pressure?.thp ?? 'never';
  if (mode === 'never' || vma.vm_flags & VM_NOHUGEPAGE || !vma_is_anonymous(vma)) return false;
  return mode === 'always' || (vma.vm_flags & VM_HUGEPAGE) !== 0;
}

/** transhuge_vma_suitable: the aligned 2 MiB range around addr lies inside the VMA (and pgoff agrees). */
function transhuge_vma_suitable(vma: VmAreaStruct, addr: number): boolean {
  const haddr = addr - (addr % HPAGE_PMD_SIZE);
  if ((vma.vm_start / 4096 - vma.vm_pgoff) % HPAGE_PMD_NR !== 0) return false;
  return haddr >= vma.vm_start && haddr + HPAGE_PMD_SIZE <= vma.vm_end;
}

/** mm_get_huge_zero_page: the huge zero page, allocated (512 reserved zero frames) on first use. -1 if none. */
function get_huge_zero_pfn(k: Kernel): number {
  const st = pressure(k);
  if (st.huge_zero_pfn !== undefined) return st.huge_zero_pfn;
  const pfn = k.memmap.alloc_pages_thp('get_huge_zero_page');
  if (pfn < 0) return -1;
  for (let i = 0; i < HPAGE_PMD_NR; i++) k.memmap.reserve(pfn + i);
  st.huge_zero_pfn = pfn;
  return pfn;
}

export function is_huge_zero_pfn(k: Kernel, pfn: number): boolean {
  return k.pressure?.huge_zero_pfn === pfn;
}

/**
 * The PMD step of __handle_mm_fault: a none PMD in a THP-enabled VMA → create_huge_pmd; a huge
 * PMD → wp_huge_pmd or huge_pmd_set_accessed. VM_FAULT_FALLBACK means "go on at the PTE level".
 */
export function thp_pmd_fault(k: Kernel, vma: VmAreaStruct, address: number, flags: number, pmdPa: number): number {
  const lo = read_lo(k, pmdPa);
  const hi = read_hi(k, pmdPa);
  if (lo === 0 && hi === 0) {
    if (!transparent_hugepage_enabled(k, vma)) return VM_FAULT_FALLBACK;
    return do_huge_pmd_anonymous_page(k, vma, address, flags, pmdPa);
  }
  if (!pmd_trans_huge(lo)) return VM_FAULT_FALLBACK;
  if (flags & FAULT_FLAG_WRITE && !(lo & _PAGE_RW)) return do_huge_pmd_wp_page(k, vma, address, pmdPa);
  return huge_pmd_set_accessed(k, address, pmdPa, flags);
}

/** do_huge_pmd_anonymous_page: the huge zero page on a read, else a new zeroed THP; FALLBACK when unsuitable or out of memory. */
function do_huge_pmd_anonymous_page(k: Kernel, vma: VmAreaStruct, address: number, flags: number, pmdPa: number): number {
  enter(k, 'do_huge_pmd_anonymous_page', 'mm/huge_memory.c');
  const haddr = address - (address % HPAGE_PMD_SIZE);
  const prot = vma.vm_page_prot;
  let why: ThpReason;
  let ret = 0;
  if (!transhuge_vma_suitable(vma, address)) {
    why = 'not-suitable';
    ret = VM_FAULT_FALLBACK;
  } else if (anon_vma_prepare(k, vma) !== 0) {
    why = 'anon-vma-oom';
    ret = VM_FAULT_OOM;
  } else if (!(flags & FAULT_FLAG_WRITE) && get_huge_zero_pfn(k) >= 0) {
    why = 'huge-zero-page'; // transparent_hugepage/use_zero_page = 1
    const z = get_huge_zero_pfn(k);
    set_entry(k, 'pd', pmdPa, (pfn_lo(z) | prot.lo | _PAGE_PSE) >>> 0, pfn_hi(z) | prot.hi, haddr); // pmd_mkhuge(mk_pmd(zero, vm_page_prot))
  } else {
    const pfn = k.memmap.alloc_pages_thp(k.features.folios ? 'vma_alloc_folio' : 'alloc_hugepage_vma');
    if (pfn < 0) {
      why = 'thp-alloc-failed';
      pressure(k).stat.thp_fault_fallback++;
      ret = VM_FAULT_FALLBACK;
    } else {
      why = 'thp-allocated';
      prep_thp(k, pfn, vma);
      vma.vm_mm.rss_stat.anon += HPAGE_PMD_NR; // add_mm_counter(MM_ANONPAGES, HPAGE_PMD_NR)
      k.vmstat.thp_fault_alloc++;
      const w = vma.vm_flags & VM_WRITE ? _PAGE_RW | _PAGE_DIRTY : 0; // maybe_pmd_mkwrite(pmd_mkdirty())
      set_entry(k, 'pd', pmdPa, (pfn_lo(pfn) | prot.lo | _PAGE_PSE | w) >>> 0, pfn_hi(pfn) | prot.hi, haddr);
    }
  }
  decision(k, 'do_huge_pmd_anonymous_page', why);
  leave(k, 'do_huge_pmd_anonymous_page', vmFaultName(ret));
  return ret;
}

/** The new THP's struct pages: head on the LRU with the anon rmap; every subpage anon, exclusive, mapped once. */
function prep_thp(k: Kernel, pfn: number, vma: VmAreaStruct): void {
  const mm = k.memmap;
  page_add_new_anon_rmap(k, pfn, vma);
  mm.flags[pfn]! |= PG_head;
  for (let i = 1; i < HPAGE_PMD_NR; i++) {
    mm.flags[pfn + i]! |= PG_tail | PG_anon | PG_anon_exclusive | PG_swapbacked | PG_uptodate;
    mm.mapcount[pfn + i] = 1;
    mm.anon_vma[pfn + i] = mm.anon_vma[pfn]!;
  }
}

/**
 * do_huge_pmd_wp_page: a write to a read-only huge PMD. The huge zero page, or a THP someone else
 * still maps, is split and the write retried at the PTE level (one 4 KiB COW, since 5.8); an
 * exclusive THP is reused (made writable in place).
 */
function do_huge_pmd_wp_page(k: Kernel, vma: VmAreaStruct, address: number, pmdPa: number): number {
  enter(k, 'do_huge_pmd_wp_page', 'mm/huge_memory.c');
  const lo = read_lo(k, pmdPa);
  const pfn = entry_pfn(lo, read_hi(k, pmdPa));
  const mm = k.memmap;
  let why: HugePmdReason;
  let ret = VM_FAULT_FALLBACK;
  if (is_huge_zero_pfn(k, pfn) && k.version !== '5.19' && do_huge_zero_wp_pmd(k, vma, address, pmdPa)) {
    why = 'huge-zero-new-thp';
    ret = 0;
  } else if (is_huge_zero_pfn(k, pfn)) {
    why = 'huge-zero-split';
  } else if (mm.flags[pfn]! & PG_anon_exclusive || [...Array(HPAGE_PMD_NR).keys()].every((i) => mm.refcount[pfn + i] === 1)) {
    why = 'reuse';
    for (let i = 0; i < HPAGE_PMD_NR; i++) mm.flags[pfn + i]! |= PG_anon_exclusive;
    const nlo = lo | _PAGE_ACCESSED | _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0);
    set_entry(k, 'pd', pmdPa, nlo >>> 0, read_hi(k, pmdPa), address - (address % HPAGE_PMD_SIZE));
    k.vmstat.pgreuse++;
    ret = k.features.folios ? 0 : VM_FAULT_WRITE;
  } else {
    why = 'shared-split';
  }
  if (ret === VM_FAULT_FALLBACK && __split_huge_pmd(k, vma.vm_mm, pmdPa, address - (address % HPAGE_PMD_SIZE)) < 0) ret = VM_FAULT_OOM;
  decision(k, 'do_huge_pmd_wp_page', why);
  leave(k, 'do_huge_pmd_wp_page', vmFaultName(ret));
  return ret;
}

/**
 * do_huge_zero_wp_pmd (6.14+): a write to the huge zero page gets a new zeroed THP in its place
 * (pmdp_huge_clear_flush, then the new PMD); false when no THP can be had (then split, as 5.19 does).
 */
function do_huge_zero_wp_pmd(k: Kernel, vma: VmAreaStruct, address: number, pmdPa: number): boolean {
  const pfn = k.memmap.alloc_pages_thp('vma_alloc_anon_folio_pmd');
  if (pfn < 0) {
    pressure(k).stat.thp_fault_fallback++;
    return false;
  }
  const haddr = address - (address % HPAGE_PMD_SIZE);
  const prot = vma.vm_page_prot;
  prep_thp(k, pfn, vma);
  vma.vm_mm.rss_stat.anon += HPAGE_PMD_NR;
  k.vmstat.thp_fault_alloc++;
  set_entry(k, 'pd', pmdPa, 0, 0, haddr);
  flush_tlb_mm_range(k, vma.vm_mm, haddr, haddr + HPAGE_PMD_SIZE);
  const w = vma.vm_flags & VM_WRITE ? _PAGE_RW | _PAGE_DIRTY : 0;
  set_entry(k, 'pd', pmdPa, (pfn_lo(pfn) | prot.lo | _PAGE_PSE | _PAGE_ACCESSED | w) >>> 0, pfn_hi(pfn) | prot.hi, haddr);
  return true;
}

/** huge_pmd_set_accessed: young (and dirty for a write) in place; a spurious fault otherwise. */
function huge_pmd_set_accessed(k: Kernel, address: number, pmdPa: number, flags: number): number {
  const lo = read_lo(k, pmdPa);
  const nlo = (lo | _PAGE_ACCESSED | (flags & FAULT_FLAG_WRITE ? _PAGE_DIRTY : 0)) >>> 0;
  decision(k, 'huge_pmd_set_accessed', 'access-flags' satisfies HugePmdReason);
  if (nlo !== lo) set_entry(k, 'pd', pmdPa, nlo, read_hi(k, pmdPa), address - (address % HPAGE_PMD_SIZE));
  return 0;
}

/**
 * __split_huge_pmd → __split_huge_pmd_locked: a PTE table whose 512 entries map the same frames
 * with the PMD's bits (the huge zero page becomes 512 special PTEs of the 4 KiB zero page), then
 * pmd_populate and a flush of the 2 MiB range. 0, or -1 if no page-table page could be had.
 */
export function __split_huge_pmd(k: Kernel, mm: MmStruct, pmdPa: number, haddr: number): number {
  enter(k, '__split_huge_pmd', 'mm/huge_memory.c');
  const lo = read_lo(k, pmdPa);
  const hi = read_hi(k, pmdPa);
  const pfn = entry_pfn(lo, hi);
  const table = k.memmap.alloc_page(k, 'pte_alloc_one');
  if (table < 0) {
    leave(k, '__split_huge_pmd', '-ENOMEM');
    return -1;
  }
  k.memmap.flags[table]! |= PG_table;
  const zero = is_huge_zero_pfn(k, pfn);
  const bits = lo & 0xfff & ~_PAGE_PSE; // P RW US PWT PCD A D G …; bit 12 (PAT for 2 MiB) is zero in an aligned PFN
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = zero ? k.zero_pfn : pfn + i;
    const plo = (pfn_lo(p) | bits | (zero ? _PAGE_SPECIAL : 0)) >>> 0;
    k.machine.mem.write32(table * 4096 + i * 8, plo); // set_pte_at into a table no one walks yet
    k.machine.mem.write32(table * 4096 + i * 8 + 4, (pfn_hi(p) | hi & 0xfff00000) >>> 0);
  }
  set_entry(k, 'pd', pmdPa, 0, 0, haddr); // pmdp_invalidate
  flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_PMD_SIZE);
  set_entry(k, 'pd', pmdPa, _PAGE_TABLE | pfn_lo(table), pfn_hi(table), haddr); // pmd_populate
  pressure(k).stat.thp_split_pmd++;
  decision(k, '__split_huge_pmd', zero ? 'huge-zero-page' : 'thp', `PTE table 0x${table.toString(16)}`);
  leave(k, '__split_huge_pmd', '0');
  return 0;
}

/**
 * zap_huge_pmd: a PMD leaf wholly inside the zapped range is cleared as one (no split): each
 * subpage loses this mapping and its reference after the flush (the gather's `pages`), and
 * MM_ANONPAGES drops by 512; the huge zero page is just unmapped. Returns the pages to free.
 */
export function zap_huge_pmd(k: Kernel, mm: MmStruct, pmdPa: number, haddr: number): number[] {
  const lo = read_lo(k, pmdPa);
  const pfn = entry_pfn(lo, read_hi(k, pmdPa));
  set_entry(k, 'pd', pmdPa, 0, 0, haddr); // pmdp_huge_get_and_clear_full
  decision(k, 'zap_huge_pmd', is_huge_zero_pfn(k, pfn) ? 'huge-zero-page' : 'thp');
  if (is_huge_zero_pfn(k, pfn)) return [];
  const pages: number[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    k.memmap.mapcount[pfn + i]!--;
    pages.push(pfn + i);
  }
  mm.rss_stat.anon -= HPAGE_PMD_NR;
  return pages;
}

/**
 * copy_huge_pmd (fork): the child maps the same THP (every subpage gains a reference and a
 * mapping and loses exclusivity) and both PMDs are write-protected; the huge zero page is shared
 * as is. 0 or -ENOMEM.
 */
export function copy_huge_pmd(k: Kernel, dst: MmStruct, srcPmdPa: number, addr: number, cow: boolean): number {
  const dpa = walk_alloc(k, dst, addr, 2);
  if (dpa < 0) return -12;
  let lo = read_lo(k, srcPmdPa);
  const hi = read_hi(k, srcPmdPa);
  const pfn = entry_pfn(lo, hi);
  if (!is_huge_zero_pfn(k, pfn)) {
    const mm = k.memmap;
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      mm.refcount[pfn + i]!++;
      mm.mapcount[pfn + i]!++;
      mm.flags[pfn + i]! &= ~PG_anon_exclusive;
    }
    dst.rss_stat.anon += HPAGE_PMD_NR;
    if (cow && lo & _PAGE_RW) {
      lo &= ~_PAGE_RW;
      set_entry(k, 'pd', srcPmdPa, lo >>> 0, hi, addr); // pmdp_set_wrprotect
    }
  }
  set_entry(k, 'pd', dpa, (lo & ~_PAGE_ACCESSED) >>> 0, hi, addr); // pmd_mkold
  decision(k, 'copy_huge_pmd', is_huge_zero_pfn(k, pfn) ? 'huge-zero-page' : 'thp-shared');
  return 0;
}
