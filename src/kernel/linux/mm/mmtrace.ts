// Trace helpers for the mm model: `enter`/`leave`/`decision` events (src/trace/events.ts). Each
// checks `trace.enabled` first, so with tracing off a call costs a branch and builds nothing.

import type { Kernel } from '../types.js';

/** The file a function lives in, per version ("mm/memory.c" in both, or a 6.x move). */
export function srcOf(k: Kernel, v519: string, v6: string = v519): string {
  return k.version === '5.19' ? v519 : v6;
}

export function enter(k: Kernel, fn: string, src: string, args?: Record<string, string>): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit(args ? { ev: 'enter', fn, src, args } : { ev: 'enter', fn, src });
}

export function leave(k: Kernel, fn: string, ret?: string): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit(ret === undefined ? { ev: 'leave', fn } : { ev: 'leave', fn, ret });
}

export function decision(k: Kernel, fn: string, reason: string, detail?: string): void {
  const t = k.machine.trace;
  if (t.enabled) t.emit(detail === undefined ? { ev: 'decision', fn, reason } : { ev: 'decision', fn, reason, detail });
}

const VM_FAULT_BITS: readonly (readonly [number, string])[] = [
  [0x1, 'OOM'], [0x2, 'SIGBUS'], [0x4, 'MAJOR'], [0x8, 'WRITE'], [0x10, 'HWPOISON'], [0x40, 'SIGSEGV'],
  [0x100, 'NOPAGE'], [0x200, 'LOCKED'], [0x400, 'RETRY'], [0x800, 'FALLBACK'], [0x1000, 'DONE_COW'], [0x4000, 'COMPLETED'],
];
/** vmFaultName's answers so far (a pure function of a few dozen values; many call sites build it untraced). */
const VM_FAULT_NAMES = new Map<number, string>([[0, '0']]);

/** "VM_FAULT_WRITE|VM_FAULT_MAJOR" style names of a vm_fault_t, for `leave` events. */
export function vmFaultName(ret: number): string {
  let name = VM_FAULT_NAMES.get(ret);
  if (name === undefined) {
    name = VM_FAULT_BITS.filter(([b]) => ret & b).map(([, n]) => 'VM_FAULT_' + n).join('|');
    if (VM_FAULT_NAMES.size < 256) VM_FAULT_NAMES.set(ret, name);
  }
  return name;
}
