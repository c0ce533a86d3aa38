// kernel/entry/common.c (5.19/6.18): the generic entry/exit work around every exception handler.
// irqentry_enter() notes where the exception came from; irqentry_exit() to user mode runs
// exit_to_user_mode_loop(), which is where a forced SIGSEGV/SIGBUS is actually delivered
// (arch_do_signal_or_restart). Simplified: no context tracking, RCU or rescheduling.

import { user_mode, type PtRegs } from '../../arch/x86/include/asm/ptrace.js';
import type { X86Kernel } from '../../arch/x86/include/asm/processor.js';
import { arch_do_signal_or_restart } from '../../arch/x86/kernel/signal.js';
import { decide, fentry, fexit } from '../../arch/x86/kernel/ftrace.js';

const SRC = 'kernel/entry/common.c';

export interface IrqentryState {
  exit_rcu: boolean;
}

/** irqentry_enter(): from user mode, enter_from_user_mode(); from kernel mode, RCU bookkeeping. */
export function irqentry_enter(k: X86Kernel, regs: PtRegs): IrqentryState {
  fentry(k, 'irqentry_enter', SRC);
  decide(k, 'irqentry_enter', user_mode(regs) ? 'enter_from_user_mode' : 'from kernel');
  fexit(k, 'irqentry_enter');
  return { exit_rcu: false };
}

/** irqentry_exit(): to user mode, irqentry_exit_to_user_mode() -> exit_to_user_mode_loop(). */
export function irqentry_exit(k: X86Kernel, regs: PtRegs, _state: IrqentryState): void {
  fentry(k, 'irqentry_exit', SRC);
  if (user_mode(regs) && k.current.state !== 'dead') exit_to_user_mode_loop(k, regs);
  fexit(k, 'irqentry_exit');
}

/** exit_to_user_mode_loop(): with TIF_SIGPENDING, arch_do_signal_or_restart(). */
export function exit_to_user_mode_loop(k: X86Kernel, regs: PtRegs): void {
  if (!k.current.pending) return;
  fentry(k, 'exit_to_user_mode_loop', SRC);
  arch_do_signal_or_restart(k, regs);
  fexit(k, 'exit_to_user_mode_loop');
}
