// kernel/exit.c (5.19/6.18): do_exit() and do_group_exit(), reduced to what the model has: the
// mm is released (exit_mm -> mmput -> exit_mmap when the last user goes), the task becomes a zombie
// with its exit code, and it never runs again. One thread per process.

import type { X86Kernel } from '../arch/x86/include/asm/processor.js';
import { decide, fentry, fexit } from '../arch/x86/kernel/ftrace.js';
import { mmput } from '../mm/mm_init.js';

/** do_exit(code): exit_mm(), then the task is dead (exit_notify; schedule() never returns). */
export function do_exit(k: X86Kernel, code: number): void {
  const tsk = k.current;
  if (k.machine.trace.enabled) fentry(k, 'do_exit', 'kernel/exit.c', { code: `0x${code.toString(16)}` });
  if (tsk.state === 'dead') throw new Error(`model bug: do_exit of a dead task ${tsk.pid}`);
  const mm = tsk.mm;
  if (mm) {
    tsk.mm = null; // exit_mm(): the task no longer has an address space
    mmput(k, mm);
  }
  tsk.exit_code = code;
  tsk.state = 'dead';
  if (k.machine.trace.enabled) decide(k, 'do_exit', 'exit_notify', `pid ${tsk.pid} is a zombie; schedule() picks another task`);
  fexit(k, 'do_exit');
}

/** do_group_exit(code): the whole thread group exits (one thread here). */
export function do_group_exit(k: X86Kernel, code: number): void {
  fentry(k, 'do_group_exit', 'kernel/exit.c');
  do_exit(k, code);
  fexit(k, 'do_group_exit');
}

/** exit_group(2)/exit(2): the status goes in bits 8-15 of the exit code. */
export function sys_exit_group(k: X86Kernel, status: number): number {
  do_group_exit(k, (status & 0xff) << 8);
  return 0;
}
