// struct mm_struct, struct vm_area_struct and the mm constants (include/linux/mm_types.h and
// include/linux/mm.h, 5.19 and 6.18). Simplified: one thread per mm (the 5.19 vmacache lives in
// the mm, not the task); no file-backed VMAs besides shmem; pkeys as a separate number.

import type { Pgprot } from '../../arch/x86/include/asm/pgtable_types.js';
import type { MapleTree } from '../../lib/maple_tree.js';
import type { RbNode, RbRoot } from '../../lib/rbtree.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** TASK_SIZE_MAX with 4-level paging (arch/x86/include/asm/page_64_types.h). */
export const TASK_SIZE_MAX = 2 ** 47 - PAGE_SIZE;

// --- vm_flags (include/linux/mm.h) ---------------------------------------------------------
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/** VM_MERGEABLE is bit 31; kept out of JS bit arithmetic (the model has no KSM). */
export const VM_STACK_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
export const VM_STACK_FLAGS = VM_GROWSDOWN | VM_STACK_DEFAULT_FLAGS | VM_ACCOUNT;
/** x86 VM_DATA_DEFAULT_FLAGS = VM_DATA_FLAGS_TSK_EXEC without READ_IMPLIES_EXEC. */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/** Flags that do not block a merge (VM_IGNORE_MERGE = VM_SOFTDIRTY). */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY;

// --- vm_fault_t (include/linux/mm_types.h) --------------------------------------------------
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_MAJOR = 0x4;
/** 5.19 only (removed in 6.x). */
export const VM_FAULT_WRITE = 0x8;
export const VM_FAULT_HWPOISON = 0x10;
export const VM_FAULT_HWPOISON_LARGE = 0x20;
export const VM_FAULT_SIGSEGV = 0x40;
export const VM_FAULT_NOPAGE = 0x100;
export const VM_FAULT_LOCKED = 0x200;
export const VM_FAULT_RETRY = 0x400;
export const VM_FAULT_FALLBACK = 0x800;
export const VM_FAULT_DONE_COW = 0x1000;
export const VM_FAULT_NEEDDSYNC = 0x2000;
/** 6.0+. */
export const VM_FAULT_COMPLETED = 0x4000;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK;

// --- fault flags (include/linux/mm_types.h enum fault_flag) ---------------------------------
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_MKWRITE = 1 << 1;
export const FAULT_FLAG_ALLOW_RETRY = 1 << 2;
export const FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
export const FAULT_FLAG_KILLABLE = 1 << 4;
export const FAULT_FLAG_TRIED = 1 << 5;
export const FAULT_FLAG_USER = 1 << 6;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_INSTRUCTION = 1 << 8;
export const FAULT_FLAG_INTERRUPTIBLE = 1 << 9;
export const FAULT_FLAG_UNSHARE = 1 << 10;
export const FAULT_FLAG_ORIG_PTE_VALID = 1 << 11;
/** 6.4+. */
export const FAULT_FLAG_VMA_LOCK = 1 << 12;
export const FAULT_FLAG_DEFAULT = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE;

/** rss_stat indices (include/linux/mm_types_task.h). */
export interface RssStat {
  file: number;
  anon: number;
  swapents: number;
  shmem: number;
}

/** struct anon_vma (include/linux/rmap.h), reduced to identity and the fork tree. */
export interface AnonVma {
  readonly id: number;
  readonly root: AnonVma | null;
  readonly parent: AnonVma | null;
  /** VMAs (anon_vma_chain entries) that point at it. */
  refcount: number;
}

/** A shmem inode backing MAP_SHARED|MAP_ANONYMOUS ("/dev/zero (deleted)"), mm/shmem.c. */
export interface ShmemFile {
  readonly name: string;
  /** Size in pages. */
  size: number;
  /** The page cache: pgoff -> PFN (each cached page holds one reference). */
  readonly pages: Map<number, number>;
  /** VMAs mapping it (i_mmap), for the refcount of the file. */
  mappers: number;
}

/** struct vm_area_struct. */
export interface VmAreaStruct {
  vm_start: number;
  vm_end: number;
  vm_flags: number;
  /** The protection key, VM_PKEY_BIT0..3 of vm_flags in Linux. */
  vm_pkey: number;
  vm_page_prot: Pgprot;
  vm_pgoff: number;
  anon_vma: AnonVma | null;
  /** anon_vma_chain: every anon_vma this VMA's pages may belong to (its own and its ancestors'). */
  anon_vma_chain: AnonVma[];
  vm_ops: 'shmem' | 'filemap' | null;
  vm_file: ShmemFile | null;
  readonly vm_mm: MmStruct;
  /** 5.19: the sorted list and the rbtree node. Unused with the maple tree. */
  vm_next: VmAreaStruct | null;
  vm_prev: VmAreaStruct | null;
  vm_rb: RbNode<VmAreaStruct> | null;
  /** 6.4+ per-VMA lock: readers holding it, and whether a writer marked it (vm_lock_seq). */
  vm_lock_readers: number;
  vm_lock_seq: number;
}

/** The state of `mm->mmap_lock` (an rw_semaphore), so traces can show who holds it. */
export interface MmapLock {
  readers: number;
  writer: boolean;
}

/** struct mm_struct. */
export interface MmStruct {
  /** PFN of the top-level table; with PTI the user copy is pgd+1 (PTI_USER_PGTABLE_BIT). */
  pgd: number;
  mmap_base: number;
  task_size: number;
  start_brk: number;
  brk: number;
  start_stack: number;
  map_count: number;
  total_vm: number;
  locked_vm: number;
  data_vm: number;
  exec_vm: number;
  stack_vm: number;
  def_flags: number;
  rss_stat: RssStat;
  /** 6.1+: the VMAs in a maple tree (`mm->mm_mt`). */
  mm_mt: MapleTree<VmAreaStruct> | null;
  /** 5.19: the rbtree (`mm->mm_rb`), the sorted list head (`mm->mmap`), vmacache. */
  mm_rb: RbRoot<VmAreaStruct> | null;
  mmap: VmAreaStruct | null;
  vmacache_seqnum: number;
  /** The per-thread vmacache (5.19 keeps it in the task; one thread per mm here). */
  vmacache: (VmAreaStruct | null)[];
  vmacache_seq: number;
  /** mm_context_t: ctx_id (unique, never reused) and tlb_gen (bumped by every flush request). */
  context: { ctx_id: number; tlb_gen: number };
  mm_users: number;
  mm_count: number;
  mmap_lock: MmapLock;
  /** 6.4+: mm_lock_seq, bumped when the mmap write lock is released (vma_end_write_all). */
  mm_lock_seq: number;
  /** True for init_mm (the kernel's own mm). */
  readonly is_init_mm: boolean;
}
