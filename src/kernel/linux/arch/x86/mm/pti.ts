// arch/x86/mm/pti.c (5.19/6.x): Page Table Isolation. Each mm has an 8 KiB PGD pair; the second
// page (PTI_USER_PGTABLE_BIT set in CR3) is what user mode runs on. Its kernel half maps only what
// the entry code needs before SWITCH_TO_KERNEL_CR3: the cpu_entry_area (shared at the top level,
// pti_clone_user_shared) and the entry text (cloned at PMD level, pti_clone_entry_text). Everything
// else of the kernel is absent, so a user-mode Meltdown read finds no translation.
//
// Done on init_mm's pair; pgd_alloc() -> clone_pgd_range() copies both kernel halves to each new mm.

import { P } from '../../../../../hw/pte.js';
import { CPU_ENTRY_AREA_BASE, type X86Kernel } from '../include/asm/processor.js';
import { decide, fentry, fexit } from '../kernel/ftrace.js';
import { _KERNPG_TABLE, kernel_entry_pa, pgd_index } from './init_64.js';

/** kernel_to_user_pgdp(): the user copy of a PGD page (pfn + 1). */
export function user_pgd_pfn(pgdPfn: number): number {
  return pgdPfn + 1;
}

/** pti_clone_user_shared(): the user PGD's cpu_entry_area entry points at the kernel's own PUD table. */
export function pti_clone_user_shared(k: X86Kernel): void {
  const mem = k.machine.mem;
  const i = pgd_index(CPU_ENTRY_AREA_BASE) * 8;
  const kpgd = k.init_mm.pgd * 4096;
  const upgd = user_pgd_pfn(k.init_mm.pgd) * 4096;
  mem.write32(upgd + i, mem.read32(kpgd + i));
  mem.write32(upgd + i + 4, mem.read32(kpgd + i + 4));
}

/**
 * pti_clone_entry_text() -> pti_clone_pgtable(__entry_text_start, __entry_text_end, PTI_CLONE_PMD):
 * build user-side PGD/PUD tables down to the PMD and copy the kernel's PMD entry there.
 */
export function pti_clone_entry_text(k: X86Kernel, start: bigint, end: bigint): void {
  const mem = k.machine.mem;
  for (let va = start & ~0x1fffffn; va < end; va += 0x200000n) {
    const src = kernel_entry_pa(k, k.init_mm.pgd, va, 'pmd');
    if (!(mem.read32(src) & P)) continue;
    const dst = kernel_entry_pa(k, user_pgd_pfn(k.init_mm.pgd), va, 'pmd', _KERNPG_TABLE);
    mem.write32(dst, mem.read32(src));
    mem.write32(dst + 4, mem.read32(src + 4));
  }
}

/** pti_init(): clone the shared parts into init_mm's user PGD. */
export function pti_init(k: X86Kernel, entryStart: bigint, entryEnd: bigint): void {
  fentry(k, 'pti_init', 'arch/x86/mm/pti.c');
  if (!k.pti) {
    decide(k, 'pti_init', 'pti-off');
    fexit(k, 'pti_init');
    return;
  }
  pti_clone_user_shared(k);
  pti_clone_entry_text(k, entryStart, entryEnd);
  fexit(k, 'pti_init');
}
