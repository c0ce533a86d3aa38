// fork (bsd/kern/kern_fork.c fork1 -> cloneproc -> fork_create_child -> task_create_internal
// with vm_map_fork; xnu-11417.121.6). The child gets a copy of the parent's map by each
// entry's inheritance, a new thread with the parent's user registers (rax = 0 in the child).
// Simplified: no credentials, files, or resource limits; the parent's other threads do not exist.

import { enter, leave, type Xnu } from '../../xnu.js';
import { thread_create, type Task } from '../../osfmk/kern/task.js';
import { vm_map_fork } from '../../osfmk/vm/vm_map_ops.js';

/** fork1: returns the child task (the parent's fork() returns its pid). */
export function fork1(k: Xnu, parent: Task, name: string): Task {
  enter(k, 'fork1', 'bsd/kern/kern_fork.c', k.trace.enabled ? { parent: String(parent.proc.p_pid) } : undefined);
  const map = vm_map_fork(k, parent.map);
  const regs = { ...parent.thread.regs, gpr: { ...parent.thread.regs.gpr, rax: 0n } };
  const child: Task = {
    name, map, faults: 0, cow_faults: 0, pageins: 0, decompressions: 0, thread: thread_create(k, regs), exc_port_task: parent.exc_port_task, exc_port_thread: false,
    proc: { ...parent.proc, p_pid: k.nextPid++, p_name: name, sigacts: new Map(parent.proc.sigacts), exited: false, p_xsig: 0 },
  };
  k.tasks.push(child);
  leave(k, 'fork1', String(child.proc.p_pid));
  return child;
}
