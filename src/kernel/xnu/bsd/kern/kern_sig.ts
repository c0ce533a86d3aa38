// Posting and delivering the signal of a fault (bsd/kern/kern_sig.c:1778 threadsignal, 3307
// bsd_ast, postsig_locked; bsd/dev/i386/unix_signal.c:165 sendsig; xnu-11417.121.6).
// The default action of SIGSEGV and SIGBUS is SA_KILL|SA_CORE (bsd/sys/signalvar.h:129-145).
// Simplified: a handler is not run as code: sendsig computes the siginfo it would get, and the
// model's handler "siglongjmps" past the faulting access (the scenario's `signals: handle`).

import { decide, enter, hx, leave, KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE, type Xnu } from '../../xnu.js';
import { AST_BSD } from '../../osfmk/kern/task.js';
import { CPU_PENDING_AST, R64 } from '../../osfmk/x86_64/hib.js';
import { kread, kwrite } from '../../osfmk/x86_64/kaccess.js';
import { EXC_I386_GPFLT } from '../../osfmk/i386/trap.js';
import { exit1 } from './kern_exit.js';

const FILE = 'bsd/kern/kern_sig.c';
export const SIGKILL = 9;
export const SIGBUS = 10;
export const SIGSEGV = 11;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRERR = 2;

export function signalName(sig: number): string {
  return sig === SIGSEGV ? 'SIGSEGV' : sig === SIGBUS ? 'SIGBUS' : sig === SIGKILL ? 'SIGKILL' : `SIG${sig}`;
}

/** threadsignal (kern_sig.c:1778): pend the signal on the thread and request AST_BSD. */
export function threadsignal(k: Xnu, sig: number, code: number): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'threadsignal', src: `${FILE}:threadsignal (xnu-11417)`, args: { signum: signalName(sig), code: String(code) } });
  const th = k.current!.thread;
  th.uu_siglist |= 1 << (sig - 1);
  th.uu_code = code;
  signal_setast(k);
  leave(k, 'threadsignal');
}

/** signal_setast (kern_sig.c): ast_on(AST_BSD) for the thread and the CPU. */
function signal_setast(k: Xnu): void {
  const th = k.current!.thread;
  th.ast |= AST_BSD;
  const at = k.m.cpu.gsBase + BigInt(CPU_PENDING_AST);
  kwrite(k, at, kread(k, at) | BigInt(AST_BSD));
  decide(k, 'signal_setast', 'ast-bsd-pending');
}

/** bsd_ast (kern_sig.c:3307): deliver each pending signal. Returns false when the process died. */
export function bsd_ast(k: Xnu): boolean {
  enter(k, 'bsd_ast', FILE);
  const th = k.current!.thread;
  let alive = true;
  for (let sig = 1; sig < 32 && alive; sig++) {
    if (!(th.uu_siglist & (1 << (sig - 1)))) continue;
    th.uu_siglist &= ~(1 << (sig - 1));
    alive = postsig_locked(k, sig);
  }
  leave(k, 'bsd_ast');
  return alive;
}

type PostsigAction = 'default-kill-core' | 'run-handler' | 'ignored' | 'sigkill-kill';

/** postsig_locked (kern_sig.c): the default action kills with a core; a handler gets sendsig. */
function postsig_locked(k: Xnu, sig: number): boolean {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'postsig_locked', src: `${FILE}:postsig_locked (xnu-11417)`, args: { signum: signalName(sig) } });
  const p = k.current!.proc;
  const act = p.sigacts.get(sig)?.action ?? 'default';
  // SIGKILL cannot be caught or ignored, and its default action (SA_KILL) dumps no core.
  const why: PostsigAction = sig === SIGKILL ? 'sigkill-kill' : act === 'handler' ? 'run-handler' : act === 'ignore' ? 'ignored' : 'default-kill-core';
  decide(k, 'postsig_locked', why);
  recordSignal(k, sig);
  if (why === 'run-handler') {
    sendsig(k, sig);
    k.trap.handled = true;
  } else if (why === 'default-kill-core' || why === 'sigkill-kill') {
    k.trap.killed = true;
    exit1(k, k.current!, sig);
  }
  leave(k, 'postsig_locked');
  return why !== 'default-kill-core' && why !== 'sigkill-kill';
}

/** si_code as sendsig fills it (unix_signal.c:560-583), checklist 17. */
export function siCode(sig: number, code: number): number {
  if (sig === SIGSEGV) return code === KERN_INVALID_ADDRESS ? SEGV_MAPERR : code === KERN_PROTECTION_FAILURE ? SEGV_ACCERR : 0;
  return BUS_ADRERR;
}

function recordSignal(k: Xnu, sig: number): void {
  const th = k.current!.thread;
  const gp = th.uu_code === EXC_I386_GPFLT;
  k.trap.signal = {
    signo: sig, code: siCode(sig, th.uu_code), addr: gp ? 0n : th.uu_subcode,
    trapno: Number(kread(k, th.iss + BigInt(R64.trapno), 2)), err: Number(kread(k, th.iss + BigInt(R64.err)) & 0xffffn),
  };
  if (k.trace.enabled) {
    const s = k.trap.signal;
    k.trace.emit({ ev: 'signal', pid: k.current!.proc.p_pid, signo: sig, name: signalName(sig), code: s.code, codeName: codeName(sig, s.code), addr: hx(s.addr), trapno: s.trapno, err: s.err });
  }
}

function codeName(sig: number, code: number): string {
  if (sig === SIGSEGV) return code === SEGV_MAPERR ? 'SEGV_MAPERR' : code === SEGV_ACCERR ? 'SEGV_ACCERR' : String(code);
  return code === BUS_ADRERR ? 'BUS_ADRERR' : String(code);
}

/** sendsig (unix_signal.c:165), simplified: the frame is not built; the handler siglongjmps past the access. */
function sendsig(k: Xnu, sig: number): void {
  enter(k, 'sendsig', 'bsd/dev/i386/unix_signal.c');
  if (k.trace.enabled) decide(k, 'sendsig', 'handler-siglongjmp', `si_addr=${hx(k.trap.signal!.addr)}: the handler skips the faulting access (not run as code)`);
  void sig;
  leave(k, 'sendsig');
}
