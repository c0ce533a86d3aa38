// The shared shapes of the Linux model (issue 3): the kernel context every function receives as
// its first argument, the task, and the version switches. The mm/ side (mm_struct, VMAs, struct
// page, page tables, memory.c, the mm syscalls, fork's dup_mmap) and the arch/ side (boot, IDT,
// TSS, entry assembly, fault.c, signals, syscall entry) meet here. There is no global state: two
// Linux machines (5.19 and 6.18) run side by side in one process, each with its own Kernel.

import type { Machine } from '../../hw/machine.js';
import type { MmStruct } from './include/linux/mm_types.js';
import type { MemMap } from './mm/page_alloc.js';
import type { CpuTlbState } from './arch/x86/mm/tlb.js';
import type { MmGlobals } from './mm/mm_init.js';
import type { PressureState } from './mm/vmscan.js';

export type LinuxVersion = '5.19' | '6.18';

/** What differs between the two modelled versions (linux.md marks these [6.x]). */
export interface LinuxFeatures {
  /** 6.1+: VMAs live in a maple tree (`mm->mm_mt`, `mt_find`); 5.19: rbtree + sorted list + vmacache. */
  mapleTree: boolean;
  /** 6.4+: `lock_vma_under_rcu` first, fallback `lock_mm_and_find_vma`; 5.19: `mmap_read_trylock` + `find_vma`. */
  perVmaLock: boolean;
  /** 6.0+: mprotect maps exclusive anon pages writable at once (`can_change_pte_writable`). */
  mprotectChangeWritable: boolean;
  /** 6.x: folio-based names (`do_pte_missing`, `folio_add_new_anon_rmap`, `wp_can_reuse_anon_folio`). */
  folios: boolean;
  /** 6.x: vmstat PGFAULT is counted in `mm_account_fault` (not for RETRY); 5.19: at `handle_mm_fault` entry. */
  pgfaultInAccount: boolean;
  /** 6.x: the segfault log line ends with " likely on CPU n (core c, socket s)". */
  segfaultCpuSuffix: boolean;
  /** 6.x: `error_entry` ends with `jmp sync_regs`, `UNWIND_HINT_IRET_ENTRY`, `UNTRAIN_RET_FROM_CALL`. */
  entry6: boolean;
  /**
   * 6.10+ ("x86: mm: accelerate pagefault when badaccess"): an access error found under the
   * per-VMA lock goes straight to bad_area_access_error (which drops the VMA lock) instead of
   * retrying under mmap_lock. The signal is the same either way; the path is shorter.
   */
  vmaLockBadAccess: boolean;
}

export function featuresOf(v: LinuxVersion): LinuxFeatures {
  const six = v !== '5.19';
  return { mapleTree: six, perVmaLock: six, mprotectChangeWritable: six, folios: six, pgfaultInAccount: six, segfaultCpuSuffix: six, entry6: six, vmaLockBadAccess: six };
}

/** Where a version keeps a function: "mm/memory.c" etc. Used in `enter` events' `src`. */
export type SourceFile = string;

/** `struct thread_struct` fields the fault path fills (set_signal_archinfo, arch/x86/mm/fault.c). */
export interface ThreadStruct {
  cr2: bigint;
  trap_nr: number;
  error_code: number;
}

/** The parts of `struct task_struct` both sides touch. The arch side may keep more per task. */
export interface TaskStruct {
  pid: number;
  comm: string;
  /** The scenario's process name (`main`, or the name given to `fork`). */
  name: string;
  mm: MmStruct | null;
  /** getrusage ru_minflt / ru_majflt; /proc/pid/stat fields 10 and 12 (mm_account_fault). */
  min_flt: number;
  maj_flt: number;
  thread: ThreadStruct;
  /** Resource limits in bytes (RLIMIT_STACK, RLIMIT_MEMLOCK, RLIMIT_DATA, RLIMIT_AS); defaults in mm_init.ts. */
  rlim?: Partial<Rlimits>;
}

/** The rlimits the mm code reads (bytes; Infinity = RLIM_INFINITY). */
export interface Rlimits {
  stack: number;
  memlock: number;
  data: number;
  as: number;
}

/** /proc/vmstat counters the model keeps (include/linux/vm_event_item.h). */
export interface VmStat {
  pgfault: number;
  pgmajfault: number;
  pgreuse: number;
  thp_fault_alloc: number;
}

/** perf software events (PERF_COUNT_SW_PAGE_FAULTS, _MIN, _MAJ). */
export interface PerfSw {
  page_faults: number;
  page_faults_min: number;
  page_faults_maj: number;
}

/**
 * The kernel context: one per booted Linux machine. Every model function takes it first (`k`),
 * the way the real kernel reaches `current`, per-CPU data and globals.
 */
export interface Kernel {
  readonly machine: Machine;
  readonly version: LinuxVersion;
  readonly features: LinuxFeatures;
  /** struct page side table and the free-page allocator (mm/page_alloc.c). */
  readonly memmap: MemMap;
  /** PFN of the shared zero page (`zero_pfn`, mm/memory.c). */
  readonly zero_pfn: number;
  /** The kernel's own mm: `swapper_pg_dir` in `init_mm.pgd`. */
  readonly init_mm: MmStruct;
  /** CONFIG_PAGE_TABLE_ISOLATION with X86_FEATURE_PTI on (default true). */
  readonly pti: boolean;
  /** The running task. */
  current: TaskStruct;
  readonly vmstat: VmStat;
  readonly perf: PerfSw;
  /** cpu_tlbstate (arch/x86/mm/tlb.c): created on first use by `tlbstate(k)` with init_mm loaded in ASID 0. */
  cpu_tlbstate?: CpuTlbState;
  /** mm-wide globals and sysctls (max_map_count, mmap_min_addr, stack_guard_gap, id counters): `mmglobals(k)`. */
  mm_globals?: MmGlobals;
  /** Memory pressure (mm/swap.c LRU lists, mm/vmscan.c, mm/swapfile.c, THP and pkey settings): `pressure(k)`. */
  pressure?: PressureState;
}
