// Process exit (bsd/kern/kern_exit.c exit1/proc_exit, osfmk/kern/task.c task_terminate;
// xnu-11417.121.6), simplified to what the VM sees: the whole map is removed (PTEs, entries,
// object references), which is what lets a fork peer's objects drop to one reference.

import { decide, enter, leave, type Xnu } from '../../xnu.js';
import type { Task } from '../../osfmk/kern/task.js';
import { vm_map_delete } from '../../osfmk/vm/vm_map_ops.js';

const FILE = 'bsd/kern/kern_exit.c';

/** exit1 -> proc_exit -> task_terminate -> vm_map_remove(map, min, max). */
export function exit1(k: Xnu, t: Task, sig: number): void {
  enter(k, 'exit1', FILE, k.trace.enabled ? { pid: String(t.proc.p_pid), signal: String(sig) } : undefined);
  decide(k, 'exit1', sig ? 'killed-by-signal-core' : 'exit-status');
  t.proc.exited = true;
  t.proc.p_xsig = sig;
  vm_map_delete(k, t.map, t.map.header.vme_start, t.map.header.vme_end, true);
  if (k.current === t) k.current = null;
  leave(k, 'exit1');
}
