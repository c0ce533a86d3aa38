// arch/x86/kernel/idt.c (5.19 and 6.x): the gate tables and how boot installs them. Linux uses
// interrupt gates for everything (IF=0 in every handler); SYSG gates have DPL 3 so user code may
// `int` them; ISTG gates name an IST stack, stored as index+1 (0 means "no IST"). #PF never uses
// an IST. Simplified: no APIC/IRQ vectors (0x20+ stay not present), one CPU.

import { GATE_INTERRUPT, decodeGate, encodeGate, type Gate } from '../../../../../hw/desc.js';
import { lidt } from '../../../../../hw/delivery.js';
import {
  __KERNEL_CS, CPU_ENTRY_AREA_RO_IDT, IST_INDEX_DB, IST_INDEX_DF, IST_INDEX_MCE, IST_INDEX_NMI, IST_INDEX_VC,
  PAGE_OFFSET, type X86Kernel,
} from '../include/asm/processor.js';
import { read64, write64 } from '../include/asm/ptrace.js';
import { decide, fentry, fexit } from './ftrace.js';

// asm/trapnr.h
export const X86_TRAP_DE = 0;
export const X86_TRAP_DB = 1;
export const X86_TRAP_NMI = 2;
export const X86_TRAP_BP = 3;
export const X86_TRAP_OF = 4;
export const X86_TRAP_BR = 5;
export const X86_TRAP_UD = 6;
export const X86_TRAP_NM = 7;
export const X86_TRAP_DF = 8;
export const X86_TRAP_OLD_MF = 9;
export const X86_TRAP_TS = 10;
export const X86_TRAP_NP = 11;
export const X86_TRAP_SS = 12;
export const X86_TRAP_GP = 13;
export const X86_TRAP_PF = 14;
export const X86_TRAP_SPURIOUS = 15;
export const X86_TRAP_MF = 16;
export const X86_TRAP_AC = 17;
export const X86_TRAP_MC = 18;
export const X86_TRAP_XF = 19;
export const X86_TRAP_VE = 20;
export const X86_TRAP_CP = 21;
export const X86_TRAP_VC = 29;
export const IA32_SYSCALL_VECTOR = 0x80;
export const IDT_ENTRIES = 256;

/** struct idt_data: one table row before it becomes a gate_desc. */
export interface IdtData {
  vector: number;
  /** The entry symbol (asm_exc_*). */
  addr: string;
  /** The gate's IST field: 0 = none, else IST_INDEX_* + 1. */
  ist: number;
  dpl: 0 | 3;
}

/** INTG: interrupt gate, DPL 0, no IST. */
const INTG = (vector: number, addr: string): IdtData => ({ vector, addr, ist: 0, dpl: 0 });
/** SYSG: interrupt gate, DPL 3 (reachable with `int n` from user mode). */
const SYSG = (vector: number, addr: string): IdtData => ({ vector, addr, ist: 0, dpl: 3 });
/** ISTG: interrupt gate, DPL 0, on IST stack `ist` (the descriptor holds ist + 1). */
const ISTG = (vector: number, addr: string, ist: number): IdtData => ({ vector, addr, ist: ist + 1, dpl: 0 });

/** early_idts[]: loaded by idt_setup_early_traps() in setup_arch(), before the ISTs exist. */
export const early_idts: readonly IdtData[] = [
  INTG(X86_TRAP_DB, 'asm_exc_debug'),
  SYSG(X86_TRAP_BP, 'asm_exc_int3'),
];

/** early_pf_idts[] (64-bit): the real #PF handler, installed by idt_setup_early_pf() after init_mem_mapping(). */
export const early_pf_idts: readonly IdtData[] = [INTG(X86_TRAP_PF, 'asm_exc_page_fault')];

/** def_idts[]: idt_setup_traps() in trap_init(). CONFIG_X86_MCE, CONFIG_AMD_MEM_ENCRYPT, CONFIG_X86_KERNEL_IBT, CONFIG_IA32_EMULATION on. */
export const def_idts: readonly IdtData[] = [
  INTG(X86_TRAP_DE, 'asm_exc_divide_error'),
  ISTG(X86_TRAP_NMI, 'asm_exc_nmi', IST_INDEX_NMI),
  INTG(X86_TRAP_BR, 'asm_exc_bounds'),
  INTG(X86_TRAP_UD, 'asm_exc_invalid_op'),
  INTG(X86_TRAP_NM, 'asm_exc_device_not_available'),
  INTG(X86_TRAP_OLD_MF, 'asm_exc_coproc_segment_overrun'),
  INTG(X86_TRAP_TS, 'asm_exc_invalid_tss'),
  INTG(X86_TRAP_NP, 'asm_exc_segment_not_present'),
  INTG(X86_TRAP_SS, 'asm_exc_stack_segment'),
  INTG(X86_TRAP_GP, 'asm_exc_general_protection'),
  INTG(X86_TRAP_SPURIOUS, 'asm_exc_spurious_interrupt_bug'),
  INTG(X86_TRAP_MF, 'asm_exc_coprocessor_error'),
  INTG(X86_TRAP_AC, 'asm_exc_alignment_check'),
  INTG(X86_TRAP_XF, 'asm_exc_simd_coprocessor_error'),
  ISTG(X86_TRAP_DF, 'asm_exc_double_fault', IST_INDEX_DF),
  ISTG(X86_TRAP_DB, 'asm_exc_debug', IST_INDEX_DB),
  ISTG(X86_TRAP_MC, 'asm_exc_machine_check', IST_INDEX_MCE),
  ISTG(X86_TRAP_VC, 'asm_exc_vmm_communication', IST_INDEX_VC),
  INTG(X86_TRAP_CP, 'asm_exc_control_protection'),
  SYSG(X86_TRAP_OF, 'asm_exc_overflow'),
  SYSG(IA32_SYSCALL_VECTOR, 'entry_INT80_compat'),
];

/** Every entry symbol the tables name (the entry code lays these out in text). */
export function idtSymbols(): string[] {
  return [...new Set([...early_idts, ...early_pf_idts, ...def_idts].map((d) => d.addr))];
}

/** Where idt_table lives: `gate_desc idt_table[256] __page_aligned_bss`, reached through the direct map. */
export function idt_table_va(k: X86Kernel): bigint {
  return PAGE_OFFSET + BigInt(k.idt_pfn) * 4096n;
}

/** idt_init_desc(): the gate_desc for one row (always an interrupt gate, __KERNEL_CS, present). */
export function idt_init_desc(k: X86Kernel, d: IdtData): Gate {
  return { offset: k.syms.addr(d.addr), selector: __KERNEL_CS, ist: d.ist, type: GATE_INTERRUPT, dpl: d.dpl, present: true };
}

/** idt_setup_from_table(): write each row's gate into idt_table (write_idt_entry), through memory. */
export function idt_setup_from_table(k: X86Kernel, table: readonly IdtData[], name: string): void {
  fentry(k, 'idt_setup_from_table', 'arch/x86/kernel/idt.c');
  const base = idt_table_va(k);
  for (const d of table) {
    const [d0, d1, d2, d3] = encodeGate(idt_init_desc(k, d));
    const va = base + BigInt(d.vector * 16);
    write64(k.machine, va, (BigInt(d1) << 32n) | BigInt(d0));
    write64(k.machine, va + 8n, (BigInt(d3) << 32n) | BigInt(d2));
  }
  if (k.machine.trace.enabled) decide(k, 'idt_setup_from_table', 'installed', `${name}: ${table.length} gates`);
  fexit(k, 'idt_setup_from_table');
}

/** idt_setup_early_traps(): early_idts, then load the IDT (setup_arch). */
export function idt_setup_early_traps(k: X86Kernel): void {
  idt_setup_from_table(k, early_idts, 'early_idts');
  load_idt(k, idt_table_va(k));
}

/** idt_setup_early_pf(): the real #PF handler, once init_mem_mapping() no longer needs the early one. */
export function idt_setup_early_pf(k: X86Kernel): void {
  idt_setup_from_table(k, early_pf_idts, 'early_pf_idts');
}

/** idt_setup_traps(): def_idts (trap_init, after cpu_init_exception_handling set up the ISTs). */
export function idt_setup_traps(k: X86Kernel): void {
  idt_setup_from_table(k, def_idts, 'def_idts');
}

/**
 * idt_setup_apic_and_irq_gates() tail: map idt_table read-only at CPU_ENTRY_AREA_RO_IDT
 * (idt_map_in_cea, done by the caller's page-table code) and reload IDTR with that alias.
 * Simplified: no APIC/IRQ gates; set_memory_ro() of the direct-map copy is not modelled.
 */
export function idt_switch_to_ro_alias(k: X86Kernel): void {
  load_idt(k, CPU_ENTRY_AREA_RO_IDT);
}

/** load_idt(): LIDT with IDT_ENTRIES gates. */
export function load_idt(k: X86Kernel, base: bigint): void {
  lidt(k.machine, base, IDT_ENTRIES * 16 - 1);
}

/** Decode gate `vector` from the IDT the CPU uses (IDTR), reading simulated memory. */
export function read_idt_gate(k: X86Kernel, vector: number): Gate {
  const va = k.machine.cpu.idtr.base + BigInt(vector * 16);
  const q0 = read64(k.machine, va);
  const q1 = read64(k.machine, va + 8n);
  return decodeGate(Number(q0 & 0xffffffffn), Number(q0 >> 32n), Number(q1 & 0xffffffffn));
}
