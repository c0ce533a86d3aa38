// A minimal booted Linux kernel context for the mm tests: a machine, struct pages, the zero page,
// swapper_pg_dir (an order-1 pair, PTI on by default) with one kernel-half entry, init_mm, and a
// task whose mm comes from mm_alloc and is loaded with switch_mm. The arch side's real boot
// (src/kernel/linux/linux.ts) does more; this is just enough for mm/ to run on its own.

import { Machine } from '../../../../src/hw/machine.js';
import { CR4_PCIDE, CR4_PGE } from '../../../../src/hw/regs.js';
import { MemorySink, nullSink, type TraceEvent } from '../../../../src/trace/events.js';
import { _KERNPG_TABLE } from '../../../../src/kernel/linux/arch/x86/include/asm/pgtable_types.js';
import { follow_pte, set_entry } from '../../../../src/kernel/linux/arch/x86/mm/pgtable.js';
import { switch_mm_irqs_off } from '../../../../src/kernel/linux/arch/x86/mm/tlb.js';
import type { MmStruct, VmAreaStruct } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { init_mm_struct, mm_alloc } from '../../../../src/kernel/linux/mm/mm_init.js';
import { MemMap, setup_zero_page } from '../../../../src/kernel/linux/mm/page_alloc.js';
import { find_vma, vmas_of } from '../../../../src/kernel/linux/mm/vma.js';
import { dup_mm } from '../../../../src/kernel/linux/kernel/fork.js';
import { handle_mm_fault } from '../../../../src/kernel/linux/mm/memory.js';
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_USER, FAULT_FLAG_WRITE, VM_EXEC, VM_READ, VM_WRITE,
} from '../../../../src/kernel/linux/include/linux/mm_types.js';
import { featuresOf, type Kernel, type LinuxVersion, type TaskStruct } from '../../../../src/kernel/linux/types.js';

export const VERSIONS: LinuxVersion[] = ['5.19', '6.18'];

export interface TestKernel extends Kernel {
  sink: MemorySink | null;
}

export function newTask(pid: number, mm: MmStruct | null, name = 'main'): TaskStruct {
  return { pid, comm: 'probe', name, mm, min_flt: 0, maj_flt: 0, thread: { cr2: 0n, trap_nr: 0, error_code: 0 } };
}

/** Boot enough of a kernel for mm/: `pages` frames of RAM. */
export function bootKernel(version: LinuxVersion, opts: { pages?: number; pti?: boolean; pcid?: boolean; trace?: boolean } = {}): TestKernel {
  const sink = opts.trace ? new MemorySink() : null;
  const machine = new Machine({}, sink ?? nullSink);
  const memmap = new MemMap(machine, opts.pages ?? 4096);
  const zero_pfn = setup_zero_page(memmap);
  const pti = opts.pti ?? true;
  const swapper = memmap.alloc_pages(null, pti ? 1 : 0, 'swapper_pg_dir');
  memmap.reserve(swapper);
  if (pti) memmap.reserve(swapper + 1);
  const init_mm = init_mm_struct(swapper);
  const k: TestKernel = {
    machine, version, features: featuresOf(version), memmap, zero_pfn, init_mm, pti,
    current: newTask(1, null), vmstat: { pgfault: 0, pgmajfault: 0, pgreuse: 0, thp_fault_alloc: 0 },
    perf: { page_faults: 0, page_faults_min: 0, page_faults_maj: 0 }, sink,
  };
  // One kernel-half entry (the direct map's PUD table), so pgd_ctor has something to copy.
  const kpud = memmap.alloc_page(null, 'kernel pud');
  memmap.reserve(kpud);
  set_entry(k, 'pml4', swapper * 4096 + 273 * 8, _KERNPG_TABLE | (kpud * 4096), 0);
  let cr4 = machine.cpu.cr4 | CR4_PGE;
  if (opts.pcid ?? true) cr4 |= CR4_PCIDE;
  machine.setCr4(cr4);
  machine.movToCr3(BigInt(swapper) << 12n);
  const mm = mm_alloc(k)!;
  mm.start_brk = mm.brk = 0x555555559000;
  k.current = newTask(1, mm);
  switch_mm_irqs_off(k, mm);
  machine.cpu.cs = 0x33; // user mode for machine accesses
  if (sink) sink.events.length = 0;
  return k;
}

export function mmOf(k: Kernel): MmStruct {
  return k.current.mm!;
}

/** The PFN a user address maps, or null. */
export function pfnAt(k: Kernel, addr: number, mm: MmStruct = mmOf(k)): number | null {
  return follow_pte(k, mm, addr)?.pfn ?? null;
}

/** "[start,end) flags" lines of the VMA list, for diagram-like asserts. */
export function vmaList(mm: MmStruct): [number, number][] {
  return vmas_of(mm).map((v: VmAreaStruct) => [v.vm_start, v.vm_end]);
}

/** A user access through the machine (no kernel entry): 'ok' or the #PF error code. */
export function touch(k: Kernel, addr: number, access: 'read' | 'write', value = 0n): { ok: true; value: bigint } | { ok: false; err: number } {
  const r = k.machine.tryAccess({ va: BigInt(addr), access, size: 1, value });
  if (r.kind === 'ok') return { ok: true, value: r.value };
  return { ok: false, err: r.fault.errorCode ?? -1 };
}

export function eventsOf(k: TestKernel): TraceEvent[] {
  return k.sink ? k.sink.events : [];
}

/** Function names of `enter` events, in order. */
export function entered(k: TestKernel): string[] {
  return eventsOf(k).flatMap((e) => (e.ev === 'enter' ? [e.fn] : []));
}

export function decisions(k: TestKernel, fn?: string): string[] {
  return eventsOf(k).flatMap((e) => (e.ev === 'decision' && (!fn || e.fn === fn) ? [e.reason] : []));
}

/** fork: a child task with dup_mm of the current mm (the parent stays current). */
export function forkTask(k: Kernel, name: string, pid: number): TaskStruct {
  const mm = dup_mm(k, k.current.mm!);
  if (!mm) throw new Error('dup_mm failed');
  return newTask(pid, mm, name);
}

/** Run `t` on the CPU (context switch: switch_mm_irqs_off). */
export function switchTo(k: Kernel, t: TaskStruct): void {
  k.current = t;
  switch_mm_irqs_off(k, t.mm!);
}

/** A user page-fault the way do_user_addr_fault would resolve a good-area fault (tests only). */
export function fault(k: Kernel, addr: number, write: boolean): number {
  const vma = find_vma(k, k.current.mm!, addr);
  if (!vma || vma.vm_start > addr) throw new Error(`no VMA at ${addr.toString(16)}`);
  return handle_mm_fault(k, vma, addr, FAULT_FLAG_DEFAULT | FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0), {});
}

/** A user store or load that takes page faults through the mm like the real path: fault, retry once. */
export function userAccess(k: Kernel, addr: number, access: 'read' | 'write', value = 0n): { ok: true; value: bigint } | { ok: false; err: number } {
  let r = touch(k, addr, access, value);
  for (let i = 0; i < 3 && !r.ok; i++) {
    const vma = find_vma(k, k.current.mm!, addr);
    if (!vma || vma.vm_start > addr) return r;
    const write = access === 'write';
    if (write && !(vma.vm_flags & VM_WRITE)) return r;
    if (!write && !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) return r;
    fault(k, addr, write);
    r = touch(k, addr, access, value);
  }
  return r;
}
