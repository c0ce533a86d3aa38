// The Mach VM calls a task makes on its own map (osfmk/vm/vm_user.c:141, 201; vm_kern.c:1290;
// xnu-11417.121.6): mach_vm_allocate, mach_vm_deallocate, mach_vm_protect, mach_vm_inherit.
// Simplified: the sanitizers only round and check for overflow; no VM tags beyond an alias number.

import { decide, KERN_INVALID_ARGUMENT, KERN_SUCCESS, VM_INHERIT_DEFAULT, VM_PROT_ALL, VM_PROT_DEFAULT, type Xnu } from '../../xnu.js';
import { vm_map_enter, type VmMap } from './vm_map.js';
import { vm_map_delete, vm_map_inherit, vm_map_protect } from './vm_map_ops.js';

const PAGE = 4096;
const MAX64 = (1n << 64n) - 1n;

export interface AllocateFlags {
  anywhere: boolean;
  overwrite?: boolean;
  permanent?: boolean;
}

/** Page-rounded [start, end) of (addr, size), or null when it wraps (vm_sanitize_addr_size). */
export function sanitizeRange(addr: bigint, size: bigint): { start: bigint; end: bigint } | null {
  const start = addr & ~0xfffn;
  const endRaw = addr + size;
  if (endRaw > MAX64 + 1n) return null;
  const end = (endRaw + 0xfffn) & ~0xfffn;
  return end > MAX64 + 1n ? null : { start, end };
}

/** mach_vm_allocate (vm_user.c:141 -> vm_map_enter with VM_PROT_DEFAULT / VM_PROT_ALL / INHERIT_DEFAULT). */
export function mach_vm_allocate(k: Xnu, map: VmMap, addr: bigint, size: bigint, flags: AllocateFlags): { kr: number; addr: bigint } {
  if (size === 0n) {
    decide(k, 'mach_vm_allocate', 'zero-size');
    return { kr: KERN_SUCCESS, addr: 0n };
  }
  const r = sanitizeRange(flags.anywhere ? 0n : addr, size);
  if (!r || r.end > BigInt(map.header.vme_end) + 1n) {
    decide(k, 'mach_vm_allocate', 'range-invalid');
    return { kr: KERN_INVALID_ARGUMENT, addr: 0n };
  }
  const res = vm_map_enter(k, map, {
    addr: Number(r.start), size: Number(r.end - r.start), anywhere: flags.anywhere, overwrite: flags.overwrite ?? false,
    cur: VM_PROT_DEFAULT, max: VM_PROT_ALL, inheritance: VM_INHERIT_DEFAULT, permanent: flags.permanent,
  }, (s, e) => vm_map_delete(k, map, s, e));
  return { kr: res.kr, addr: BigInt(res.addr) };
}

/** mach_vm_deallocate (vm_user.c:201): holes are fine; the range is clamped to the map. */
export function mach_vm_deallocate(k: Xnu, map: VmMap, addr: bigint, size: bigint): number {
  if (size === 0n) return KERN_SUCCESS;
  const r = sanitizeRange(addr, size);
  if (!r) {
    decide(k, 'mach_vm_deallocate', 'range-wraps');
    return KERN_INVALID_ARGUMENT;
  }
  const clamp = (v: bigint): number => Number(v > BigInt(map.header.vme_end) ? BigInt(map.header.vme_end) : v);
  return vm_map_delete(k, map, clamp(r.start), clamp(r.end));
}

/** mach_vm_protect (vm_user.c) -> vm_map_protect. */
export function mach_vm_protect(k: Xnu, map: VmMap, addr: bigint, size: bigint, setMax: boolean, prot: number): number {
  if (size === 0n) return KERN_SUCCESS;
  const r = sanitizeRange(addr, size);
  if (!r) return KERN_INVALID_ARGUMENT;
  return vm_map_protect(k, map, Number(r.start), Number(r.end), prot, setMax);
}

/** mach_vm_inherit (vm_user.c) -> vm_map_inherit. */
export function mach_vm_inherit(k: Xnu, map: VmMap, addr: bigint, size: bigint, inh: number): number {
  const r = sanitizeRange(addr, size);
  if (!r) return KERN_INVALID_ARGUMENT;
  return vm_map_inherit(k, map, Number(r.start), Number(r.end), inh);
}

export const PAGE_BYTES = PAGE;
