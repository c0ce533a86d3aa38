// Mach exception to BSD signal (bsd/uxkern/ux_exception.c:56, 114; bsd/dev/i386/unix_signal.c:958
// machine_exception; xnu-11417.121.6). EXC_BAD_ACCESS becomes SIGSEGV for KERN_INVALID_ADDRESS
// and SIGBUS for every other code, unlike Linux; a protection failure on the stack's guard
// range becomes SIGSEGV (checklist 15, 16).

import { decide, enter, hx, krName, leave, KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE, type Xnu } from '../../xnu.js';
import { EXC_BAD_ACCESS, EXC_I386_GPFLT } from '../../osfmk/i386/trap.js';
import { threadsignal, SIGBUS, SIGSEGV } from '../kern/kern_sig.js';

const FILE = 'bsd/uxkern/ux_exception.c';
/** MAXSSIZ (bsd/i386/vmparam.h): the stack-guard window below p->user_stack. */
export const MAXSSIZ = 64 * 1024 * 1024;

type UxDecision = 'gpflt-sigsegv' | 'invalid-address-sigsegv' | 'stack-guard-sigsegv' | 'other-code-sigbus';

/** handle_ux_exception (ux_exception.c:114): map, then post the signal to the thread. */
export function handle_ux_exception(k: Xnu, exc: number, code: number, subcode: bigint): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'handle_ux_exception', src: `${FILE}:handle_ux_exception (xnu-11417)`, args: { exception: String(exc), code: krName(code), subcode: hx(subcode) } });
  const sig = ux_exception(k, exc, code, subcode);
  const th = k.current!.thread;
  th.uu_exception = exc;
  th.uu_subcode = subcode;
  threadsignal(k, sig, code);
  leave(k, 'handle_ux_exception');
}

/** ux_exception (ux_exception.c:56, with machine_exception first). */
export function ux_exception(k: Xnu, exc: number, code: number, subcode: bigint): number {
  enter(k, 'ux_exception', FILE);
  let why: UxDecision;
  if (exc === EXC_BAD_ACCESS && code === EXC_I386_GPFLT) why = 'gpflt-sigsegv';
  else if (code === KERN_INVALID_ADDRESS) why = 'invalid-address-sigsegv';
  else if (code === KERN_PROTECTION_FAILURE && inStackGuard(k, subcode)) why = 'stack-guard-sigsegv';
  else why = 'other-code-sigbus';
  const sig = why === 'other-code-sigbus' ? SIGBUS : SIGSEGV;
  if (why === 'stack-guard-sigsegv') forceDefaultUnlessOnstack(k);
  decide(k, 'ux_exception', why, sig === SIGSEGV ? 'SIGSEGV' : 'SIGBUS');
  leave(k, 'ux_exception', sig === SIGSEGV ? 'SIGSEGV' : 'SIGBUS');
  return sig;
}

function inStackGuard(k: Xnu, addr: bigint): boolean {
  const top = BigInt(k.current!.proc.user_stack);
  return addr >= top - BigInt(MAXSSIZ) && addr < top;
}

/** ux_exception.c:141-163: masked, ignored or not SA_ONSTACK SIGSEGV is reset to SIG_DFL. */
function forceDefaultUnlessOnstack(k: Xnu): void {
  const p = k.current!.proc;
  const act = p.sigacts.get(SIGSEGV);
  const masked = (p.p_sigmask & (1 << (SIGSEGV - 1))) !== 0;
  if (!act || act.action !== 'handler' || !act.onstack || masked) {
    p.sigacts.set(SIGSEGV, { action: 'default', onstack: false });
    decide(k, 'ux_exception', 'sigsegv-forced-default');
  }
}
