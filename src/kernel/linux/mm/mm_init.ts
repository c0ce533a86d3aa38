// mm_struct lifetime: init_mm (mm/init-mm.c), mm_alloc / mm_init / mmput (kernel/fork.c),
// init_new_context (arch/x86/include/asm/mmu_context.h: a never-reused ctx_id), and the mmap
// layout (arch_pick_mmap_layout, arch/x86/mm/mmap.c; no randomization: ADDR_NO_RANDOMIZE, as the
// conformance probe runs). 5.19 and 6.18 agree. Also the mm sysctls and rlimit defaults.

import { pgd_alloc, pgd_free } from '../arch/x86/mm/pgtable.js';
import { VM_NONE, PAGE_SIZE, TASK_SIZE_MAX, type MmStruct } from '../include/linux/mm_types.js';
import { mt_init } from '../lib/maple_tree.js';
import { rb_root } from '../lib/rbtree.js';
import type { Kernel, Rlimits } from '../types.js';
import { exit_mmap } from './mmap.js';
import { tlbstate } from '../arch/x86/mm/tlb.js';

/** Globals of the mm subsystem (sysctls and id counters), one set per Kernel. */
export interface MmGlobals {
  /** vm.max_map_count (DEFAULT_MAX_MAP_COUNT = 65530). */
  sysctl_max_map_count: number;
  /** vm.mmap_min_addr (CONFIG_DEFAULT_MMAP_MIN_ADDR = 65536 on x86). */
  mmap_min_addr: number;
  /** stack_guard_gap = 256 pages (mm/mmap.c). */
  stack_guard_gap: number;
  /** Default rlimits for tasks without their own. */
  rlim: Rlimits;
  last_anon_vma_id: number;
  last_shmem_id: number;
  /** capable(CAP_IPC_LOCK): no RLIMIT_MEMLOCK check (the conformance probe runs as root). */
  cap_ipc_lock: boolean;
  /** capable(CAP_SYS_RAWIO): cap_mmap_addr lets MAP_FIXED go below mmap_min_addr (default: not, EPERM). */
  cap_sys_rawio: boolean;
}

export function mmglobals(k: Kernel): MmGlobals {
  let g = k.mm_globals;
  if (!g) {
    g = {
      sysctl_max_map_count: 65530, mmap_min_addr: 65536, stack_guard_gap: 256 * PAGE_SIZE,
      rlim: { stack: 8 * 1024 * 1024, memlock: 8 * 1024 * 1024, data: Infinity, as: Infinity },
      last_anon_vma_id: 0, last_shmem_id: 0, cap_ipc_lock: true, cap_sys_rawio: false,
    };
    k.mm_globals = g;
  }
  return g;
}

/** rlimit(RLIMIT_*) for the current task. */
export function rlimit(k: Kernel, which: keyof Rlimits): number {
  return k.current.rlim?.[which] ?? mmglobals(k).rlim[which];
}

function newMm(pgd: number, isInit: boolean): MmStruct {
  return {
    pgd, mmap_base: 0, task_size: TASK_SIZE_MAX, start_brk: 0, brk: 0, start_stack: 0, map_count: 0,
    total_vm: 0, locked_vm: 0, data_vm: 0, exec_vm: 0, stack_vm: 0, def_flags: VM_NONE,
    rss_stat: { file: 0, anon: 0, swapents: 0, shmem: 0 },
    mm_mt: null, mm_rb: null, mmap: null, vmacache_seqnum: 0, vmacache: [null, null, null, null], vmacache_seq: 0,
    context: { ctx_id: 1, tlb_gen: 0 }, mm_users: 1, mm_count: 1, mmap_lock: { readers: 0, writer: false },
    mm_lock_seq: 0, is_init_mm: isInit,
  };
}

/** init_mm (mm/init-mm.c): the kernel's mm, whose pgd is swapper_pg_dir (an order-1 pair with PTI). */
export function init_mm_struct(pgdPfn: number): MmStruct {
  const mm = newMm(pgdPfn, true);
  mm.mm_mt = mt_init();
  mm.mm_rb = rb_root();
  return mm;
}

/** mm_alloc → mm_init (kernel/fork.c): a fresh mm with its own PGD; null when out of memory. */
export function mm_alloc(k: Kernel): MmStruct | null {
  const pgd = pgd_alloc(k);
  if (pgd < 0) return null;
  const mm = newMm(pgd, false);
  if (k.features.mapleTree) mm.mm_mt = mt_init();
  else mm.mm_rb = rb_root();
  // init_new_context: ctx_id = atomic64_inc_return(&last_mm_ctx_id)
  mm.context.ctx_id = ++tlbstate(k).last_mm_ctx_id;
  arch_pick_mmap_layout(k, mm);
  return mm;
}

/**
 * arch_pick_mmap_layout → mmap_base (arch/x86/mm/mmap.c), without randomization: the gap below
 * the stack is RLIMIT_STACK plus stack_guard_gap, clamped to [128 MiB, 5/6 of the task size].
 */
export function arch_pick_mmap_layout(k: Kernel, mm: MmStruct): void {
  const task_size = mm.task_size;
  let gap = rlimit(k, 'stack');
  const pad = mmglobals(k).stack_guard_gap;
  if (gap + pad > gap) gap += pad;
  const gap_min = 128 * 1024 * 1024;
  const gap_max = Math.floor(task_size / 6) * 5;
  if (gap < gap_min) gap = gap_min;
  else if (gap > gap_max) gap = gap_max;
  mm.mmap_base = Math.ceil((task_size - gap) / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * mmput: drop a user; the last one tears the address space down (exit_mmap) and drops the
 * mm_users reference on mm_count (mmdrop). The PGD goes with the last mm_count reference, so a
 * CPU that still has the mm loaded (lazy TLB after exit) should mmgrab it and mmdrop it once it
 * has switched away (finish_task_switch).
 */
export function mmput(k: Kernel, mm: MmStruct): void {
  if (--mm.mm_users > 0) return;
  exit_mmap(k, mm);
  mmdrop(k, mm);
}

/** mmgrab: pin the mm_struct (and its PGD) without pinning the address space. */
export function mmgrab(mm: MmStruct): void {
  mm.mm_count++;
}

/** mmdrop → __mmdrop: the last reference frees the PGD (pgd_free). */
export function mmdrop(k: Kernel, mm: MmStruct): void {
  if (--mm.mm_count > 0) return;
  pgd_free(k, mm);
}
