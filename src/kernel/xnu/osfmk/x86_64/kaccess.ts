// Kernel loads and stores through the CPU (as `mov` would): a supervisor access at the current
// CR3, filling the TLB as usual. The individual accesses are not traced (the entry path makes
// dozens); the functions doing them emit their own events (push, the saved-state dump).

import { ACC_READ, ACC_WRITE } from '../../../../hw/paging.js';
import { hx, type Xnu } from '../../xnu.js';

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
  const r = quiet(k, () => k.m.tryAccess({ va, access: 'read', size }));
  if (r.kind === 'fault') throw new Error(`model bug: kernel read of ${hx(va)} faulted (vector ${r.fault.vector})`);
  return r.value;
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
  const r = quiet(k, () => k.m.tryAccess({ va, access: 'write', size, value }));
  if (r.kind === 'fault') throw new Error(`model bug: kernel write of ${hx(va)} faulted (vector ${r.fault.vector})`);
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
