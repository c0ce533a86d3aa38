// Building the kernel's own page tables (arch/x86/mm/init_64.c, init.c; pgtable_types.h for the
// protections): the direct map of all RAM at page_offset_base with 1 GiB pages
// (phys_pud_init), the kernel image's text, and a helper that maps single 4 KiB kernel pages
// (vmalloc'd stacks, the cpu_entry_area) into swapper_pg_dir. Everything is written into
// simulated physical memory; the CPU walks exactly these tables.
//
// Simplified: the kernel image is mapped page by page (only the pages holding modelled code),
// not with the 2 MiB pages of level2_kernel_pgt; its frames come from the page allocator.

import { A, D, G, P, PS, RW, US } from '../../../../../hw/pte.js';
import { hex } from '../../../../../trace/events.js';
import { PAGE_OFFSET, type X86Kernel } from '../include/asm/processor.js';

/** _PAGE_NX, in the high word of an entry. */
export const HI_NX = 1 << 31;

/** Entry protections (asm/pgtable_types.h), low word; NX is separate (high word). */
export const _KERNPG_TABLE = P | RW | A | D;
export const _PAGE_TABLE = P | RW | US | A | D;
export interface KProt {
  lo: number;
  nx: boolean;
}
/** __PAGE_KERNEL: RW data, NX. */
export const PAGE_KERNEL: KProt = { lo: P | RW | A | D, nx: true };
/** __PAGE_KERNEL_RO: read-only data (the IDT alias, the GDT), NX. */
export const PAGE_KERNEL_RO: KProt = { lo: P | A | D, nx: true };
/** __PAGE_KERNEL_ROX: kernel text. */
export const PAGE_KERNEL_ROX: KProt = { lo: P | A | D, nx: false };

/** Levels by name: the 4-level x86-64 layout (pgd = PML4, pud = PDPT, pmd = PD, pte = PT). */
export type KLevel = 'pgd' | 'pud' | 'pmd' | 'pte';
const SHIFT: Record<KLevel, bigint> = { pgd: 39n, pud: 30n, pmd: 21n, pte: 12n };
const ORDER: readonly KLevel[] = ['pgd', 'pud', 'pmd', 'pte'];

export function pgd_index(va: bigint): number {
  return Number((va >> 39n) & 511n);
}

/** The _PAGE_GLOBAL bit kernel mappings get: none with PTI (__default_kernel_pte_mask, init.c). */
export function kernelGlobal(k: X86Kernel): number {
  return k.pti ? 0 : G;
}

/** The machine cannot boot this kernel (too little RAM): a user-facing error, not a model bug. */
export class BootError extends Error {}

/** Allocate a zeroed page-table page for the kernel (boot-time tables are never freed). */
export function alloc_kernel_table(k: X86Kernel, why: string): number {
  const pfn = k.memmap.alloc_page(null, why);
  if (pfn < 0) throw new BootError(`out of memory at boot allocating ${why} (${k.memmap.totalPages} pages of RAM)`);
  k.memmap.reserve(pfn);
  return pfn;
}

/**
 * The physical address of the entry for `va` at `level` under the table at `rootPfn`, allocating
 * missing intermediate tables with `tableLo` flags (pXd_populate_kernel).
 */
export function kernel_entry_pa(k: X86Kernel, rootPfn: number, va: bigint, level: KLevel, tableLo = _KERNPG_TABLE): number {
  const mem = k.machine.mem;
  let table = rootPfn;
  for (const l of ORDER) {
    const pa = table * 4096 + Number((va >> SHIFT[l]) & 511n) * 8;
    if (l === level) return pa;
    const lo = mem.read32(pa);
    if (lo & P) {
      if (lo & PS) throw new Error(`model bug: ${hex(va)} is already mapped by a large page at ${l}`);
      table = Math.floor((lo >>> 12) + (mem.read32(pa + 4) & 0xfffff) * 2 ** 20);
      continue;
    }
    const next = alloc_kernel_table(k, `kernel ${ORDER[ORDER.indexOf(l) + 1]} table for ${hex(va)}`);
    mem.write32(pa, ((next * 4096) % 2 ** 32 | tableLo) >>> 0);
    mem.write32(pa + 4, Math.floor(next / 2 ** 20));
    table = next;
  }
  throw new Error('unreachable');
}

/** Write a leaf entry mapping frame `pfn` (or a large frame) with `prot`. */
export function set_kernel_leaf(k: X86Kernel, at: number, pfn: number, prot: KProt, extraLo = 0): void {
  const mem = k.machine.mem;
  mem.write32(at, (((pfn * 4096) % 2 ** 32) | prot.lo | extraLo | kernelGlobal(k)) >>> 0);
  mem.write32(at + 4, (Math.floor(pfn / 2 ** 20) | (prot.nx ? HI_NX : 0)) >>> 0);
}

/** Map one 4 KiB kernel page into swapper_pg_dir (set_pte_vaddr / vmap's vmap_pte_range). */
export function kernel_map_page(k: X86Kernel, va: bigint, pfn: number, prot: KProt): number {
  const at = kernel_entry_pa(k, k.init_mm.pgd, va, 'pte');
  set_kernel_leaf(k, at, pfn, prot);
  return at;
}

/**
 * init_mem_mapping() -> kernel_physical_mapping_init() -> phys_pud_init(): the direct map of
 * RAM at page_offset_base with 1 GiB pages (the CPU has X86_FEATURE_GBPAGES).
 */
export function init_mem_mapping(k: X86Kernel): void {
  const gib = Math.max(1, Math.ceil(k.memmap.totalPages / 262144));
  for (let i = 0; i < gib; i++) {
    const va = PAGE_OFFSET + BigInt(i) * (1n << 30n);
    const at = kernel_entry_pa(k, k.init_mm.pgd, va, 'pud');
    set_kernel_leaf(k, at, i * 262144, PAGE_KERNEL, PS);
  }
}

/**
 * preallocate_vmalloc_pages() (init_64.c): populate the vmalloc area's top-level entry at boot,
 * so every later pgd_alloc() copy of the kernel half already points at the shared PUD table and
 * a new kernel stack is visible in all address spaces.
 */
export function preallocate_vmalloc_pages(k: X86Kernel, vmallocStart: bigint): void {
  kernel_entry_pa(k, k.init_mm.pgd, vmallocStart, 'pud');
}

/** Map kernel text pages holding modelled code (`va` -> a fresh frame each), read-only executable. */
export function map_kernel_text(k: X86Kernel, va: bigint, pages: number): void {
  for (let i = 0; i < pages; i++) kernel_map_page(k, va + BigInt(i * 4096), alloc_kernel_table(k, 'kernel text'), PAGE_KERNEL_ROX);
}
