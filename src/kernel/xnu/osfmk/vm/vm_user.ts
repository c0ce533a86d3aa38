// The Mach VM calls a task makes on its own map (osfmk/vm/vm_user.c:141, 201; vm_kern.c:1290;
// xnu-11417.121.6): mach_vm_allocate, mach_vm_deallocate, mach_vm_protect, mach_vm_inherit.
// Simplified: the sanitizers only round and check for overflow; no VM tags beyond an alias number.

import { decide, enter, krName, leave, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, KERN_PROTECTION_FAILURE, KERN_SUCCESS, VM_PROT_READ, VM_PROT_WRITE, VM_INHERIT_DEFAULT, VM_PROT_ALL, VM_PROT_DEFAULT, type Xnu } from '../../xnu.js';
import { vm_map_enter, vm_map_lookup_entry, type VmMap } from './vm_map.js';
import { MEMORY_OBJECT_COPY_NONE, vm_object_allocate, vm_object_deallocate, type VmObject } from './vm_object.js';
import { VM_PURGABLE_NONVOLATILE } from './vm_purgeable.js';
import { copyin, copyout } from '../x86_64/copyio.js';
import { vm_map_copyin_copyout, vm_map_delete, vm_map_inherit, vm_map_protect } from './vm_map_ops.js';

const PAGE = 4096;
const MAX64 = (1n << 64n) - 1n;

export interface AllocateFlags {
  anywhere: boolean;
  overwrite?: boolean;
  permanent?: boolean;
  /** VM_FLAGS_PURGABLE: the object is made now, purgeable (NONVOLATILE) and COPY_NONE. */
  purgable?: boolean;
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
  const len = Number(r.end - r.start);
  let object: VmObject | undefined;
  if (flags.purgable) { // vm_map_enter: purgeable memory gets its object eagerly
    object = vm_object_allocate(k, len);
    object.purgable = VM_PURGABLE_NONVOLATILE;
    object.copy_strategy = MEMORY_OBJECT_COPY_NONE;
    decide(k, 'vm_map_enter', 'purgable-object', `object#${object.id} VM_PURGABLE_NONVOLATILE, COPY_NONE`);
  }
  const res = vm_map_enter(k, map, {
    addr: Number(r.start), size: len, anywhere: flags.anywhere, overwrite: flags.overwrite ?? false,
    cur: VM_PROT_DEFAULT, max: VM_PROT_ALL, inheritance: VM_INHERIT_DEFAULT, permanent: flags.permanent, object, offset: 0,
  }, (s, e) => vm_map_delete(k, map, s, e));
  if (res.kr !== KERN_SUCCESS && object) vm_object_deallocate(k, object);
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

/** mach_vm_read (vm_user.c): a copy-on-write copy of [addr, addr+size) at a new address. */
export function mach_vm_read(k: Xnu, map: VmMap, addr: bigint, size: bigint): { kr: number; addr: bigint } {
  const r = sanitizeRange(addr, size);
  if (!r || size === 0n) return { kr: KERN_INVALID_ARGUMENT, addr: 0n };
  const res = vm_map_copyin_copyout(k, map, Number(r.start), Number(r.end));
  return { kr: res.kr, addr: BigInt(res.addr) + (addr - r.start) };
}

type OverwriteCheck = 'ok' | 'src-invalid' | 'src-not-readable' | 'dst-invalid' | 'dst-not-writable';

/** vm_map_copyin / vm_map_copy_overwrite's checks on the two ranges. */
function overwriteCheck(map: VmMap, src: number, dst: number, size: number): OverwriteCheck {
  const covered = (s: number, e: number, need: number): 'ok' | 'invalid' | 'prot' => {
    const r = vm_map_lookup_entry(map, s);
    if (!r.found) return 'invalid';
    let prevEnd = s;
    for (let x = r.entry; !x.isHeader && x.vme_start < e; x = x.vme_next) {
      if (x.vme_start > prevEnd) return 'invalid';
      if ((x.protection & need) !== need) return 'prot';
      prevEnd = x.vme_end;
    }
    return prevEnd < e ? 'invalid' : 'ok';
  };
  const a = covered(src, src + size, VM_PROT_READ);
  if (a !== 'ok') return a === 'invalid' ? 'src-invalid' : 'src-not-readable';
  const b = covered(dst, dst + size, VM_PROT_WRITE);
  return b === 'ok' ? 'ok' : b === 'invalid' ? 'dst-invalid' : 'dst-not-writable';
}

/**
 * mach_vm_read_overwrite (vm_user.c -> vm_map_copyin + vm_map_copy_overwrite): copy the bytes of
 * [src, src+size) over [dst, dst+size). Simplified (FIXME): the kernel moves the bytes with
 * copyin/copyout (through the fault path) instead of remapping aligned pages copy-on-write.
 */
export function mach_vm_read_overwrite(k: Xnu, map: VmMap, src: bigint, size: bigint, dst: bigint): number {
  enter(k, 'mach_vm_read_overwrite', 'osfmk/vm/vm_user.c');
  if (size > 0x100000n) throw new Error('model limit: mach_vm_read_overwrite of more than 1 MiB');
  const why = overwriteCheck(map, Number(src), Number(dst), Number(size));
  decide(k, 'mach_vm_read_overwrite', why);
  let kr = why === 'ok' ? KERN_SUCCESS : why === 'src-invalid' || why === 'dst-invalid' ? KERN_INVALID_ADDRESS : KERN_PROTECTION_FAILURE;
  if (why === 'ok') {
    const buf = new Uint8Array(Number(size));
    if (copyin(k, src, buf) !== 0 || copyout(k, buf, dst) !== 0) kr = KERN_PROTECTION_FAILURE;
  }
  leave(k, 'mach_vm_read_overwrite', krName(kr));
  return kr;
}

export const PAGE_BYTES = PAGE;
