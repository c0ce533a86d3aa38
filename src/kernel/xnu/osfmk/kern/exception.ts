// Mach exception delivery (osfmk/kern/exception.c:721, 871; osfmk/kern/ux_handler.c:85, 129;
// xnu-11417.121.6): try the thread's, then the task's, then the host's exception port for the
// exception type; the first delivery that succeeds ends the search. The host port is the
// in-kernel ux_handler, which turns the exception into a BSD signal (checklist 15).
// Simplified: ports are flags (no IPC, no user-space exception servers, no corpses).

import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import { handle_ux_exception } from '../../bsd/uxkern/ux_exception.js';

const FILE = 'osfmk/kern/exception.c';

type PortLevel = 'thread' | 'task' | 'host';

/** exception_triage (exception.c:871) -> exception_triage_thread (l.721), then thread_exception_return. */
export function exception_triage(k: Xnu, exc: number, code: number, subcode: bigint): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'exception_triage', src: `${FILE}:exception_triage (xnu-11417)`, args: { exception: String(exc), code: String(code), subcode: hx(subcode) } });
  exception_triage_thread(k, exc, code, subcode);
  decide(k, 'exception_triage', 'thread_exception_return', 'locore.s:182: cli; jmp return_from_trap');
  leave(k, 'exception_triage');
}

function exception_triage_thread(k: Xnu, exc: number, code: number, subcode: bigint): void {
  enter(k, 'exception_triage_thread', FILE);
  const task = k.current!;
  const levels: [PortLevel, boolean][] = [['thread', task.exc_port_thread], ['task', task.exc_port_task], ['host', true]];
  for (const [level, set] of levels) {
    if (!set) {
      if (k.trace.enabled) decide(k, 'exception_triage_thread', `no-${level}-port`);
      continue;
    }
    if (exception_deliver(k, level, exc, code, subcode)) break;
  }
  leave(k, 'exception_triage_thread');
}

/** exception_deliver (exception.c): here only the host's ux_handler port answers (KERN_SUCCESS). */
function exception_deliver(k: Xnu, level: PortLevel, exc: number, code: number, subcode: bigint): boolean {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'exception_deliver', src: `${FILE}:exception_deliver (xnu-11417)`, args: { port: level === 'host' ? 'host ux_handler_port' : level } });
  if (level !== 'host') {
    decide(k, 'exception_deliver', 'user-port-not-modelled');
    leave(k, 'exception_deliver', 'MACH_SEND_INVALID_DEST');
    return false;
  }
  enter(k, 'catch_mach_exception_raise', 'osfmk/kern/ux_handler.c');
  handle_ux_exception(k, exc, code, subcode);
  leave(k, 'catch_mach_exception_raise', 'KERN_SUCCESS');
  leave(k, 'exception_deliver', 'KERN_SUCCESS');
  return true;
}
