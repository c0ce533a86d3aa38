// The booted Linux kernel (5.19 or 6.18) on one simulated x86-64 machine: start_kernel()'s x86
// part as it matters for page faults, in the real order (linux.md §1): kernel page tables in
// simulated memory (swapper_pg_dir with the direct map, kernel text, vmalloc'd stacks and the
// cpu_entry_area), early IDT, the real #PF gate, trap_init() (cpu_entry_area, TSS with IST stacks
// and sp0 = the entry stack, def_idts, the read-only IDT alias), PTI's user page tables, then
// SMEP/SMAP/PCID. Tasks: the first process (as execve would leave it), fork (copy_process with
// dup_mmap), exit, and the switch between processes (switch_mm_irqs_off).
//
// Simplified: one CPU; no scheduler beyond "run the task the scenario names"; the first process
// is built directly (no ELF loader); no files.

import type { Machine } from '../../hw/machine.js';
import { GP, PF } from '../../hw/exceptions.js';
import { CR4_PCIDE, CR4_PGE, CR4_SMAP, CR4_SMEP, RFLAGS_FIXED, RFLAGS_IF } from '../../hw/regs.js';
import { ENTRY_TEXT_START, bind_idtentry, entry_SYSCALL_64, layout_entry_text, type SyscallFn } from './arch/x86/entry/entry_64.js';
import { SWITCH_TO_USER_CR3 } from './arch/x86/entry/calling.js';
import {
  PAGE_OFFSET, THREAD_SIZE, newEntryScratch, VMALLOC_START, __KERNEL_CS, __KERNEL_DS, __USER_CS, __USER_DS,
  type LinuxTask, type PerCpu, type X86Kernel,
} from './arch/x86/include/asm/processor.js';
import { cpu_init_exception_handling } from './arch/x86/kernel/cpu/common.js';
import { decide, fentry, fexit } from './arch/x86/kernel/ftrace.js';
import { idt_setup_early_pf, idt_setup_early_traps, idt_setup_traps, idt_switch_to_ro_alias } from './arch/x86/kernel/idt.js';
import { SymbolTable } from './arch/x86/kernel/symbols.js';
import { exc_general_protection } from './arch/x86/kernel/traps.js';
import { layout_usercopy } from './arch/x86/lib/usercopy.js';
import { idt_map_in_cea, setup_cpu_entry_area } from './arch/x86/mm/cpu_entry_area.js';
import type { ExceptionTableEntry } from './arch/x86/mm/extable.js';
import { exc_page_fault } from './arch/x86/mm/fault.js';
import { BootError, PAGE_KERNEL, alloc_kernel_table, init_mem_mapping, kernel_map_page, map_kernel_text, preallocate_vmalloc_pages } from './arch/x86/mm/init_64.js';
import { pti_init } from './arch/x86/mm/pti.js';
import { switch_mm_irqs_off } from './arch/x86/mm/tlb.js';
import type { PtRegs } from './arch/x86/include/asm/ptrace.js';
import type { MmStruct } from './include/linux/mm_types.js';
import { init_mm_struct } from './mm/mm_init.js';
import { MemMap, setup_zero_page } from './mm/page_alloc.js';
import { featuresOf, type LinuxFeatures, type LinuxVersion, type PerfSw, type VmStat } from './types.js';

export { BootError };

export interface LinuxBootOptions {
  /** RAM in 4 KiB pages (default 64 MiB). */
  ramPages?: number;
  /** CONFIG_PAGE_TABLE_ISOLATION on (default true). */
  pti?: boolean;
  /** Seeds getrandom's stream. */
  seed?: number;
  /** The program name every process runs (comm). */
  comm?: string;
}

/** A booted Linux kernel: the `Kernel` context plus the x86 state (X86Kernel). */
export class LinuxKernel implements X86Kernel {
  readonly features: LinuxFeatures;
  readonly memmap: MemMap;
  readonly zero_pfn: number;
  readonly init_mm: MmStruct;
  readonly pti: boolean;
  current!: LinuxTask;
  readonly vmstat: VmStat = { pgfault: 0, pgmajfault: 0, pgreuse: 0, thp_fault_alloc: 0 };
  readonly perf: PerfSw = { page_faults: 0, page_faults_min: 0, page_faults_maj: 0 };
  readonly percpu: PerCpu;
  readonly dmesg: string[] = [];
  readonly syms = new SymbolTable();
  readonly extable: ExceptionTableEntry[] = [];
  readonly idt_pfn: number;
  readonly tasks = new Map<number, LinuxTask>();
  show_unhandled_signals = true;
  pagefault_disabled = 0;
  readonly ptRegsViews = new Map<bigint, PtRegs>();
  readonly entryScratch = newEntryScratch();
  crng_state: number;
  readonly comm: string;
  /** sys_call_table: nr -> handler. */
  readonly syscalls = new Map<number, { name: string; fn: SyscallFn }>();
  private nextPid = 1000;
  private nextStack = 0;

  constructor(readonly machine: Machine, readonly version: LinuxVersion, opts: LinuxBootOptions = {}) {
    this.features = featuresOf(version);
    this.pti = opts.pti ?? true;
    this.crng_state = (opts.seed ?? 0) * 2654435761 + 1;
    this.comm = opts.comm ?? 'a.out';
    const ramPages = opts.ramPages ?? 16384;
    if (ramPages < 256) throw new BootError(`${ramPages * 4} KiB of RAM is too little to boot Linux (the model needs 1 MiB)`);
    const maxPages = Math.min(1 << 20, 2 ** (machine.mem.maxPhyAddr - 12));
    if (ramPages > maxPages) throw new BootError(`${ramPages / 256} MiB of RAM is more than the model boots with (at most ${maxPages / 256} MiB here: 4 GiB, and below MAXPHYADDR)`);
    this.memmap = new MemMap(machine, ramPages);
    const pgd = this.memmap.alloc_pages(null, this.pti ? 1 : 0, 'swapper_pg_dir');
    this.memmap.reserve(pgd);
    if (this.pti) this.memmap.reserve(pgd + 1);
    this.init_mm = init_mm_struct(pgd);
    this.zero_pfn = setup_zero_page(this.memmap);
    this.idt_pfn = this.memmap.alloc_page(null, 'idt_table');
    this.memmap.reserve(this.idt_pfn);
    this.percpu = { top_of_stack: 0n, per_cpu_offset: PAGE_OFFSET + BigInt(this.memmap.totalPages - 512) * 4096n };
    start_kernel(this);
    // init_task (pid 0, "swapper/0") is current during boot; the first process is forked from it.
    this.nextPid = 0;
    this.current = this.new_task('swapper/0', null, null);
    this.current.comm = 'swapper/0';
    this.nextPid = 1000;
    this.percpu.top_of_stack = this.current.stack + BigInt(THREAD_SIZE);
  }

  /** Allocate and map a THREAD_SIZE kernel stack in vmalloc space (alloc_thread_stack_node, VMAP_STACK). */
  alloc_thread_stack(): bigint {
    const base = VMALLOC_START + BigInt(this.nextStack++) * BigInt(THREAD_SIZE * 2); // a guard gap after each
    for (let i = 0; i < THREAD_SIZE / 4096; i++) kernel_map_page(this, base + BigInt(i * 4096), alloc_kernel_table(this, 'thread stack'), PAGE_KERNEL);
    return base;
  }

  /** A new task_struct (dup_task_struct's result, before copy_mm). */
  new_task(name: string, mm: MmStruct | null, parent: LinuxTask | null): LinuxTask {
    const t: LinuxTask = {
      pid: this.nextPid++, comm: parent && parent.pid !== 0 ? parent.comm : this.comm, name, mm, min_flt: 0, maj_flt: 0,
      thread: { cr2: 0n, trap_nr: 0, error_code: 0 },
      stack: this.alloc_thread_stack(),
      user: parent ? { ...parent.user } : { rip: 0n, rsp: 0n, rflags: RFLAGS_FIXED | RFLAGS_IF },
      sighand: new Map(parent?.sighand ?? []), blocked: new Set(parent?.blocked ?? []),
      pending: null, state: 'running', exit_code: 0, delivered: null, parent,
    };
    this.tasks.set(t.pid, t);
    return t;
  }

  /**
   * context_switch(): switch_mm_irqs_off() to the next task's mm and its kernel stack
   * (cpu_current_top_of_stack), then return to its user mode.
   */
  switch_to(next: LinuxTask): void {
    if (next.state === 'dead' || !next.mm) throw new Error(`model bug: switching to dead task ${next.pid}`);
    if (this.current !== next) {
      if (this.machine.trace.enabled) fentry(this, 'context_switch', 'kernel/sched/core.c', { prev: String(this.current?.pid ?? 0), next: String(next.pid) });
      this.enter_kernel_for_switch();
      switch_mm_irqs_off(this, next.mm);
      this.current = next;
      this.percpu.top_of_stack = next.stack + BigInt(THREAD_SIZE);
      fexit(this, 'context_switch');
      this.return_to_user();
    }
  }

  /** The first task: load its mm (from init_mm) and drop to user mode. */
  switch_to_first(t: LinuxTask): void {
    switch_mm_irqs_off(this, t.mm!);
    this.current = t;
    this.percpu.top_of_stack = t.stack + BigInt(THREAD_SIZE);
    this.return_to_user();
  }

  /** The CPU as a task's switch leaves it in the kernel (CPL 0 on its stack, kernel CR3, kernel GS). */
  private enter_kernel_for_switch(): void {
    const c = this.machine.cpu;
    if ((c.cs & 3) === 3 && this.current) {
      this.current.user = { rip: c.rip, rsp: c.rsp, rflags: c.rflags, pkru: c.pkru }; // PKRU: switch_fpu_prepare saves it
      const gs = c.gsBase;
      c.gsBase = c.kernelGsBase;
      c.kernelGsBase = gs;
    }
    c.cs = __KERNEL_CS;
    c.ss = __KERNEL_DS;
  }

  /**
   * The tail of every path back to user mode (ret_from_fork / the exit paths), for a task the
   * scheduler just picked: SWITCH_TO_USER_CR3, swapgs, and the task's user registers.
   */
  return_to_user(): void {
    const m = this.machine;
    const c = m.cpu;
    SWITCH_TO_USER_CR3(this, 'ret_to_user');
    const gs = c.gsBase;
    c.gsBase = c.kernelGsBase;
    c.kernelGsBase = gs;
    c.cs = __USER_CS;
    c.ss = __USER_DS;
    c.rip = this.current.user.rip;
    c.rsp = this.current.user.rsp;
    const pkru = this.current.user.pkru;
    if (pkru !== undefined && pkru !== c.pkru) m.setPkru(pkru); // switch_fpu_finish → pkru_write_default / the task's PKRU
    m.setRflags(this.current.user.rflags);
  }
}

/** start_kernel(), x86 parts: page tables, IDT, TSS, cpu_entry_area, PTI, CPU features. */
function start_kernel(k: LinuxKernel): void {
  const m = k.machine;
  m.setCr4(m.cpu.cr4 | CR4_PGE);
  const [entryStart, entryEnd] = layout_entry_text(k.syms);
  map_kernel_text(k, ENTRY_TEXT_START, 1);
  const lib = layout_usercopy(k, k.extable);
  map_kernel_text(k, lib, 1);
  init_mem_mapping(k); // the direct map, before anything is written through it
  preallocate_vmalloc_pages(k, VMALLOC_START);
  m.movToCr3(BigInt(k.init_mm.pgd) << 12n); // the CPU now runs on swapper_pg_dir
  m.cpu.cs = __KERNEL_CS;
  m.cpu.ss = __KERNEL_DS;
  m.setRflags(RFLAGS_FIXED);
  m.cpu.gsBase = k.percpu.per_cpu_offset;
  idt_setup_early_traps(k); // setup_arch()
  idt_setup_early_pf(k); // after init_mem_mapping()
  const cea = setup_cpu_entry_area(k); // trap_init(): setup_cpu_entry_areas()
  cpu_init_exception_handling(k, cea);
  idt_setup_traps(k);
  idt_map_in_cea(k); // init_IRQ() -> idt_setup_apic_and_irq_gates()
  idt_switch_to_ro_alias(k);
  pti_init(k, entryStart, entryEnd);
  m.setCr4(m.cpu.cr4 | CR4_SMEP | CR4_SMAP | CR4_PCIDE); // identify_cpu(): setup_smep, setup_smap, setup_pcid
  bind_idtentry(k, PF, 'asm_exc_page_fault', 'exc_page_fault', exc_page_fault, true);
  bind_idtentry(k, GP, 'asm_exc_general_protection', 'exc_general_protection', exc_general_protection, true);
  k.syms.bind('entry_SYSCALL_64', (kk) => entry_SYSCALL_64(kk, (kk as LinuxKernel).syscalls));
  if (k.machine.trace.enabled) decide(k, 'start_kernel', 'booted', `Linux ${k.version} pti=${k.pti}`);
}

/** The first process's layout, as execve() of a small static program would leave it (no ASLR). */
export const USER_TEXT = 0x400000;
/** The address of the user instruction each access step executes (a `mov`). */
export const USER_INSN_IP = 0x401000n;
/** The `syscall` instruction the program's system calls go through. */
export const USER_SYSCALL_IP = 0x401100n;
export const USER_STACK_TOP = 0x7ffffffff000;
/** The initial stack pointer (argv/envp/auxv above it, in the top pages the kernel wrote at exec). */
export const USER_RSP = 0x7fffffffe000n;
/** The program's initial break (mm->start_brk), right after its data. */
export const USER_BRK0 = 0x405000;
