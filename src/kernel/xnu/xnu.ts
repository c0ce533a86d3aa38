// The XNU model's kernel context: one booted xnu-11417 on one Machine. Every modelled function
// takes it as its first argument (`k`), so two machines (and two kernels) run side by side with
// no global state. It holds what XNU keeps in globals: the kernel pmap, the page queues,
// `vm_statistics`, the per-CPU data, the double-map distance, and the tasks.
//
// Trace helpers live here too: `enter`/`leave` around each modelled function (src = the XNU
// file), `decide` for every early return, with a reason from the function's string-literal union.

import type { Machine } from '../../hw/machine.js';
import type { TraceSink } from '../../trace/events.js';
import type { Pmap, PvEntry } from './osfmk/x86_64/pmap.js';
import type { VmPageQueues } from './osfmk/vm/vm_page.js';
import type { Task } from './osfmk/kern/task.js';
import type { Vnode } from './bsd/vfs/vfs_subr.js';
import type { CompressorPool, CSlot } from './osfmk/vm/vm_compressor.js';
import type { TrapScratch } from './osfmk/x86_64/kaccess.js';
import type { VmObject } from './osfmk/vm/vm_object.js';

export const XNU_TAG = 'xnu-11417.121.6';

/** `enter` events carry "file:function (xnu-11417)", as the text renderer prints next to calls. */
export function srcOf(file: string, fn: string): string {
  return `${file}:${fn} (xnu-11417)`;
}

/** kern_return_t (osfmk/mach/kern_return.h:72-138). */
export const KERN_SUCCESS = 0;
export const KERN_INVALID_ADDRESS = 1;
export const KERN_PROTECTION_FAILURE = 2;
export const KERN_NO_SPACE = 3;
export const KERN_INVALID_ARGUMENT = 4;
export const KERN_FAILURE = 5;
export const KERN_RESOURCE_SHORTAGE = 6;
export const KERN_MEMORY_FAILURE = 9;
export const KERN_MEMORY_ERROR = 10;
export const KERN_ABORTED = 14;

const KR_NAMES: Record<number, string> = {
  0: 'KERN_SUCCESS', 1: 'KERN_INVALID_ADDRESS', 2: 'KERN_PROTECTION_FAILURE', 3: 'KERN_NO_SPACE',
  4: 'KERN_INVALID_ARGUMENT', 5: 'KERN_FAILURE', 6: 'KERN_RESOURCE_SHORTAGE', 9: 'KERN_MEMORY_FAILURE',
  10: 'KERN_MEMORY_ERROR', 14: 'KERN_ABORTED',
};
export function krName(kr: number): string {
  return KR_NAMES[kr] ?? `kern_return ${kr}`;
}

/** vm_prot_t (osfmk/mach/vm_prot.h:85-201). */
export const VM_PROT_NONE = 0;
export const VM_PROT_READ = 1;
export const VM_PROT_WRITE = 2;
export const VM_PROT_EXECUTE = 4;
export const VM_PROT_UEXEC = 8;
export const VM_PROT_COPY = 0x10;
export const VM_PROT_DEFAULT = 3;
export const VM_PROT_ALL = 7;

export function protName(p: number): string {
  return ((p & 1 ? 'r' : '-') + (p & 2 ? 'w' : '-') + (p & 4 ? 'x' : '-')) + (p & VM_PROT_COPY ? '|COPY' : '');
}

/** vm_inherit_t (osfmk/mach/vm_inherit.h:85-90). */
export const VM_INHERIT_SHARE = 0;
export const VM_INHERIT_COPY = 1;
export const VM_INHERIT_NONE = 2;
export const VM_INHERIT_DEFAULT = VM_INHERIT_COPY;

export const PAGE_SIZE = 4096;

/** Host-wide `vm_statistics64` counters the fault path bumps (osfmk/kern/host.c:119-145). */
export interface VmStatistics {
  faults: number;
  zero_fill_count: number;
  cow_faults: number;
  pageins: number;
  decompressions: number;
  /** Pages the pageout daemon handed to the compressor (vm_stat "Pages stored in compressor" grows by these). */
  compressions: number;
  /** Dirty file pages written back to their vnode (vm_stat pageouts). */
  pageouts: number;
  /** Pages the daemon found referenced on the inactive queue and gave a second chance. */
  reactivations: number;
  /** Clean pages freed without I/O: file pages and MADV_FREE_REUSABLE pages. */
  reclaimed: number;
  /** Pages freed by emptying volatile purgeable objects (vm_page_purged_count). */
  purged: number;
}

/** splitmix64: the model's early_random(), seeded by the scenario (no wall clock, STYLE.md). */
export class EarlyRandom {
  private s: bigint;
  constructor(seed: number) {
    this.s = BigInt.asUintN(64, BigInt(seed) ^ 0x5851f42d4c957f2dn);
  }
  next64(): bigint {
    this.s = BigInt.asUintN(64, this.s + 0x9e3779b97f4a7c15n);
    let z = this.s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
}

export interface BootOptions {
  seed: number;
  /** Bytes of RAM (default 64 MiB). */
  ram?: number;
  /** Force the doublemap PDPT slot (`randL3`); by default `(early_random() >> 8) & 0xff`. */
  randL3?: number;
}

/** What the last trap did, for the step's result (the model's own bookkeeping, not an XNU structure). */
export interface TrapRecord {
  mach_exception?: { type: number; code: number; subcode: bigint };
  signal?: { signo: number; code: number; addr: bigint; trapno: number; err: number };
  killed: boolean;
  handled: boolean;
  panic?: string;
  /** kernel_trap redirected RIP to a copyio recovery address. */
  recovered: boolean;
}

/** One booted XNU. Fields are filled by `vstart` (osfmk/i386/i386_init.ts). */
export class Xnu {
  readonly rng: EarlyRandom;
  readonly stats: VmStatistics = {
    faults: 0, zero_fill_count: 0, cow_faults: 0, pageins: 0, decompressions: 0, compressions: 0, pageouts: 0, reactivations: 0, reclaimed: 0, purged: 0,
  };
  /** The simulated file system: vnodes by name (bsd/vfs, simplified to one flat namespace). */
  readonly vnodes = new Map<string, Vnode>();
  /** Disk reads the vnode pager issued (one per page: vnode_pagein), and writes (vnode_pageout). */
  readonly io = { reads: 0, writes: 0 };
  /** The compressor pool (osfmk/vm/vm_compressor.c), made at the first compression. */
  compressor: CompressorPool | null = null;
  /** The trap path's scratch quadwords and value caches (osfmk/x86_64/kaccess.ts), made at the first trap. */
  trapScratch: TrapScratch | undefined = undefined;
  /** vm_pageout_wakeup was called (free pages below vm_page_free_min): the daemon runs at the next safe point. */
  pageoutWanted = false;
  /** True while vm_pageout_scan runs (it is not re-entered). */
  pageoutRunning = false;
  /** The purgeable queue: volatile objects, oldest first (vm_purgeable_queues, simplified to one). */
  readonly purgeableQueue = new Set<VmObject>();
  /** Compressed slots whose data is corrupt (decompression_failure.c's test hook): decompressing fails with KERN_MEMORY_FAILURE. */
  readonly corruptSlots = new Set<CSlot>();
  /** memorystatus (jetsam) kills, in order, with their log lines. */
  readonly jetsamLog: string[] = [];
  /** hwIntCnt[trapno] (idt64.s L_intcnt). */
  readonly hwIntCnt = new Array<number>(256).fill(0);
  randL3 = 0;
  /** DBLMAP(x) = x + dblmap_dist (osfmk/i386/pmap.h:533-542). */
  dblmapDist = 0n;
  kernelPmap!: Pmap;
  pages!: VmPageQueues;
  /** pv_head_table: the mappings of each physical page. */
  readonly pvHead = new Map<number, PvEntry[]>();
  /** pmap_phys_attributes: referenced/modified bits of mappings already removed, by frame. */
  readonly pmapPhysAttributes = new Map<number, number>();
  readonly tasks: Task[] = [];
  nextPid = 100;
  nextObjectId = 1;
  /** The task whose thread is on the CPU (`current_thread()`); null while only the kernel runs. */
  current: Task | null = null;
  /** Kernel VA bump for PCBs and kernel stacks (kmem_alloc, simplified). */
  kmemNext = 0n;
  /** Filled by user_trap/kernel_trap and the signal path during the last trap. */
  trap: TrapRecord = { killed: false, handled: false, recovered: false };
  /** type_of_fault of the last vm_fault that succeeded (DBG_*_FAULT), for results and tests. */
  lastFaultType = 0;
  /** Physical address of the boot CPU's cpu_data page. */
  cpuDataPa = 0;
  /** The scenario's signal policy: 'handle' installs SIGSEGV/SIGBUS handlers (SA_ONSTACK), 'default' leaves SIG_DFL. */
  signals: 'handle' | 'default' = 'handle';
  /** Boot-time physical bump allocator (pmap_steal_memory, simplified). */
  bootNextPfn = 0;

  constructor(readonly m: Machine, readonly opts: BootOptions) {
    this.rng = new EarlyRandom(opts.seed);
  }

  get trace(): TraceSink {
    return this.m.trace;
  }
}

/** Emit `enter` for a modelled function (call only inside `if (k.trace.enabled)` when `args` allocates). */
export function enter(k: Xnu, fn: string, file: string, args?: Record<string, string>): void {
  if (k.m.trace.enabled) k.m.trace.emit({ ev: 'enter', fn, src: srcOf(file, fn), args });
}

export function leave(k: Xnu, fn: string, ret?: string): void {
  if (k.m.trace.enabled) k.m.trace.emit({ ev: 'leave', fn, ret });
}

export function decide(k: Xnu, fn: string, reason: string, detail?: string): void {
  if (k.m.trace.enabled) k.m.trace.emit({ ev: 'decision', fn, reason, detail });
}

export function klog(k: Xnu, text: string): void {
  if (k.m.trace.enabled) k.m.trace.emit({ ev: 'log', text });
}

export const hx = (v: bigint | number): string => '0x' + (typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16);
