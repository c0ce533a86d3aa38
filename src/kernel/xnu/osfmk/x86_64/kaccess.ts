// Kernel loads and stores through the CPU (as `mov` would): a supervisor access at the current
// CR3, filling the TLB as usual. The individual accesses are not traced (the entry path makes
// dozens); the functions doing them emit their own events (push, the saved-state dump).

import { ACC_READ, ACC_WRITE } from '../../../../hw/paging.js';
import type { Machine } from '../../../../hw/machine.js';
import { R_RSP, addHalves, joinHalves } from '../../../../hw/regs.js';
import { hex } from '../../../../trace/events.js';
import { hx, type Xnu } from '../../xnu.js';
import { HIB_BASE } from './hib.js';

/** Run `fn` with the machine's trace off (Machine.untraced). */
export function quiet<T>(k: Xnu, fn: () => T): T {
  return k.m.untraced(fn);
}

/**
 * The physical address of an aligned kernel access at `va`, translated by the CPU (TLB, then
 * the page walk), or -1. Only used with tracing off: the access itself is not an event then.
 */
function kernelPa(k: Xnu, va: bigint, acc: number): number {
  const m = k.m;
  const pfn = m.translate(Number(va >> 12n) % 4503599627370496, acc, m.cpu.cpl === 3, false);
  return pfn < 0 ? -1 : pfn * 4096 + Number(va & 0xfffn);
}

/** A kernel load of `size` bytes; kernel memory is always mapped, so a fault is a model bug. */
export function kread(k: Xnu, va: bigint, size = 8): bigint {
  if (!k.m.trace.enabled && size === 8 && (va & 7n) === 0n) {
    const pa = kernelPa(k, va, ACC_READ);
    if (pa >= 0) return k.m.mem.read64(pa);
  }
  return kaccess(k, va, 'read', size, undefined);
}

/** A kernel store of `size` bytes. */
export function kwrite(k: Xnu, va: bigint, value: bigint, size = 8): void {
  if (!k.m.trace.enabled && size === 8 && (va & 7n) === 0n) {
    const pa = kernelPa(k, va, ACC_WRITE);
    if (pa >= 0) {
      k.m.mem.write64(pa, BigInt.asUintN(64, value));
      return;
    }
  }
  kaccess(k, va, 'write', size, value);
}

/** The general form of kread/kwrite (its own function: the closure would allocate on their fast path too). */
function kaccess(k: Xnu, va: bigint, access: 'read' | 'write', size: number, value: bigint | undefined): bigint {
  const r = quiet(k, () => k.m.tryAccess({ va, access, size, value }));
  if (r.kind === 'fault') throw new Error(`model bug: kernel ${access} of ${hx(va)} faulted (vector ${r.fault.vector})`);
  return r.value;
}

/** `n` ascending 8-byte kernel loads from `va` (one run of movq's: Machine.tryWords). */
export function kreadWords(k: Xnu, va: bigint, n: number): bigint[] {
  const words = new Array<bigint>(n).fill(0n);
  const r = quiet(k, () => k.m.tryWords(va, 8, 'read', words, n));
  if (r.fault) throw new Error(`model bug: kernel read of ${hx(va)} faulted (vector ${r.fault.vector})`);
  return words;
}

/** Ascending (stride 8) or descending (stride -8, as pushes go) 8-byte kernel stores. */
export function kwriteWords(k: Xnu, va: bigint, words: bigint[], stride: 8 | -8 = 8): void {
  const r = quiet(k, () => k.m.tryWords(va, stride, 'write', words, words.length));
  if (r.fault) throw new Error(`model bug: kernel write of ${hx(va)} faulted (vector ${r.fault.vector})`);
}

// --- the number forms (the entry path): addresses and words as 32-bit halves -------------------

const TWO32 = 2 ** 32;

/**
 * `n` 8-byte kernel accesses at `hi`:`lo` + `off` (|off| < 2^32), the i-th `stride` bytes on, word
 * i in `buf[2i]` (bits 31:0) and `buf[2i + 1]`: one run of movq's through Machine.tryWordsAt (the
 * same translations, counters and A/D flags as the bigint forms; untraced, as they are).
 */
function kwordsAt(k: Xnu, hi: number, lo: number, off: number, stride: 8 | -8, write: boolean, buf: Uint32Array, n: number): void {
  const m = k.m;
  // tryWordsAt carries lo + off into the high half.
  const done = m.trace.enabled ? quietWordsAt(k, hi, lo + off, stride, write, buf, n) : m.tryWordsAt(hi, lo + off, stride, write, buf, n, false, false);
  if (done < n) throw new Error(`model bug: kernel ${write ? 'write' : 'read'} of ${hx(BigInt.asUintN(64, joinHalves(lo, hi) + BigInt(off)))} faulted (vector ${m.lastFault?.vector})`);
}

/** kwordsAt's run with tracing on, muted (its own function: a closure in kwordsAt would allocate on every call). */
function quietWordsAt(k: Xnu, hi: number, lo: number, stride: 8 | -8, write: boolean, buf: Uint32Array, n: number): number {
  return quiet(k, () => k.m.tryWordsAt(hi, lo, stride, write, buf, n, false, false));
}

/** `n` 8-byte kernel loads from `hi`:`lo` + `off` upwards (stride 8) or downwards, into `buf`. */
export function kreadAt(k: Xnu, hi: number, lo: number, off: number, buf: Uint32Array, n = 1, stride: 8 | -8 = 8): void {
  kwordsAt(k, hi, lo, off, stride, false, buf, n);
}

/** `n` 8-byte kernel stores of `buf`'s words at `hi`:`lo` + `off`, upwards (stride 8) or downwards as pushes go. */
export function kwriteAt(k: Xnu, hi: number, lo: number, off: number, buf: Uint32Array, n = 1, stride: 8 | -8 = 8): void {
  kwordsAt(k, hi, lo, off, stride, true, buf, n);
}

/**
 * The physical address of a naturally aligned kernel access of `size` (2 or 4) bytes at
 * `hi`:`lo` + `off` (so inside one 32-bit word), translated by the CPU, or -1 when it needs the
 * general path (tracing on, misaligned, or a fault, which the general path reports).
 */
function smallPa(k: Xnu, hi: number, lo: number, off: number, size: 2 | 4, acc: number): number {
  const m = k.m;
  const l = lo + off;
  // The general path also takes non-canonical addresses (it raises the #GP the CPU would).
  if (m.trace.enabled || l >= TWO32 || l < 0 || (l & (size - 1)) !== 0 || !m.canonicalHi(hi)) return -1;
  const pfn = m.translate(hi * 1048576 + (l >>> 12), acc, m.cpu.cpl === 3, false);
  return pfn < 0 ? -1 : pfn * 4096 + (l & 0xfff);
}

/** A kernel load of `size` (2 or 4) bytes at `hi`:`lo` + `off` (kread's number form for the small fields). */
export function kreadSmallAt(k: Xnu, hi: number, lo: number, off: number, size: 2 | 4): number {
  const pa = smallPa(k, hi, lo, off, size, ACC_READ);
  if (pa < 0) return Number(kread(k, joinHalves(lo, hi) + BigInt(off), size));
  const word = k.m.mem.read32(pa - (pa % 4));
  return size === 4 ? word : (word >>> (8 * (pa % 4))) & 0xffff;
}

/** A kernel store of the low `size` (2 or 4) bytes of `v` at `hi`:`lo` + `off`. */
export function kwriteSmallAt(k: Xnu, hi: number, lo: number, off: number, v: number, size: 2 | 4): void {
  const pa = smallPa(k, hi, lo, off, size, ACC_WRITE);
  if (pa < 0) return kwrite(k, joinHalves(lo, hi) + BigInt(off), BigInt(v >>> 0) & (size === 4 ? 0xffffffffn : 0xffffn), size);
  const mem = k.m.mem;
  if (size === 4) return mem.write32(pa, v);
  const base = pa - (pa % 4);
  const sh = 8 * (pa % 4);
  mem.write32(base, (mem.read32(base) & ~(0xffff << sh)) | ((v & 0xffff) << sh));
}

/**
 * A 64-bit base the asm adds offsets to (the kernel GS base, the double map's __HIB alias) as
 * 32-bit halves, split again only when the value changes (a cache keyed by the value, so
 * machines side by side share it harmlessly). `bias` is added first (DBLMAP's alias base).
 */
export class Halves {
  private v: bigint | null = null;
  lo = 0;
  hi = 0;
  constructor(private readonly bias: bigint) {}
  of(v: bigint): this {
    if (v !== this.v) {
      const u = BigInt.asUintN(64, v + this.bias);
      this.v = v;
      this.lo = Number(u & 0xffffffffn);
      this.hi = Number(u >> 32n);
    }
    return this;
  }
}

/** The reverse: a quadword read as halves, as the bigint a register write takes (CR3), joined again only when it changes. */
export class Joined {
  private lo = -1;
  private hi = -1;
  private v = 0n;
  of(lo: number, hi: number): bigint {
    if (lo !== this.lo || hi !== this.hi) {
      this.lo = lo;
      this.hi = hi;
      this.v = joinHalves(lo, hi);
    }
    return this.v;
  }
}

// --- the entry code's register, stack and %gs accesses, as halves ---------------------------------

/**
 * The trap path's scratch quadwords (as 32-bit halves) and value caches, one set per kernel
 * (STYLE: no module state; one trap at a time per machine).
 */
export class TrapScratch {
  /** The quadword this file's helpers load or store (mustPush, mustPop, rspRead, gsRead). */
  readonly w = new Uint32Array(2);
  /** The kernel GS base (cpu_data) as halves. */
  readonly gs = new Halves(0n);
  /** idt64.s: one quadword, a register block, a run of pushes, the iret frame. */
  readonly idtW = new Uint32Array(2);
  readonly block = new Uint32Array(2 * 16);
  readonly run = new Uint32Array(2 * 8);
  readonly iret = new Uint32Array(2 * 5);
  /** DBLMAP(HIB_BASE) keyed by dblmap_dist, and the thread's saved state, as halves. */
  readonly dbl = new Halves(HIB_BASE);
  readonly iss = new Halves(0n);
  /** The two CR3 values the path loads: the task's full one on entry, the user-only one on return. */
  readonly taskCr3 = new Joined();
  readonly userCr3 = new Joined();
  /** user_trap's saved-state reads (trap.c). */
  readonly trapW = new Uint32Array(2 * 3);
}

/** The kernel's trap scratch, made on first use. */
export function trapScratch(k: Xnu): TrapScratch {
  return (k.trapScratch ??= new TrapScratch());
}

/** Register `at` (an index into CpuState.r: R_RIP, R_RSP) = `hi`:`lo` + `off` (0 <= off < 2^32). */
export function setAt(m: Machine, at: number, hi: number, lo: number, off: number): void {
  addHalves(m.cpu.r, at, hi, lo, off);
}

/** pushq of the quadword with halves `lo`, `hi` by kernel code: the store goes through the CPU (kwriteAt); one `push` event per word. */
export function mustPush(k: Xnu, lo: number, hi: number, what: string): void {
  const W = trapScratch(k).w;
  const cpu = k.m.cpu;
  W[0] = lo;
  W[1] = hi;
  kwriteAt(k, cpu.r[R_RSP + 1]!, cpu.r[R_RSP]!, -8, W);
  cpu.addRsp(-8);
  if (k.trace.enabled) k.trace.emit({ ev: 'push', addr: hex(cpu.rsp), value: hex(joinHalves(lo, hi)), what });
}

/** Several pushq's of `buf`'s `n` words, in push order: with tracing on, one event each; off, one run of stores. */
export function pushAll(k: Xnu, buf: Uint32Array, n: number, whats: readonly string[]): void {
  if (k.trace.enabled) {
    for (let i = 0; i < n; i++) mustPush(k, buf[2 * i]!, buf[2 * i + 1]!, whats[i]!);
    return;
  }
  const cpu = k.m.cpu;
  kwriteAt(k, cpu.r[R_RSP + 1]!, cpu.r[R_RSP]!, -8, buf, n, -8);
  cpu.addRsp(-8 * n);
}

/** popq by kernel code, into W. */
export function mustPop(k: Xnu, what: string): Uint32Array {
  const W = trapScratch(k).w;
  const cpu = k.m.cpu;
  kreadAt(k, cpu.r[R_RSP + 1]!, cpu.r[R_RSP]!, 0, W);
  if (k.trace.enabled) k.trace.emit({ ev: 'pop', addr: hex(cpu.rsp), value: hex(joinHalves(W[0]!, W[1]!)), what });
  cpu.addRsp(8);
  return W;
}

/** The quadword at RSP + `off` (a `mov off(%rsp)`), into W. */
export function rspRead(k: Xnu, off: number): Uint32Array {
  const W = trapScratch(k).w;
  const r = k.m.cpu.r;
  kreadAt(k, r[R_RSP + 1]!, r[R_RSP]!, off, W);
  return W;
}

/** The kernel GS base (cpu_data) as halves. */
export function gsBase(k: Xnu): Halves {
  return trapScratch(k).gs.of(k.m.cpu.gsBase);
}

/** %gs:off — a load relative to the kernel GS base (cpu_data), into W. */
export function gsRead(k: Xnu, off: number): Uint32Array {
  const W = trapScratch(k).w;
  const g = gsBase(k);
  kreadAt(k, g.hi, g.lo, off, W);
  return W;
}

/** A store of `w`'s quadword to %gs:off. */
export function gsWrite(k: Xnu, off: number, w: Uint32Array): void {
  const g = gsBase(k);
  kwriteAt(k, g.hi, g.lo, off, w);
}

/** Copy the register at r[from] (2 * its GPR number) into word `i` of `buf`. */
export function regToBuf(r: Uint32Array, from: number, buf: Uint32Array, i: number): void {
  buf[2 * i] = r[from]!;
  buf[2 * i + 1] = r[from + 1]!;
}

/** Copy word `i` of `buf` into the register at r[to]. */
export function bufToReg(buf: Uint32Array, i: number, r: Uint32Array, to: number): void {
  r[to] = buf[2 * i]!;
  r[to + 1] = buf[2 * i + 1]!;
}
