// arch/x86/kernel/signal.c (5.19/6.18): delivering a signal on the way back to user mode.
// arch_do_signal_or_restart() -> get_signal(): a fault signal with SIG_DFL dumps core and kills
// the process (do_group_exit); with a handler, handle_signal() -> setup_rt_frame() builds the
// frame whose sigcontext carries trapno/err/cr2 from thread (setup_sigcontext) and points
// regs->ip at the handler. Simplified: the rt_sigframe is not written to the user stack; what the
// handler would read is kept in the task (`delivered`).

import { hex } from '../../../../../trace/events.js';
import { do_group_exit } from '../../../kernel/exit.js';
import { SIGKILL } from '../../../kernel/signal.js';
import type { X86Kernel } from '../include/asm/processor.js';
import { storeField, type PtRegs } from '../include/asm/ptrace.js';
import { decide, fentry, fexit } from './ftrace.js';

/** The user address the model's signal handler lives at (the program's `handler`). */
export const USER_SIGNAL_HANDLER = 0x401800n;

/** setup_sigcontext(): the sigcontext fields the fault path filled in thread_struct. */
export function setup_sigcontext(k: X86Kernel): { trapno: number; err: number; cr2: bigint } {
  const t = k.current.thread;
  return { trapno: t.trap_nr, err: t.error_code, cr2: t.cr2 };
}

/** arch_do_signal_or_restart(): get_signal(), then handle_signal() or the default action. */
export function arch_do_signal_or_restart(k: X86Kernel, regs: PtRegs): void {
  const fn = 'arch_do_signal_or_restart';
  fentry(k, fn, 'arch/x86/kernel/signal.c');
  const tsk = k.current;
  const sig = tsk.pending!;
  tsk.pending = null;
  const act = sig.signo === SIGKILL ? 'default' : tsk.sighand.get(sig.signo) ?? 'default';
  const sc = setup_sigcontext(k);
  tsk.delivered = { signo: sig.signo, code: sig.code, addr: sig.addr, ...sc, ...(sig.pkey === undefined ? {} : { pkey: sig.pkey }) };
  if (act === 'handler') {
    storeField(k.machine, regs, 'ip', USER_SIGNAL_HANDLER); // setup_rt_frame(): regs->ip = sa_handler
    if (k.machine.trace.enabled) {
      decide(k, fn, 'handle_signal', `setup_rt_frame: sigcontext trapno=${sc.trapno} err=${hex(sc.err)} cr2=${hex(sc.cr2)}; regs->ip = handler ${hex(USER_SIGNAL_HANDLER)}`);
    }
  } else {
    decide(k, fn, 'get_signal: default action', 'core dump, then do_group_exit()');
    do_group_exit(k, sig.signo | (sig.signo === SIGKILL ? 0 : 0x80)); // WCOREDUMP for SIGSEGV/SIGBUS
  }
  fexit(k, fn);
}
