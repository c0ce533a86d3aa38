// The OOM killer (mm/oom_kill.c, 5.19 and 6.18): when reclaim frees nothing, out_of_memory picks
// the process with the highest oom_badness (RSS + swap entries + page tables, in pages; every
// oom_score_adj is 0), logs dump_header's first line, the oom-kill summary and "Out of memory:
// Killed process …", and sends it SIGKILL. A victim other than the allocating task is reaped at
// once (the oom_reaper's work, then its exit); when the allocating task is itself the victim,
// the allocation fails (no memory reserves in the model), the fault returns VM_FAULT_OOM, and the
// SIGKILL is delivered on the way back to user mode (checklist 54).
// Simplified: no memcg/cpuset/mempolicy constraints, no panic_on_oom, no oom_score_adj.

import type { LinuxTask, X86Kernel } from '../arch/x86/include/asm/processor.js';
import { printk } from '../arch/x86/kernel/ftrace.js';
import { entry_pfn, pgd_index } from '../arch/x86/mm/pgtable.js';
import type { MmStruct } from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { mmput } from './mm_init.js';
import { decision, enter, leave } from './mmtrace.js';
import { live_tasks, pressure } from './vmscan.js';

const SIGKILL = 9;
const SI_KERNEL = 0x80;

/** mm_pgtables_bytes: the user page-table pages below the PGD (PUD, PMD and PTE tables). */
export function mm_pgtables_bytes(k: Kernel, mm: MmStruct): number {
  const mem = k.machine.mem;
  let tables = 0;
  const walk = (pfn: number, level: number): void => {
    tables++;
    if (level === 3) return;
    for (let i = 0; i < 512; i++) {
      const lo = mem.read32(pfn * 4096 + i * 8);
      if ((lo & 1) && !(lo & 0x80)) walk(entry_pfn(lo, mem.read32(pfn * 4096 + i * 8 + 4)), level + 1);
    }
  };
  for (let i = 0; i < pgd_index(2 ** 47); i++) {
    const lo = mem.read32(mm.pgd * 4096 + i * 8);
    if (lo & 1) walk(entry_pfn(lo, mem.read32(mm.pgd * 4096 + i * 8 + 4)), 1);
  }
  return tables * 4096;
}

/** oom_badness: RSS + swap entries + page-table pages (oom_score_adj 0). */
export function oom_badness(k: Kernel, mm: MmStruct): number {
  const r = mm.rss_stat;
  return r.anon + r.file + r.shmem + r.swapents + mm_pgtables_bytes(k, mm) / 4096;
}

/** select_bad_process: the highest badness over the task list (a later task wins a tie, as `<` skips only lower scores). */
function select_bad_process(k: Kernel): LinuxTask | null {
  let chosen: LinuxTask | null = null;
  let points = -1;
  for (const t of live_tasks(k) as LinuxTask[]) {
    if (t.pid <= 1) continue; // init and the idle task are never chosen
    const p = oom_badness(k, t.mm!);
    if (p >= points) {
      chosen = t;
      points = p;
    }
  }
  return chosen;
}

const kB = (pages: number): string => `${pages * 4}kB`;

/** printk, for a kernel that keeps a log (the mm unit tests' kernels have none). */
function log(k: Kernel, text: string): void {
  if ('dmesg' in k) printk(k as X86Kernel, text);
}

/**
 * out_of_memory: a pending SIGKILL on current means it is already dying (task_will_free_mem);
 * otherwise select and kill. True if memory was freed (another task was reaped).
 */
export function out_of_memory(k: Kernel): boolean {
  const x = k as X86Kernel;
  enter(k, 'out_of_memory', 'mm/oom_kill.c');
  const done = (r: boolean, why: string): boolean => {
    decision(k, 'out_of_memory', why);
    leave(k, 'out_of_memory', r ? 'true' : 'false');
    return r;
  };
  if (x.current.pending?.signo === SIGKILL) return done(false, 'current-already-dying');
  const victim = select_bad_process(k);
  if (!victim) {
    log(k, 'Out of memory and no killable processes...');
    return done(false, 'no-killable-process');
  }
  log(k, `${x.current.comm} invoked oom-killer: gfp_mask=0x100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), order=0, oom_score_adj=0`);
  log(k, `oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=${victim.comm},pid=${victim.pid},uid=0`);
  const mm = victim.mm!;
  const r = mm.rss_stat;
  log(k, `Out of memory: Killed process ${victim.pid} (${victim.comm}) total-vm:${kB(mm.total_vm)}, anon-rss:${kB(r.anon)}, file-rss:${kB(r.file)}, ` +
    `shmem-rss:${kB(r.shmem)}, UID:0 pgtables:${mm_pgtables_bytes(k, mm) / 1024}kB oom_score_adj:0`);
  pressure(k).stat.oom_kill++;
  victim.pending = { signo: SIGKILL, code: SI_KERNEL, addr: 0n };
  if (victim === x.current) return done(false, 'killed-current');
  oom_reap_and_exit(x, victim);
  return done(true, 'killed-other');
}

/** The oom_reaper's __oom_reap_task_mm and the victim's own exit (do_exit on SIGKILL), for a task that is not running. */
function oom_reap_and_exit(k: X86Kernel, victim: LinuxTask): void {
  enter(k, 'oom_reap_task', 'mm/oom_kill.c', { pid: String(victim.pid) });
  const mm = victim.mm!;
  victim.mm = null;
  mmput(k, mm);
  log(k, `oom_reaper: reaped process ${victim.pid} (${victim.comm}), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB`);
  victim.pending = null;
  victim.delivered = { signo: SIGKILL, code: SI_KERNEL, addr: 0n, trapno: victim.thread.trap_nr, err: victim.thread.error_code, cr2: victim.thread.cr2 };
  victim.exit_code = SIGKILL;
  victim.state = 'dead';
  leave(k, 'oom_reap_task');
}
