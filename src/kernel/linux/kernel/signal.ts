// kernel/signal.c (5.19/6.18), the parts a fault uses: force_sig_fault() / force_sig() queue a
// signal that the task cannot escape (force_sig_info_to_task: a blocked or ignored signal is
// unblocked and its handler reset to SIG_DFL), unhandled_signal() (decides whether the segfault
// line is printed), and get_signal()'s default action for the fault signals (core dump + exit).
// Simplified: one thread per process, only the fault signals, no real queue (one pending signal).

import { hex } from '../../../trace/events.js';
import type { LinuxTask, X86Kernel } from '../arch/x86/include/asm/processor.js';
import { decide, fentry, fexit } from '../arch/x86/kernel/ftrace.js';

export const SIGKILL = 9;
export const SIGBUS = 7;
export const SIGSEGV = 11;

// include/uapi/asm-generic/siginfo.h
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SEGV_BNDERR = 3;
export const SEGV_PKUERR = 4;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;
export const BUS_MCEERR_AR = 4;
export const SI_KERNEL = 0x80;

export const SIG_NAMES: Readonly<Record<number, string>> = { 7: 'SIGBUS', 9: 'SIGKILL', 11: 'SIGSEGV' };

export function siCodeName(signo: number, code: number): string {
  if (code === SI_KERNEL) return 'SI_KERNEL';
  if (signo === SIGSEGV) return ['', 'SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR'][code] ?? String(code);
  if (signo === SIGBUS) return ['', 'BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO'][code] ?? String(code);
  return String(code);
}

/** unhandled_signal(): true when the handler is SIG_DFL or SIG_IGN (nobody ptraces here). */
export function unhandled_signal(tsk: LinuxTask, sig: number): boolean {
  if (tsk.pid === 1) return true; // is_global_init()
  const act = tsk.sighand.get(sig) ?? 'default';
  return act !== 'handler';
}

/**
 * force_sig_info_to_task(): if the signal is blocked or ignored, reset it to SIG_DFL and unblock
 * it, so a fault cannot be ignored; then queue it (signal_wake_up sets TIF_SIGPENDING).
 */
function force_sig_info_to_task(k: X86Kernel, tsk: LinuxTask, signo: number, code: number, addr: bigint, pkey?: number): void {
  const fn = 'force_sig_info_to_task';
  fentry(k, fn, 'kernel/signal.c');
  const act = tsk.sighand.get(signo) ?? 'default';
  if (act === 'ignore' || tsk.blocked.has(signo)) {
    decide(k, fn, 'blocked or ignored: reset to SIG_DFL and unblock');
    tsk.sighand.set(signo, 'default');
    tsk.blocked.delete(signo);
  }
  tsk.pending = { signo, code, addr, pkey };
  const t = k.machine.trace;
  if (t.enabled) {
    t.emit({
      ev: 'signal', pid: tsk.pid, signo, name: SIG_NAMES[signo] ?? `SIG${signo}`, code, codeName: siCodeName(signo, code), addr: hex(addr),
      trapno: code === SI_KERNEL ? tsk.thread.trap_nr : tsk.thread.trap_nr, err: tsk.thread.error_code,
    });
  }
  fexit(k, fn);
}

/** force_sig_fault(sig, code, addr): a synchronous fault signal with si_addr (and si_pkey for PKUERR). */
export function force_sig_fault(k: X86Kernel, signo: number, code: number, addr: bigint, pkey: number): void {
  if (k.machine.trace.enabled) fentry(k, 'force_sig_fault', 'kernel/signal.c', { sig: SIG_NAMES[signo] ?? String(signo), code: siCodeName(signo, code), addr: hex(addr) });
  force_sig_info_to_task(k, k.current, signo, code, addr, code === SEGV_PKUERR ? pkey : undefined);
  fexit(k, 'force_sig_fault');
}

/** force_sig(sig): SI_KERNEL, si_addr 0 (the #GP path). */
export function force_sig(k: X86Kernel, signo: number): void {
  fentry(k, 'force_sig', 'kernel/signal.c');
  force_sig_info_to_task(k, k.current, signo, SI_KERNEL, 0n);
  fexit(k, 'force_sig');
}
