// arch/x86/mm/extable.c (5.19/6.18): the exception table. Each entry names a kernel instruction
// that may fault on a user address (a uaccess) and where to resume. fixup_exception() looks up
// regs->ip, applies the entry's handler (EX_TYPE_*), and rewrites regs->ip in the saved frame, so
// the IRETQ at the end of the fault returns to the fixup label instead of the faulting insn.

import { hex } from '../../../../../trace/events.js';
import type { X86Kernel } from '../include/asm/processor.js';
import { storeField, type PtRegs } from '../include/asm/ptrace.js';
import { decide, fentry, fexit } from '../kernel/ftrace.js';

/** The handler types the model uses (asm/extable_fixup_types.h). */
export type ExType = 'EX_TYPE_DEFAULT' | 'EX_TYPE_FAULT' | 'EX_TYPE_UACCESS' | 'EX_TYPE_COPY';

/** struct exception_table_entry (relative offsets in the kernel; absolute addresses here). */
export interface ExceptionTableEntry {
  insn: bigint;
  fixup: bigint;
  type: ExType;
}

/** search_exception_tables(): the entry for `ip`, or null. */
export function search_exception_tables(k: X86Kernel, ip: bigint): ExceptionTableEntry | null {
  return k.extable.find((e) => e.insn === ip) ?? null;
}

/**
 * fixup_exception(regs, trapnr, error_code, fault_addr): apply the entry's handler. EX_TYPE_UACCESS
 * and EX_TYPE_DEFAULT only move ip; EX_TYPE_FAULT and EX_TYPE_COPY (ex_handler_fault) also put the
 * trap number in regs->ax. Returns whether an entry was found.
 */
export function fixup_exception(k: X86Kernel, regs: PtRegs, trapnr: number, _error_code: number, _fault_addr: bigint): boolean {
  fentry(k, 'fixup_exception', 'arch/x86/mm/extable.c');
  const e = search_exception_tables(k, regs.ip);
  if (!e) {
    decide(k, 'fixup_exception', 'no exception-table entry');
    fexit(k, 'fixup_exception', '0');
    return false;
  }
  if (e.type === 'EX_TYPE_FAULT' || e.type === 'EX_TYPE_COPY') storeField(k.machine, regs, 'ax', BigInt(trapnr));
  storeField(k.machine, regs, 'ip', e.fixup); // ex_handler_default(): regs->ip = ex_fixup_addr(e)
  if (k.machine.trace.enabled) decide(k, 'fixup_exception', e.type, `regs->ip ${k.syms.describe(e.insn)} -> ${k.syms.describe(e.fixup)} (${hex(e.fixup)})`);
  fexit(k, 'fixup_exception', '1');
  return true;
}
