// memorystatus, the jetsam killer (bsd/kern/kern_memorystatus.c, kern_memorystatus_policy.c;
// xnu-11417.121.6): when the VM cannot free pages, kill the top process of the lowest jetsam
// band; within a band the largest footprint goes first (kill cause "vm-pageshortage"). The log
// line follows memorystatus_do_kill's os_log. Simplified: every model process sits in the same
// band (JETSAM_PRIORITY_DEFAULT, 180); the footprint is resident plus compressed pages of the
// internal objects the task maps (phys_footprint, without the ledger); the timestamp is 0 (no clock);
// the victim's SIGKILL is delivered at its next return to user mode (the current thread) or at once.

import { klog, type Xnu } from '../../xnu.js';
import type { Task } from '../../osfmk/kern/task.js';
import type { VmObject } from '../../osfmk/vm/vm_object.js';
import { entriesOf } from '../../osfmk/vm/vm_map.js';
import { decide, enter, leave } from '../../xnu.js';
import { exit1 } from './kern_exit.js';
import { SIGKILL, threadsignal } from './kern_sig.js';

const FILE = 'bsd/kern/kern_memorystatus.c';
/** JETSAM_PRIORITY_DEFAULT (sys/kern_memorystatus.h). */
export const JETSAM_PRIORITY_DEFAULT = 180;

/** phys_footprint, approximated: the task's internal objects' resident and compressed pages (each object once). */
export function task_footprint_pages(t: Task): number {
  const seen = new Set<VmObject>();
  let n = 0;
  for (const e of entriesOf(t.map)) {
    for (let o = e.object; o !== null && !seen.has(o); o = o.shadow) {
      seen.add(o);
      if (!o.internal) continue;
      n += o.resident_page_count + (o.pager?.kind === 'compressor' ? o.pager.slots.size : 0);
    }
  }
  return n;
}

/**
 * memorystatus_kill_on_VM_page_shortage -> memorystatus_kill_top_process: pick the live task
 * with the largest footprint, log, and kill it. Returns the victim, or null when none is left.
 */
export function memorystatus_kill_on_VM_page_shortage(k: Xnu): Task | null {
  enter(k, 'memorystatus_kill_top_process', FILE);
  let victim: Task | null = null;
  let best = -1;
  for (const t of k.tasks) {
    if (t.proc.exited) continue;
    const fp = task_footprint_pages(t);
    if (fp > best) {
      best = fp;
      victim = t;
    }
  }
  if (victim === null || best <= 0) {
    decide(k, 'memorystatus_kill_top_process', 'no-candidate');
    leave(k, 'memorystatus_kill_top_process');
    return null;
  }
  const line = `0.000 memorystatus: killing_top_process pid ${victim.proc.p_pid} [${victim.proc.p_name}] (vm-pageshortage ${JETSAM_PRIORITY_DEFAULT}) ${best * 4}KB - memorystatus_available_pages: ${k.pages.vm_page_free_count}`;
  k.jetsamLog.push(line);
  klog(k, line);
  decide(k, 'memorystatus_kill_top_process', victim === k.current ? 'kill-current-task' : 'kill-other-task', `pid ${victim.proc.p_pid} footprint ${best} pages`);
  if (victim === k.current) threadsignal(k, SIGKILL, 0); // delivered by bsd_ast on the way back to user mode
  else exit1(k, victim, SIGKILL);
  leave(k, 'memorystatus_kill_top_process');
  return victim;
}
