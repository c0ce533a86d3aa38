// arch/x86/kernel/cpu/common.c (5.19/6.x): the per-CPU GDT (gdt_page), the TSS with its stacks
// (cpu_init_exception_handling: tss_setup_ist, load_sp0, load_TR_desc) and the SYSCALL MSRs
// (syscall_init). Descriptors are written into the per-CPU frames through the direct map, then
// the CPU loads them (LGDT, LTR, LIDT) from the cpu_entry_area aliases, as cpu_init() ends.

import { encodeSeg, encodeTssDesc, TSS_IOMAP, TSS_RSP0, TSS_SIZE, tssIstOffset } from '../../../../../../hw/desc.js';
import { lgdt, ltr } from '../../../../../../hw/delivery.js';
import {
  CEA_GDT_VA, CEA_TSS_VA, ENTRY_STACK_TOP, EXCEPTION_STKSZ, GDT_ENTRIES, GDT_ENTRY_DEFAULT_USER32_CS, GDT_ENTRY_DEFAULT_USER_CS,
  GDT_ENTRY_DEFAULT_USER_DS, GDT_ENTRY_KERNEL32_CS, GDT_ENTRY_KERNEL_CS, GDT_ENTRY_KERNEL_DS, IST_NAMES, PAGE_OFFSET, TSS_SELECTOR,
  estackBottom, type X86Kernel,
} from '../../include/asm/processor.js';
import { read64, write64 } from '../../include/asm/ptrace.js';
import type { CpuEntryFrames } from '../../mm/cpu_entry_area.js';

/** The writable per-CPU copy of a cpu_entry_area frame, through the direct map. */
export function directVa(pfn: number): bigint {
  return PAGE_OFFSET + BigInt(pfn) * 4096n;
}

/** GDT_ENTRY_INIT for the 64-bit GDT (gdt_page in common.c). */
export function setup_gdt(k: X86Kernel, f: CpuEntryFrames): void {
  const base = directVa(f.gdt);
  const put = (idx: number, d: readonly number[]) => {
    for (let i = 0; i < d.length; i += 2) write64(k.machine, base + BigInt(idx * 8 + i * 4), (BigInt(d[i + 1]!) << 32n) | BigInt(d[i]!));
  };
  put(GDT_ENTRY_KERNEL32_CS, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: false, db: true }));
  put(GDT_ENTRY_KERNEL_CS, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: true, db: false }));
  put(GDT_ENTRY_KERNEL_DS, encodeSeg({ present: true, dpl: 0, s: true, type: 0x3, long: false, db: true }));
  put(GDT_ENTRY_DEFAULT_USER32_CS, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: false, db: true }));
  put(GDT_ENTRY_DEFAULT_USER_DS, encodeSeg({ present: true, dpl: 3, s: true, type: 0x3, long: false, db: true }));
  put(GDT_ENTRY_DEFAULT_USER_CS, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: true, db: false }));
  // set_tss_desc(): the descriptor names the TSS by its cpu_entry_area address.
  put(TSS_SELECTOR / 8, encodeTssDesc(CEA_TSS_VA, TSS_SIZE - 1));
}

/** The top of IST stack `ist` (IST_INDEX_*): where TSS.ist[ist] points. */
export function estackTop(ist: number): bigint {
  return estackBottom(ist) + BigInt(EXCEPTION_STKSZ);
}

/** tss_setup_ist(): TSS.IST1..5 = the tops of the DF, NMI, DB, MCE, VC stacks. */
export function tss_setup_ist(k: X86Kernel, f: CpuEntryFrames): void {
  for (let ist = 0; ist < IST_NAMES.length; ist++) write64(k.machine, directVa(f.tss) + BigInt(tssIstOffset(ist + 1)), estackTop(ist));
}

/** load_sp0(): TSS.sp0, the stack the CPU switches to on a CPL 3 -> 0 transition. */
export function load_sp0(k: X86Kernel, f: CpuEntryFrames, sp0: bigint): void {
  write64(k.machine, directVa(f.tss) + BigInt(TSS_RSP0), sp0);
}

/** Read TSS.sp0 back through the cpu_entry_area (as the CPU and the exit path read it). */
export function tss_sp0(k: X86Kernel): bigint {
  return read64(k.machine, CEA_TSS_VA + BigInt(TSS_RSP0));
}

/**
 * cpu_init_exception_handling() (5.19/6.x): ISTs, no I/O bitmap, TSS descriptor + LTR, sp0 =
 * the entry stack top, then load_fixmap_gdt() (LGDT of the read-only alias).
 */
export function cpu_init_exception_handling(k: X86Kernel, f: CpuEntryFrames): void {
  const m = k.machine;
  setup_gdt(k, f);
  lgdt(m, directVa(f.gdt), GDT_ENTRIES * 8 - 1); // switch_to_new_gdt(): the writable copy first
  tss_setup_ist(k, f);
  m.mem.write(f.tss * 4096 + TSS_IOMAP, 2, BigInt(TSS_SIZE)); // io_bitmap_base past the limit: no bitmap
  const fault = ltr(m, TSS_SELECTOR);
  if (fault) throw new Error(`model bug: LTR faulted (vector ${fault.vector})`);
  load_sp0(k, f, ENTRY_STACK_TOP);
  lgdt(m, CEA_GDT_VA, GDT_ENTRIES * 8 - 1); // load_fixmap_gdt()
}
