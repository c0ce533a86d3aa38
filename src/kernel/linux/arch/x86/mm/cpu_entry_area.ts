// arch/x86/mm/cpu_entry_area.c (5.19/6.x): the per-CPU area at a fixed address that holds what the
// CPU touches on entry before the kernel has switched CR3: the GDT (read-only alias), the entry
// stack (TSS.sp0), the TSS itself and the IST exception stacks, plus the read-only IDT alias.
// PTI shares this whole area with the user page tables (pti_clone_user_shared).
//
// The per-CPU originals (gdt_page, cpu_tss_rw, entry_stack_storage, exception_stacks) are frames
// reached through the direct map; this area maps the same frames again. One CPU; the stacks
// have their guard pages left unmapped, as in cea_map_stack().

import {
  CEA_ENTRY_STACK, CEA_GDT, CEA_TSS, CPU_ENTRY_AREA_PER_CPU, CPU_ENTRY_AREA_RO_IDT, EXCEPTION_STKSZ, IST_NAMES,
  estackBottom, type X86Kernel,
} from '../include/asm/processor.js';
import { PAGE_KERNEL, PAGE_KERNEL_RO, alloc_kernel_table, kernel_map_page } from './init_64.js';

/** Frames behind CPU 0's entry area, as the kernel's per-CPU variables. */
export interface CpuEntryFrames {
  gdt: number;
  entry_stack: number;
  tss: number;
  /** Exception stacks, by IST index, EXCEPTION_STKSZ/4096 frames each. */
  estacks: number[][];
}

/** setup_cpu_entry_area(0) (called from setup_cpu_entry_areas() in trap_init()). */
export function setup_cpu_entry_area(k: X86Kernel): CpuEntryFrames {
  const f: CpuEntryFrames = {
    gdt: alloc_kernel_table(k, 'gdt_page'),
    entry_stack: alloc_kernel_table(k, 'entry_stack_storage'),
    tss: alloc_kernel_table(k, 'cpu_tss_rw'),
    estacks: [],
  };
  // The GDT alias is read-only on 64-bit (gdt_prot = PAGE_KERNEL_RO): LTR's busy bit goes to the writable copy.
  kernel_map_page(k, CPU_ENTRY_AREA_PER_CPU + CEA_GDT, f.gdt, PAGE_KERNEL_RO);
  kernel_map_page(k, CPU_ENTRY_AREA_PER_CPU + CEA_ENTRY_STACK, f.entry_stack, PAGE_KERNEL);
  kernel_map_page(k, CPU_ENTRY_AREA_PER_CPU + CEA_TSS, f.tss, PAGE_KERNEL);
  // percpu_setup_exception_stacks(): cea_map_stack() for DF, NMI, DB, MCE, VC (guards unmapped).
  for (let ist = 0; ist < IST_NAMES.length; ist++) {
    const frames: number[] = [];
    for (let p = 0; p < EXCEPTION_STKSZ / 4096; p++) {
      const pfn = alloc_kernel_table(k, `${IST_NAMES[ist]}_stack`);
      kernel_map_page(k, estackBottom(ist) + BigInt(p * 4096), pfn, PAGE_KERNEL);
      frames.push(pfn);
    }
    f.estacks.push(frames);
  }
  return f;
}

/** idt_map_in_cea(): map idt_table read-only at CPU_ENTRY_AREA_RO_IDT. */
export function idt_map_in_cea(k: X86Kernel): void {
  kernel_map_page(k, CPU_ENTRY_AREA_RO_IDT, k.idt_pfn, PAGE_KERNEL_RO);
}
