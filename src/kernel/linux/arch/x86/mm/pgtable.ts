// Page-table pages and entries (arch/x86/mm/pgtable.c pgd_alloc/pgd_ctor, include/linux/pgtable.h
// and arch/x86/include/asm/pgtable*.h helpers; mm/memory.c __p4d_alloc.. __pte_alloc; 5.19 and
// 6.18 agree). 4-level paging: the p4d level is folded into the pgd. Entries are two 32-bit words
// read and written in physical memory (the kernel reaches its page tables through the direct map,
// which comes to the same). Every store emits a `pte_write` event.

import { hex, type Level } from '../../../../../trace/events.js';
import { PG_table } from '../../../mm/page_alloc.js';
import { __split_huge_pmd } from '../../../mm/huge_memory.js';
import type { MmStruct } from '../../../include/linux/mm_types.js';
import type { Kernel } from '../../../types.js';
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_HI_NX, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_RW, _PAGE_TABLE, _PAGE_USER,
  PTE_PFN_HI_MASK, pteFlags, _PAGE_CHG_MASK_LO, _PAGE_CHG_MASK_HI, type Pgprot,
} from '../include/asm/pgtable_types.js';

export const PTRS_PER_PGD = 512;
/** KERNEL_PGD_BOUNDARY: the first PGD slot of the kernel half. */
export const KERNEL_PGD_BOUNDARY = 256;
export const PGDIR_SIZE = 2 ** 39;
export const PUD_SIZE = 2 ** 30;
export const PMD_SIZE = 2 ** 21;

export const pgd_index = (addr: number): number => Math.floor(addr / PGDIR_SIZE) & 511;
export const pud_index = (addr: number): number => (addr / PUD_SIZE) & 511;
export const pmd_index = (addr: number): number => (addr / PMD_SIZE) & 511;
export const pte_index = (addr: number): number => (addr / 4096) & 511;

/** The frame an entry points at (bits 51:12). */
export function entry_pfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & PTE_PFN_HI_MASK) * 1048576;
}

/** pfn_pte's address bits: the low word part and the high word part of a PFN. */
export const pfn_lo = (pfn: number): number => (pfn * 4096) >>> 0;
export const pfn_hi = (pfn: number): number => Math.floor(pfn / 1048576);

/** pte_none (x86 ignores A and D: the KNL erratum mask). */
export const pte_none = (lo: number, hi: number): boolean => (lo & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) === 0 && hi === 0;
/** pte_present: P, or PROTNONE (a PROT_NONE or NUMA-hinting PTE). */
export const pte_present = (lo: number): boolean => (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
export const pte_protnone = (lo: number): boolean => (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE;
export const pte_write = (lo: number): boolean => (lo & _PAGE_RW) !== 0;
/** pXd_none for an upper-level entry. */
export const pxd_none = (lo: number, hi: number): boolean => lo === 0 && hi === 0;

const LEVEL_OF = ['pml4', 'pdpt', 'pd', 'pt'] as const satisfies readonly Level[];

/** Store an entry (set_pte_at / set_pXd) and report it. */
export function set_entry(k: Kernel, level: Level, pa: number, lo: number, hi: number, va?: number): void {
  const mem = k.machine.mem;
  if (k.machine.trace.enabled) {
    const oldLo = mem.read32(pa);
    const oldHi = mem.read32(pa + 4);
    k.machine.trace.emit({
      ev: 'pte_write', level, entryPa: hex(pa), old: hex(join(oldLo, oldHi)), value: hex(join(lo, hi)), flags: pteFlags(lo, hi),
      ...(va === undefined ? {} : { va: hex(va) }),
    });
  }
  mem.write32(pa, lo >>> 0);
  mem.write32(pa + 4, hi >>> 0);
}

function join(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export const read_lo = (k: Kernel, pa: number): number => k.machine.mem.read32(pa);
export const read_hi = (k: Kernel, pa: number): number => k.machine.mem.read32(pa + 4);

/** pgd_alloc → pgd_ctor: a fresh PGD (an order-1 pair with PTI) whose kernel half is copied from swapper_pg_dir (clone_pgd_range). */
export function pgd_alloc(k: Kernel): number {
  const pgd = k.memmap.alloc_pages(k, k.pti ? 1 : 0, 'pgd_alloc');
  if (pgd < 0) return -1;
  k.memmap.flags[pgd]! |= PG_table;
  if (k.pti) k.memmap.flags[pgd + 1]! |= PG_table;
  const copies = k.pti ? 2 : 1; // clone_pgd_range also copies the user PGD's kernel half under PTI
  for (let c = 0; c < copies; c++) {
    const src = (k.init_mm.pgd + c) * 4096;
    const dst = (pgd + c) * 4096;
    for (let i = KERNEL_PGD_BOUNDARY; i < PTRS_PER_PGD; i++) {
      const lo = read_lo(k, src + i * 8);
      const hi = read_hi(k, src + i * 8);
      if (lo !== 0 || hi !== 0) set_entry(k, 'pml4', dst + i * 8, lo, hi);
    }
  }
  return pgd;
}

/** pgd_free: the PGD (pair). Tables below it must already be freed (free_pgtables). */
export function pgd_free(k: Kernel, mm: MmStruct): void {
  for (let c = 0; c < (k.pti ? 2 : 1); c++) {
    k.memmap.flags[mm.pgd + c]! &= ~PG_table;
    k.memmap.put_page(k, mm.pgd + c, 'pgd_free');
  }
}

/** Allocate a zeroed page-table page (pte_alloc_one / pmd_alloc_one / pud_alloc_one). */
function alloc_table(k: Kernel, why: string): number {
  const pfn = k.memmap.alloc_page(k, why);
  if (pfn >= 0) k.memmap.flags[pfn]! |= PG_table;
  return pfn;
}

/**
 * The user-half PGD store under PTI (__pti_set_user_pgtbl, arch/x86/mm/pti.c): the entry is
 * mirrored into the user PGD, and the kernel copy of a user entry gets NX, so that user memory
 * is never executable while running on the kernel page tables.
 */
function set_pgd(k: Kernel, mm: MmStruct, pa: number, lo: number, hi: number, addr: number): void {
  const idx = ((pa - mm.pgd * 4096) / 8) | 0;
  if (k.pti && idx < KERNEL_PGD_BOUNDARY) {
    set_entry(k, 'pml4', pa + 4096, lo, hi, addr);
    if ((lo & (_PAGE_USER | _PAGE_PRESENT)) === (_PAGE_USER | _PAGE_PRESENT)) hi |= _PAGE_HI_NX;
  }
  set_entry(k, 'pml4', pa, lo, hi, addr);
}

/**
 * Walk to the entry of `level` (0 pgd .. 3 pte) for `addr`, allocating missing tables on the way
 * (p4d_alloc, pud_alloc, pmd_alloc, pte_alloc). Returns the entry's physical address, or -1 when a
 * table could not be allocated (the caller returns VM_FAULT_OOM).
 */
export function walk_alloc(k: Kernel, mm: MmStruct, addr: number, level: 1 | 2 | 3): number {
  let pa = mm.pgd * 4096 + pgd_index(addr) * 8;
  for (let l = 0; l < level; l++) {
    const lo = read_lo(k, pa);
    let table: number;
    if (lo & _PAGE_PRESENT) {
      table = entry_pfn(lo, read_hi(k, pa));
    } else {
      table = alloc_table(k, l === 0 ? 'pud_alloc' : l === 1 ? 'pmd_alloc' : 'pte_alloc');
      if (table < 0) return -1;
      // pgd_populate / pud_populate / pmd_populate: _PAGE_TABLE | __pa(table)
      if (l === 0) set_pgd(k, mm, pa, _PAGE_TABLE | pfn_lo(table), pfn_hi(table), addr);
      else set_entry(k, LEVEL_OF[l]!, pa, _PAGE_TABLE | pfn_lo(table), pfn_hi(table), addr);
    }
    pa = table * 4096 + (l === 0 ? pud_index(addr) : l === 1 ? pmd_index(addr) : pte_index(addr)) * 8;
  }
  return pa;
}

/** PTE_OFFSET_HUGE: pte_offset found a 2 MiB PMD leaf (a THP) where a PTE table would be. */
export const PTE_OFFSET_HUGE = -2;

/**
 * pte_offset_map without allocating: the PTE's physical address, or -1 if a table above it is
 * missing, or PTE_OFFSET_HUGE if the PMD is a huge leaf (pmd_trans_huge).
 */
export function pte_offset(k: Kernel, mm: MmStruct, addr: number): number {
  const mem = k.machine.mem;
  let pa = mm.pgd * 4096 + pgd_index(addr) * 8;
  for (let l = 0; l < 3; l++) {
    const lo = mem.read32(pa);
    if (!(lo & _PAGE_PRESENT)) return -1;
    if (l === 2 && lo & _PAGE_PSE) return PTE_OFFSET_HUGE;
    const table = entry_pfn(lo, mem.read32(pa + 4));
    pa = table * 4096 + (l === 0 ? pud_index(addr) : l === 1 ? pmd_index(addr) : pte_index(addr)) * 8;
  }
  return pa;
}

/**
 * pte_pfn: the frame of a PTE. A non-present, non-empty PTE (PROT_NONE) keeps its PFN bits
 * inverted (the L1TF mitigation, arch/x86/include/asm/pgtable-invert.h), so it is flipped back.
 */
export function pte_pfn(lo: number, hi: number): number {
  if (lo & _PAGE_PRESENT) return entry_pfn(lo, hi);
  return entry_pfn(~lo & 0xfffff000, ~hi & PTE_PFN_HI_MASK);
}

/**
 * pte_modify: keep _PAGE_CHG_MASK (PFN, A, D, SPECIAL, soft-dirty…), take the rest from `prot`,
 * then flip_protnone_guard: invert the PFN when the entry turns present ↔ not present.
 */
export function pte_modify(lo: number, hi: number, prot: Pgprot): { lo: number; hi: number } {
  let nlo = ((lo & _PAGE_CHG_MASK_LO) | (prot.lo & ~_PAGE_CHG_MASK_LO)) >>> 0;
  let nhi = ((hi & _PAGE_CHG_MASK_HI) | (prot.hi & ~_PAGE_CHG_MASK_HI)) >>> 0;
  const wasInv = lo !== 0 && !(lo & _PAGE_PRESENT);
  const isInv = nlo !== 0 && !(nlo & _PAGE_PRESENT);
  if (wasInv !== isInv) {
    nlo = ((nlo & ~0xfffff000) | (~nlo & 0xfffff000)) >>> 0;
    nhi = ((nhi & ~PTE_PFN_HI_MASK) | (~nhi & PTE_PFN_HI_MASK)) >>> 0;
  }
  return { lo: nlo, hi: nhi };
}

/** follow_pte (mm/memory.c): the leaf PTE for `addr` if one is present (P or PROTNONE), else null. */
export function follow_pte(k: Kernel, mm: MmStruct, addr: number): { lo: number; hi: number; pfn: number } | null {
  const pa = pte_offset(k, mm, addr);
  if (pa < 0) return null;
  const lo = read_lo(k, pa);
  const hi = read_hi(k, pa);
  if (!pte_present(lo)) return null;
  return { lo, hi, pfn: pte_pfn(lo, hi) };
}


/** pte_alloc (mm/memory.c __pte_alloc + pmd_populate): the PTE for addr under the PMD entry at pmdPa, allocating the table; -1 when out of memory. */
export function pte_alloc(k: Kernel, pmdPa: number, addr: number): number {
  let lo = read_lo(k, pmdPa);
  if (!(lo & _PAGE_PRESENT)) {
    const table = alloc_table(k, 'pte_alloc');
    if (table < 0) return -1;
    lo = _PAGE_TABLE | pfn_lo(table);
    set_entry(k, 'pd', pmdPa, lo, pfn_hi(table), addr);
  }
  return entry_pfn(lo, read_hi(k, pmdPa)) * 4096 + pte_index(addr) * 8;
}

/**
 * Visit every PTE slot in [start, end) whose page table exists (the pXd_none_or_clear_bad skips of
 * the zap/copy/change_protection walks). `fn(ptePa, addr)`. A huge PMD leaf is split into a PTE
 * table first (__split_huge_pmd), or skipped with `huge: 'skip'`.
 */
export function for_each_pte(k: Kernel, mm: MmStruct, start: number, end: number, fn: (ptePa: number, addr: number) => void, huge: 'split' | 'skip' = 'split'): void {
  let a = start;
  while (a < end) {
    const next = Math.min(end, Math.floor(a / PMD_SIZE) * PMD_SIZE + PMD_SIZE);
    let first = pte_offset(k, mm, a);
    if (first === PTE_OFFSET_HUGE) {
      const haddr = Math.floor(a / PMD_SIZE) * PMD_SIZE;
      first = huge === 'skip' || __split_huge_pmd(k, mm, walk_existing(k, mm, haddr, 2), haddr) < 0 ? -1 : pte_offset(k, mm, a);
    }
    if (first >= 0) for (let x = a, pa = first; x < next; x += 4096, pa += 8) fn(pa, x);
    a = next;
  }
}

/**
 * free_pgd_range (mm/memory.c), simplified: free the PTE tables that cover only [floor, ceiling)
 * within [addr, end), then any PMD/PUD table left empty whose whole span lies in [floor, ceiling).
 */
export function free_pgd_range(k: Kernel, mm: MmStruct, addr: number, end: number, floor: number, ceiling: number): void {
  let a = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (a < floor) a += PMD_SIZE;
  let c = ceiling;
  if (c) c = Math.floor(c / PMD_SIZE) * PMD_SIZE;
  let e = end;
  if (c && e - 1 > c - 1) e -= PMD_SIZE;
  if (!c && e > 2 ** 47) e = 2 ** 47;
  if (a > e - 1) return;
  for (let x = a; x < e; x += PMD_SIZE) {
    const pmdPa = walk_existing(k, mm, x, 2);
    if (pmdPa < 0) { x = Math.floor(x / PUD_SIZE) * PUD_SIZE + PUD_SIZE - PMD_SIZE; continue; }
    const lo = read_lo(k, pmdPa);
    if (!(lo & _PAGE_PRESENT)) continue;
    const table = entry_pfn(lo, read_hi(k, pmdPa));
    set_entry(k, 'pd', pmdPa, 0, 0, x);
    free_table(k, table, 'free_pte_range');
  }
  // Upper levels: a PMD (PUD) table with no entries left, wholly inside [floor, ceiling), goes too.
  for (const [lvl, size, why] of [[1, PUD_SIZE, 'free_pmd_range'], [0, PGDIR_SIZE, 'free_pud_range']] as const) {
    const lo0 = Math.floor(addr / size) * size;
    for (let x = lo0; x < end; x += size) {
      if (x < floor || (ceiling && x + size > ceiling)) continue;
      const pa = lvl === 1 ? walk_existing(k, mm, x, 1) : mm.pgd * 4096 + pgd_index(x) * 8;
      if (pa < 0) continue;
      const l = read_lo(k, pa);
      if (!(l & _PAGE_PRESENT)) continue;
      const table = entry_pfn(l, read_hi(k, pa));
      let empty = true;
      for (let i = 0; i < 512 && empty; i++) if (read_lo(k, table * 4096 + i * 8) !== 0) empty = false;
      if (!empty) continue;
      if (lvl === 0 && k.pti) set_entry(k, 'pml4', pa + 4096, 0, 0, x);
      set_entry(k, lvl === 0 ? 'pml4' : 'pdpt', pa, 0, 0, x);
      free_table(k, table, why);
    }
  }
}

function free_table(k: Kernel, pfn: number, why: string): void {
  k.memmap.flags[pfn]! &= ~PG_table;
  k.memmap.put_page(k, pfn, why);
}

/** The entry of `level` (1 pud, 2 pmd) for addr if the tables above exist, else -1. */
export function walk_existing(k: Kernel, mm: MmStruct, addr: number, level: 1 | 2): number {
  let pa = mm.pgd * 4096 + pgd_index(addr) * 8;
  for (let l = 0; l < level; l++) {
    const lo = read_lo(k, pa);
    if (!(lo & _PAGE_PRESENT)) return -1;
    pa = entry_pfn(lo, read_hi(k, pa)) * 4096 + (l === 0 ? pud_index(addr) : pmd_index(addr)) * 8;
  }
  return pa;
}
