// The x86-64 side of the booted kernel: the address-space layout (Documentation/x86/x86_64/mm.rst,
// 4-level paging), the selectors (asm/segment.h), the cpu_entry_area layout (asm/cpu_entry_area.h),
// and the state the arch code keeps beyond the shared `Kernel` (types.ts): per-CPU data, the
// kernel log, the symbol table of the entry code, and what each task carries for the arch side
// (its kernel stack, signal handlers, thread.cr2/trap_nr/error_code).

import type { Kernel, TaskStruct } from '../../../../types.js';
import type { SymbolTable } from '../../kernel/symbols.js';
import type { ExceptionTableEntry } from '../../mm/extable.js';
import type { PtRegs } from './ptrace.js';

// --- asm/segment.h (64-bit) -----------------------------------------------------------------
export const GDT_ENTRY_KERNEL32_CS = 1;
export const GDT_ENTRY_KERNEL_CS = 2;
export const GDT_ENTRY_KERNEL_DS = 3;
export const GDT_ENTRY_DEFAULT_USER32_CS = 4;
export const GDT_ENTRY_DEFAULT_USER_DS = 5;
export const GDT_ENTRY_DEFAULT_USER_CS = 6;
export const GDT_ENTRY_TSS = 8;
export const GDT_ENTRIES = 16;
export const __KERNEL_CS = GDT_ENTRY_KERNEL_CS * 8; // 0x10
export const __KERNEL_DS = GDT_ENTRY_KERNEL_DS * 8; // 0x18
export const __USER_DS = GDT_ENTRY_DEFAULT_USER_DS * 8 + 3; // 0x2b
export const __USER_CS = GDT_ENTRY_DEFAULT_USER_CS * 8 + 3; // 0x33
export const TSS_SELECTOR = GDT_ENTRY_TSS * 8; // 0x40

// --- the kernel half of the address space (mm.rst, 4-level) -----------------------------------
/** page_offset_base without KASLR: the direct map of all physical memory. */
export const PAGE_OFFSET = 0xffff888000000000n;
/** vmalloc space; kernel stacks are vmalloc'd (CONFIG_VMAP_STACK). */
export const VMALLOC_START = 0xffffc90000000000n;
export const CPU_ENTRY_AREA_BASE = 0xfffffe0000000000n;
/** The read-only IDT alias (idt_map_in_cea). */
export const CPU_ENTRY_AREA_RO_IDT = CPU_ENTRY_AREA_BASE;
/** CPU 0's struct cpu_entry_area. */
export const CPU_ENTRY_AREA_PER_CPU = CPU_ENTRY_AREA_BASE + 0x1000n;
export const __START_KERNEL_map = 0xffffffff80000000n;
/** _text without KASLR (CONFIG_PHYSICAL_START 16 MiB above __START_KERNEL_map). */
export const _TEXT = 0xffffffff81000000n;
export const VSYSCALL_ADDR = 0xffffffffff600000n;

/** TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE (asm/page_64_types.h). */
export const TASK_SIZE_MAX = 0x7ffffffff000;
export const PAGE_SIZE = 4096;
/** THREAD_SIZE: 16 KiB kernel stacks (THREAD_SIZE_ORDER 2, no KASAN). */
export const THREAD_SIZE = 0x4000;
/** EXCEPTION_STKSZ = PAGE_SIZE << (1 + KASAN_STACK_ORDER), no KASAN: 8 KiB. */
export const EXCEPTION_STKSZ = 0x2000;

/*  struct cpu_entry_area (asm/cpu_entry_area.h), offsets from CPU_ENTRY_AREA_PER_CPU:
 *
 *   +0x00000  gdt               1 page, read-only (GDT_ENTRIES descriptors)
 *   +0x01000  entry_stack_page  1 page: TSS.sp0 points at its top
 *   +0x02000  tss               struct tss_struct: x86_tss, then the I/O bitmaps (5 pages)
 *   +0x07000  estacks           guard, DF (2 pages), guard, NMI, guard, DB, guard, MCE,
 *                               guard, VC, guard, VC2, top guard   (struct cea_exception_stacks)
 */
export const CEA_GDT = 0x0000n;
export const CEA_ENTRY_STACK = 0x1000n;
export const CEA_TSS = 0x2000n;
export const CEA_ESTACKS = 0x7000n;
/** IST indices (asm/page_64_types.h); the gate's IST field is index + 1. */
export const IST_INDEX_DF = 0;
export const IST_INDEX_NMI = 1;
export const IST_INDEX_DB = 2;
export const IST_INDEX_MCE = 3;
export const IST_INDEX_VC = 4;
export const IST_NAMES = ['DF', 'NMI', 'DB', 'MCE', 'VC'] as const;

/** Bottom of exception stack `ist` (IST_INDEX_*) in CPU 0's cpu_entry_area: guard page, then the stack. */
export function estackBottom(ist: number): bigint {
  return CPU_ENTRY_AREA_PER_CPU + CEA_ESTACKS + BigInt(ist) * (0x1000n + BigInt(EXCEPTION_STKSZ)) + 0x1000n;
}

/** cpu_entry_stack(0) + 1: where TSS.sp0 points. */
export const ENTRY_STACK_TOP = CPU_ENTRY_AREA_PER_CPU + CEA_ENTRY_STACK + 0x1000n;
export const CEA_TSS_VA = CPU_ENTRY_AREA_PER_CPU + CEA_TSS;
export const CEA_GDT_VA = CPU_ENTRY_AREA_PER_CPU + CEA_GDT;

// --- CR3 with PTI and PCID (arch/x86/include/asm/tlbflush.h, arch/x86/entry/calling.h) --------
/** X86_CR3_PTI_PCID_USER_BIT: the user half of a PCID pair. */
export const X86_CR3_PTI_PCID_USER_BIT = 11;
/** PTI_USER_PGTABLE_BIT = PAGE_SHIFT: the user PGD is the second page of the 8 KiB pair. */
export const PTI_USER_PGTABLE_BIT = 12;
export const X86_CR3_PCID_NOFLUSH = 1n << 63n;
export const PTI_USER_PGTABLE_AND_PCID_MASK = (1n << BigInt(X86_CR3_PTI_PCID_USER_BIT)) | (1n << BigInt(PTI_USER_PGTABLE_BIT));

/** Signal disposition, per process (struct sighand_struct, simplified to the two faults' signals). */
export type SigAction = 'default' | 'handler' | 'ignore';

/** siginfo + the sigcontext fields a handler would see (setup_sigcontext). */
export interface DeliveredSignal {
  signo: number;
  code: number;
  addr: bigint;
  trapno: number;
  err: number;
  cr2: bigint;
  /** si_pkey, for SEGV_PKUERR. */
  pkey?: number;
}

export type TaskState = 'running' | 'dead';

/** The arch side's view of a task: the shared TaskStruct plus stack, signals and exit state. */
export interface LinuxTask extends TaskStruct {
  /** Base of the vmalloc'd kernel stack (task->stack); pt_regs sit at its top. */
  stack: bigint;
  /** The user registers while the task is not running in the kernel (its saved context). */
  user: { rip: bigint; rsp: bigint; rflags: bigint; /** PKRU (XSAVE state: per task, inherited at fork). */ pkru?: number };
  sighand: Map<number, SigAction>;
  blocked: Set<number>;
  /** Pending forced signal (only faults raise signals in the model). */
  pending: { signo: number; code: number; addr: bigint; pkey?: number } | null;
  state: TaskState;
  /** exit_code as wait() reports it: (code << 8) or the terminating signal (| 0x80 with a core). */
  exit_code: number;
  /** The last signal handed to a handler (what the handler would read). */
  delivered: DeliveredSignal | null;
  parent: LinuxTask | null;
}

/** Per-CPU variables the entry code reads (one CPU). */
export interface PerCpu {
  /** cpu_current_top_of_stack (5.19) / pcpu_hot.top_of_stack (6.x): the running task's stack top. */
  top_of_stack: bigint;
  /** __per_cpu_offset[0]: what GS.base holds in the kernel. */
  per_cpu_offset: bigint;
  /** Derived: task_pt_regs() of the running task for `top`, with its address halves (the entry code recomputes it when the stack top changes). */
  task_pt_regs?: TaskPtRegs;
}

/** The entry code's scratch: one word, a pt_regs frame, a register run, the parked return address. */
export interface EntryScratch {
  readonly word: Uint32Array;
  readonly frame: Uint32Array;
  readonly run: Uint32Array;
  readonly ret: Uint32Array;
}

export function newEntryScratch(): EntryScratch {
  return { word: new Uint32Array(2), frame: new Uint32Array(2 * 21), run: new Uint32Array(2 * 24), ret: new Uint32Array(2) };
}

export interface TaskPtRegs {
  top: bigint;
  addr: bigint;
  lo: number;
  hi: number;
}

/** The kernel as the x86 code sees it. */
export interface X86Kernel extends Kernel {
  current: LinuxTask;
  readonly percpu: PerCpu;
  /** The kernel log (dmesg), in order. */
  readonly dmesg: string[];
  readonly syms: SymbolTable;
  /** PFN of the page holding idt_table (mapped read-only at CPU_ENTRY_AREA_RO_IDT). */
  readonly idt_pfn: number;
  /** show_unhandled_signals (kernel/signal.c, default 1). */
  show_unhandled_signals: boolean;
  /** The user's pagefault_disable() depth / in_atomic(): faulthandler_disabled(). */
  pagefault_disabled: number;
  /** The C views of pt_regs frames loaded so far, by address (loadPtRegs reloads and reuses them). */
  readonly ptRegsViews: Map<bigint, PtRegs>;
  /** Scratch quadwords (as 32-bit halves) the entry code's register and stack runs go through. */
  readonly entryScratch: EntryScratch;
  /** The exception table (__ex_table), sorted by nothing: looked up by exact address. */
  readonly extable: ExceptionTableEntry[];
  /** The state of the deterministic random stream getrandom() reads. */
  crng_state: number;
  /** The task table: pid -> task. */
  readonly tasks: Map<number, LinuxTask>;
}
