// osfmk/x86_64/idt_table.h (xnu-11417.121.6): the 256 IDT entries as the macros declare them.
// The header is expanded twice in XNU: in asm for the stubs and in C (mp_desc.c:87-164) for
// `master_idt64`. Here it is one table; mp_desc.ts turns each row into a fake_descriptor64.

export type IdtMacro = 'TRAP' | 'TRAP_ERR' | 'TRAP_SPC' | 'TRAP_IST1' | 'TRAP_IST2' | 'USER_TRAP' | 'USER_TRAP_SPC' | 'INTERRUPT';

export interface IdtRow {
  vector: number;
  macro: IdtMacro;
  handler: string;
}

/** Vectors 0..31 (idt_table.h:29-60). */
const LOW: readonly [IdtMacro, string][] = [
  ['TRAP', 'idt64_zero_div'], ['TRAP_IST1', 'idt64_debug'], ['TRAP_IST2', 'idt64_nmi'],
  ['USER_TRAP', 'idt64_int3'], ['USER_TRAP', 'idt64_into'], ['USER_TRAP', 'idt64_bounds'],
  ['TRAP', 'idt64_invop'], ['TRAP', 'idt64_nofpu'], ['TRAP_IST1', 'idt64_double_fault'],
  ['TRAP', 'idt64_fpu_over'], ['TRAP_ERR', 'idt64_inv_tss'], ['TRAP_IST1', 'idt64_segnp'],
  ['TRAP_IST1', 'idt64_stack_fault'], ['TRAP_IST1', 'idt64_gen_prot'], ['TRAP_SPC', 'idt64_page_fault'],
  ['TRAP', 'idt64_trap_0f'], ['TRAP', 'idt64_fpu_err'], ['TRAP_ERR', 'idt64_alignment_check'],
  ['TRAP_IST1', 'idt64_mc'], ['TRAP', 'idt64_sse_err'],
];

function row(v: number): IdtRow {
  const low = LOW[v];
  if (low) return { vector: v, macro: low[0], handler: low[1] };
  const x = v.toString(16).padStart(2, '0');
  if (v < 0x20) return { vector: v, macro: 'TRAP', handler: `idt64_trap_${x}` };
  if (v === 0x7f) return { vector: v, macro: 'USER_TRAP', handler: 'idt64_dtrace_ret' };
  if (v === 0x80) return { vector: v, macro: 'USER_TRAP_SPC', handler: 'idt64_unix_scall' };
  if (v === 0x81) return { vector: v, macro: 'USER_TRAP_SPC', handler: 'idt64_mach_scall' };
  if (v === 0x82) return { vector: v, macro: 'USER_TRAP_SPC', handler: 'idt64_mdep_scall' };
  if (v === 0xff) return { vector: v, macro: 'TRAP', handler: 'idt64_preempt' };
  return { vector: v, macro: 'INTERRUPT', handler: `_intr_${x}` };
}

export const IDT_TABLE: readonly IdtRow[] = Array.from({ length: 256 }, (_, v) => row(v));

/** ACC_P|ACC_PL_K|ACC_INTR_GATE and ACC_P|ACC_PL_U|ACC_INTR_GATE (mp_desc.c:84-85, seg.h:221-251). */
export const K_INTR_GATE = 0x8e;
export const U_INTR_GATE = 0xee;

/** The gate access byte and IST a macro gives (mp_desc.c's C expansion of idt_table.h). */
export function gateOf(macro: IdtMacro): { access: number; ist: number } {
  switch (macro) {
    case 'TRAP_IST1': return { access: K_INTR_GATE, ist: 1 };
    case 'TRAP_IST2': return { access: K_INTR_GATE, ist: 2 };
    case 'USER_TRAP':
    case 'USER_TRAP_SPC': return { access: U_INTR_GATE, ist: 0 };
    default: return { access: K_INTR_GATE, ist: 0 };
  }
}

/** trapfn pushed by the asm stubs (idt64.s:74): HNDL_ALLINTRS 0, HNDL_ALLTRAPS 1, … */
export const HNDL_ALLINTRS = 0;
export const HNDL_ALLTRAPS = 1;

/** T_* trap numbers (osfmk/i386/trap.h:65-96) the model names. */
export const T_PAGE_FAULT = 14;
export const T_GENERAL_PROTECTION = 13;

/** #PF error-code bits as trap.h names them (trap.h:108-113). */
export const T_PF_PROT = 0x1;
export const T_PF_WRITE = 0x2;
export const T_PF_USER = 0x4;
export const T_PF_RSVD = 0x8;
export const T_PF_EXECUTE = 0x10;
