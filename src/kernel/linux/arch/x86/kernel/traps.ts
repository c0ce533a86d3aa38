// arch/x86/kernel/traps.c (5.19/6.18): exc_general_protection(). A #GP from user mode (here: a
// non-canonical address) logs "comm[pid] general protection fault ip:%lx sp:%lx error:%lx" and
// forces SIGSEGV with SI_KERNEL and si_addr 0; thread.trap_nr = 13 and error_code are set, cr2 is
// left as it was. From kernel mode an exception-table entry may fix it up, else it is an oops.

import { hex } from '../../../../../trace/events.js';
import { irqentry_enter, irqentry_exit } from '../../../kernel/entry/common.js';
import { do_exit } from '../../../kernel/exit.js';
import { SIGKILL, SIGSEGV, force_sig, unhandled_signal } from '../../../kernel/signal.js';
import type { X86Kernel } from '../include/asm/processor.js';
import { user_mode, type PtRegs } from '../include/asm/ptrace.js';
import { print_vma_addr } from '../mm/fault_bad_area.js';
import { fixup_exception } from '../mm/extable.js';
import { decide, fentry, fexit, printk } from './ftrace.js';

const SRC = 'arch/x86/kernel/traps.c';
const X86_TRAP_GP = 13;
const lx = (v: bigint | number): string => BigInt.asUintN(64, BigInt(v)).toString(16);

/** show_signal(): "comm[pid] <desc> ip:%lx sp:%lx error:%lx" + print_vma_addr, if unhandled. */
function show_signal(k: X86Kernel, regs: PtRegs, desc: string, error_code: number): void {
  const t = k.current;
  if (!k.show_unhandled_signals || !unhandled_signal(t, SIGSEGV)) return;
  printk(k, `${t.comm}[${t.pid}] ${desc} ip:${lx(regs.ip)} sp:${lx(regs.sp)} error:${lx(error_code)}${print_vma_addr(k, ' in ', regs.ip)}`);
}

/** gp_user_force_sig_segv(): trap_nr/error_code into thread, the log line, force_sig(SIGSEGV). */
function gp_user_force_sig_segv(k: X86Kernel, regs: PtRegs, error_code: number): void {
  fentry(k, 'gp_user_force_sig_segv', SRC);
  k.current.thread.error_code = error_code;
  k.current.thread.trap_nr = X86_TRAP_GP;
  show_signal(k, regs, 'general protection fault', error_code);
  force_sig(k, SIGSEGV);
  fexit(k, 'gp_user_force_sig_segv');
}

/** exc_general_protection() (DEFINE_IDTENTRY_ERRORCODE): irqentry_enter, the body, irqentry_exit. */
export function exc_general_protection(k: X86Kernel, regs: PtRegs, error_code: number): void {
  if (k.machine.trace.enabled) fentry(k, 'exc_general_protection', SRC, { regs: hex(regs.addr), error_code: hex(error_code) });
  const state = irqentry_enter(k, regs);
  if (user_mode(regs)) {
    decide(k, 'exc_general_protection', 'from user mode');
    gp_user_force_sig_segv(k, regs, error_code);
  } else if (fixup_exception(k, regs, X86_TRAP_GP, error_code, 0n)) {
    decide(k, 'exc_general_protection', 'fixed up');
  } else {
    printk(k, `general protection fault: ${error_code.toString(16).padStart(4, '0')} [#1] PREEMPT SMP${k.pti ? ' PTI' : ''}`);
    decide(k, 'exc_general_protection', 'die_addr: oops');
    do_exit(k, SIGKILL);
  }
  irqentry_exit(k, regs, state);
  fexit(k, 'exc_general_protection');
}
