// fork(2) (kernel/fork.c, 5.19/6.18): kernel_clone() -> copy_process(): dup_task_struct (a new
// task_struct and a new vmalloc'd kernel stack), copy_mm() -> dup_mm() (L-mm's dup_mmap: COW
// write-protection in both processes), copy_sighand, copy_thread() (the child's pt_regs are the
// parent's with ax = 0, at the top of its own stack; it starts in ret_from_fork). Returns the
// child's pid to the parent. Simplified: one thread, no namespaces, no cgroups.

import type { LinuxTask, X86Kernel } from '../arch/x86/include/asm/processor.js';
import { THREAD_SIZE } from '../arch/x86/include/asm/processor.js';
import { FRAME_SIZE } from '../arch/x86/include/asm/ptrace.js';
import { read, write, quiet } from '../arch/x86/entry/calling.js';
import { decide, fentry, fexit } from '../arch/x86/kernel/ftrace.js';
import { ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import { dup_mm } from './fork.js';
import { BootError } from '../arch/x86/mm/init_64.js';
import { mmput } from '../mm/mm_init.js';

/** The task side of the kernel: a new task for the child (LinuxKernel.new_task). */
export interface TaskFactory extends X86Kernel {
  new_task(name: string, mm: LinuxTask['mm'], parent: LinuxTask | null): LinuxTask;
}

/** copy_thread(): the child's pt_regs = a copy of the parent's, with regs->ax = 0. */
function copy_thread(k: X86Kernel, child: LinuxTask): void {
  const m = k.machine;
  const src = k.percpu.top_of_stack - BigInt(FRAME_SIZE);
  const dst = child.stack + BigInt(THREAD_SIZE) - BigInt(FRAME_SIZE);
  quiet(m, () => {
    for (let off = 0; off < FRAME_SIZE; off += 8) write(m, dst + BigInt(off), off === 80 ? 0n : read(m, src + BigInt(off)));
    child.user = { rip: read(m, src + 128n), rsp: read(m, src + 152n), rflags: read(m, src + 144n), pkru: m.cpu.pkru }; // PKRU: the copied FPU state
  });
}

/** sys_fork() -> kernel_clone(SIGCHLD) -> copy_process(). */
export function sys_fork(k: TaskFactory): number {
  const parent = k.current;
  fentry(k, 'kernel_clone', 'kernel/fork.c');
  const mm = parent.mm ? dup_mm(k, parent.mm) : null;
  if (parent.mm && !mm) {
    decide(k, 'kernel_clone', 'copy_mm failed');
    fexit(k, 'kernel_clone', '-ENOMEM');
    return -ENOMEM;
  }
  let child: LinuxTask;
  try {
    child = k.new_task(parent.name, mm, parent); // dup_task_struct: the stack may not fit in RAM
  } catch (e) {
    if (!(e instanceof BootError)) throw e;
    if (mm) mmput(k, mm);
    decide(k, 'kernel_clone', 'dup_task_struct failed');
    fexit(k, 'kernel_clone', '-ENOMEM');
    return -ENOMEM;
  }
  child.min_flt = 0; // copy_process(): the child's fault counters start at zero
  child.maj_flt = 0;
  copy_thread(k, child);
  child.user.rip = parent.user.rip;
  if (k.machine.trace.enabled) decide(k, 'kernel_clone', 'wake_up_new_task', `child pid ${child.pid}`);
  if (k.machine.trace.enabled) fexit(k, 'kernel_clone', String(child.pid));
  return child.pid;
}
