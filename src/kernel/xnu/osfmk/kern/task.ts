// struct task, struct thread and the BSD proc/uthread parts the fault path touches
// (osfmk/kern/task.h, osfmk/kern/thread.h, osfmk/i386/thread.h, bsd/sys/proc_internal.h,
// bsd/sys/user.h; xnu-11417.121.6). One thread per task.

import { hex } from '../../../../trace/events.js';
import type { VmMap } from '../vm/vm_map.js';
import { kmem_alloc } from '../vm/vm_kern.js';
import { X86_SAVED_STATE_SIZE } from '../x86_64/hib.js';
import type { Xnu } from '../../xnu.js';

/** The user-mode register state while the thread is off the CPU (the model's context switch). */
export interface UserRegs {
  rip: bigint;
  rsp: bigint;
  rflags: bigint;
  cs: number;
  ss: number;
  gpr: Record<string, bigint>;
}

export interface SigAction {
  /** 'handler': a handler that siglongjmps past the faulting access. */
  action: 'default' | 'ignore' | 'handler';
  onstack: boolean;
}

export interface Thread {
  /** thread->machine.iss: the x86_saved_state_t in the PCB (kernel VA). */
  iss: bigint;
  /** The top of the thread's kernel stack (CPU_KERNEL_STACK). */
  kstackTop: bigint;
  /** thread->machine.ids: debug registers in use (then DR7 is cleared on entry). */
  ids: boolean;
  /** th_vm_faults_disabled: vm_fault returns KERN_FAILURE (V3), which user_trap turns into a panic. */
  vm_faults_disabled: boolean;
  /** ast bits pending for this thread (AST_BSD = 0x80). */
  ast: number;
  /** uthread: uu_siglist, uu_code, uu_exception, uu_subcode. */
  uu_siglist: number;
  uu_code: number;
  uu_exception: number;
  uu_subcode: bigint;
  regs: UserRegs;
}

export interface Proc {
  p_pid: number;
  p_name: string;
  /** p->user_stack: the top of the main thread's stack (the stack-guard rule of ux_exception). */
  user_stack: number;
  sigacts: Map<number, SigAction>;
  p_sigmask: number;
  exited: boolean;
  /** The signal that killed it, and whether a core was dumped. */
  p_xsig: number;
}

export interface Task {
  name: string;
  map: VmMap;
  /** Per-task counters (task->faults, cow_faults, pageins: proc_pidinfo pti_*). */
  faults: number;
  cow_faults: number;
  pageins: number;
  /** thread->decompressions (VM_STAT_DECOMPRESSIONS): compressed pages this task faulted back in. */
  decompressions: number;
  thread: Thread;
  proc: Proc;
  /** Task-level exception ports set for EXC_BAD_ACCESS (none by default: the host's ux_handler catches). */
  exc_port_task: boolean;
  exc_port_thread: boolean;
}

export const AST_BSD = 0x80;

/** thread_create + machine_thread_create (simplified): a PCB with the saved state, and a kernel stack. */
export function thread_create(k: Xnu, regs: UserRegs): Thread {
  const pcb = kmem_alloc(k, 1);
  const kstack = kmem_alloc(k, 4);
  if (X86_SAVED_STATE_SIZE > 4096) throw new Error('model bug: saved state larger than its page');
  return { iss: pcb, kstackTop: kstack + 0x4000n, ids: false, vm_faults_disabled: false, ast: 0, uu_siglist: 0, uu_code: 0, uu_exception: 0, uu_subcode: 0n, regs };
}

/** A short description for traces. */
export function taskName(t: Task): string {
  return `${t.name}[${t.proc.p_pid}] iss=${hex(t.thread.iss)}`;
}
