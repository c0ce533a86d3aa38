// Range operations on a map: vm_map_protect (vm_map.c:5680), vm_map_inherit, vm_map_delete
// (l.8129), vm_map_fork (l.13515) with vm_map_fork_share (l.13076); xnu-11417.121.6.
// They walk the sorted list (vme_next), clipping at the range's ends.
// Simplified: no submaps, no wiring (user_wired_count is kept but nothing wires), no GAPS_FAIL,
// no code-signing W^X rules; the non-SYMMETRIC fork copy uses vm_object_copy_delay.

import { hex } from '../../../../trace/events.js';
import {
  decide, enter, leave, protName, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, KERN_NO_SPACE, KERN_PROTECTION_FAILURE, KERN_SUCCESS,
  VM_INHERIT_COPY, VM_INHERIT_NONE, VM_INHERIT_SHARE, VM_PROT_ALL, VM_PROT_COPY, VM_PROT_DEFAULT, VM_PROT_NONE, VM_PROT_READ, VM_PROT_WRITE, type Xnu,
} from '../../xnu.js';
import { pmap_create_options, pmap_protect_options, pmap_remove } from '../x86_64/pmap.js';
import { vm_fault_unwire } from './vm_map_wire.js';
import {
  vm_map_clip_end, vm_map_clip_start, vm_map_create_options, vm_map_locate_space_anywhere, vm_map_lookup_entry, vm_map_simplify_entry, vm_map_store_entry_link,
  vm_map_store_entry_unlink, vm_map_unlock, type VmMap, type VmMapEntry,
} from './vm_map.js';
import {
  MEMORY_OBJECT_COPY_DELAY, MEMORY_OBJECT_COPY_SYMMETRIC, vm_object_allocate, vm_object_copy_delay, vm_object_copy_quickly, vm_object_copy_slowly, vm_object_deallocate,
  vm_object_pmap_protect, vm_object_shadow,
} from './vm_object.js';

const FILE = 'osfmk/vm/vm_map.c';

type ProtectCheck = 'start-not-mapped' | 'hole-in-range' | 'exceeds-max-protection' | 'copy-over-permanent' | 'end-not-mapped' | 'ok';

/** Pass 1 of vm_map_protect: every byte mapped, and the new protection within each max. */
function protectCheck(map: VmMap, start: number, end: number, newProt: number, setMax: boolean): ProtectCheck {
  const r = vm_map_lookup_entry(map, start);
  if (!r.found) return 'start-not-mapped';
  let prevEnd = start;
  let e = r.entry;
  for (; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    if (e.vme_start > prevEnd) return 'hole-in-range';
    if (newProt & VM_PROT_COPY && e.vme_permanent) return 'copy-over-permanent';
    const want = newProt & VM_PROT_ALL;
    if (!(newProt & VM_PROT_COPY) && !setMax && (want & e.max_protection) !== want) return 'exceeds-max-protection';
    if (setMax && (want & e.max_protection) !== want && !(newProt & VM_PROT_COPY)) return 'exceeds-max-protection';
    prevEnd = e.vme_end;
  }
  return prevEnd < end ? 'end-not-mapped' : 'ok';
}

const PROTECT_KR: Record<ProtectCheck, number> = {
  'start-not-mapped': KERN_INVALID_ADDRESS, 'hole-in-range': KERN_INVALID_ADDRESS, 'end-not-mapped': KERN_INVALID_ADDRESS,
  'exceeds-max-protection': KERN_PROTECTION_FAILURE, 'copy-over-permanent': KERN_NO_SPACE, ok: KERN_SUCCESS,
};

/**
 * vm_map_protect (vm_map.c:5680): check, then clip and set the protection; when it changed,
 * pmap_protect with WRITE removed (the next write faults, checklist 47, 48). VM_PROT_COPY makes
 * the range private again with max = ALL (FIXME: XNU remaps a copy with vm_map_enter OVERWRITE).
 */
export function vm_map_protect(k: Xnu, map: VmMap, start: number, end: number, newProt: number, setMax: boolean): number {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_map_protect', src: `${FILE}:vm_map_protect (xnu-11417)`, args: { start: hex(start), end: hex(end), new_prot: protName(newProt), set_max: String(setMax) } });
  const why = protectCheck(map, start, end, newProt, setMax);
  decide(k, 'vm_map_protect', why);
  if (why !== 'ok') {
    leave(k, 'vm_map_protect', String(PROTECT_KR[why]));
    return PROTECT_KR[why];
  }
  const prot = newProt & VM_PROT_ALL;
  let e = vm_map_lookup_entry(map, start).entry;
  vm_map_clip_start(map, e, start);
  for (; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    vm_map_clip_end(map, e, end);
    const old = e.protection;
    if (newProt & VM_PROT_COPY) {
      e.max_protection = VM_PROT_ALL;
      if (e.object) e.needs_copy = true;
    }
    if (setMax) {
      e.max_protection = prot;
      e.protection &= prot;
    } else e.protection = prot;
    if (e.protection !== old && e.object) pmap_protect_options(k, map.pmap, e.vme_start, e.vme_end, e.protection & ~VM_PROT_WRITE);
  }
  simplifyRange(k, map, start, end);
  vm_map_unlock(map);
  leave(k, 'vm_map_protect', 'KERN_SUCCESS');
  return KERN_SUCCESS;
}

/** vm_map_simplify_entry over the clipped range and its right neighbour (vm_map_protect's tail). */
function simplifyRange(k: Xnu, map: VmMap, start: number, end: number): void {
  const r = vm_map_lookup_entry(map, start);
  let e = r.found ? r.entry : r.entry.vme_next;
  while (!e.isHeader && e.vme_start <= end) {
    const next = e.vme_next;
    vm_map_simplify_entry(k, map, e);
    e = next;
  }
}

/** vm_map_inherit (vm_map.c): holes are allowed; clip and set inheritance. */
export function vm_map_inherit(k: Xnu, map: VmMap, start: number, end: number, inh: number): number {
  if (inh !== VM_INHERIT_SHARE && inh !== VM_INHERIT_COPY && inh !== VM_INHERIT_NONE) {
    decide(k, 'vm_map_inherit', 'bad-inheritance');
    return KERN_INVALID_ARGUMENT;
  }
  enter(k, 'vm_map_inherit', FILE, k.trace.enabled ? { start: hex(start), end: hex(end), inheritance: String(inh) } : undefined);
  const r = vm_map_lookup_entry(map, start);
  let e = r.found ? r.entry : r.entry.vme_next;
  if (r.found) vm_map_clip_start(map, e, start);
  for (; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    vm_map_clip_end(map, e, end);
    e.inheritance = inh;
  }
  vm_map_unlock(map);
  leave(k, 'vm_map_inherit', 'KERN_SUCCESS');
  return KERN_SUCCESS;
}

/**
 * vm_map_delete (vm_map.c:8129): clip, pmap_remove, unlink, drop the object reference; holes
 * are fine. A permanent entry stays with protection = max = NONE (l.8950, checklist 50) unless
 * `terminate` (the map is being destroyed). The hint becomes the previous entry (l.8254).
 */
export function vm_map_delete(k: Xnu, map: VmMap, s: number, e: number, terminate = false): number {
  const start = Math.max(s, map.header.vme_start);
  const end = Math.min(e, map.header.vme_end);
  enter(k, 'vm_map_delete', FILE, k.trace.enabled ? { start: hex(start), end: hex(end) } : undefined);
  const r = vm_map_lookup_entry(map, start);
  let entry = r.found ? r.entry : r.entry.vme_next;
  if (r.found) vm_map_clip_start(map, entry, start);
  while (!entry.isHeader && entry.vme_start < end) {
    vm_map_clip_end(map, entry, end);
    const next = entry.vme_next;
    if (entry.wired_count > 0) {
      // vm_map_delete unwires user wirings before removing the entry (l.8129ff).
      entry.user_wired_count = 0;
      entry.wired_count = 0;
      vm_fault_unwire(k, map, entry);
    }
    if (entry.object) pmap_remove(k, map.pmap, entry.vme_start, entry.vme_end);
    if (entry.vme_permanent && !terminate) {
      if (k.trace.enabled) decide(k, 'vm_map_delete', 'permanent-entry-neutered', `[${hex(entry.vme_start)}, ${hex(entry.vme_end)}) prot/max = NONE`);
      entry.protection = VM_PROT_NONE;
      entry.max_protection = VM_PROT_NONE;
    } else {
      const prev = entry.vme_prev;
      vm_map_store_entry_unlink(map, entry);
      map.size -= entry.vme_end - entry.vme_start;
      map.hint = prev;
      vm_object_deallocate(k, entry.object);
    }
    entry = next;
  }
  vm_map_unlock(map);
  leave(k, 'vm_map_delete', 'KERN_SUCCESS');
  return KERN_SUCCESS;
}

/** vm_map_raise_min_offset (vm_map.c), as load_segment does for __PAGEZERO (mach_loader.c:2138). */
export function vm_map_raise_min_offset(map: VmMap, min: number): void {
  map.header.vme_start = min;
  map.vmmap_high_start = Math.max(map.vmmap_high_start, min);
}

type ForkDisposition = 'inherit-none-skipped' | 'inherit-share' | 'inherit-copy-quickly' | 'inherit-copy-slow';

/** vm_map_fork (vm_map.c:13515): the child's map from the parent's entries and their inheritance. */
export function vm_map_fork(k: Xnu, old: VmMap): VmMap {
  enter(k, 'vm_map_fork', FILE);
  const pmap = pmap_create_options(k);
  const nm = vm_map_create_options(pmap, old.header.vme_start, old.header.vme_end);
  nm.vmmap_high_start = old.vmmap_high_start;
  for (let e = old.header.vme_next; !e.isHeader; e = e.vme_next) {
    let why: ForkDisposition;
    if (e.inheritance === VM_INHERIT_NONE) why = 'inherit-none-skipped';
    else if (e.inheritance === VM_INHERIT_SHARE) why = 'inherit-share';
    else why = e.wired_count === 0 && (e.object === null || (e.object.copy_strategy === MEMORY_OBJECT_COPY_SYMMETRIC && !e.object.true_share)) ? 'inherit-copy-quickly' : 'inherit-copy-slow';
    if (k.trace.enabled) decide(k, 'vm_map_fork', why, `[${hex(e.vme_start)}, ${hex(e.vme_end)})`);
    if (why === 'inherit-share') vm_map_fork_share(k, old, e, nm);
    else if (why === 'inherit-copy-quickly') forkCopyQuickly(k, old, e, nm);
    else if (why === 'inherit-copy-slow') forkCopySlow(k, e, nm);
  }
  vm_map_unlock(old);
  leave(k, 'vm_map_fork');
  return nm;
}

function linkCopy(nm: VmMap, e: VmMapEntry): VmMapEntry {
  const n = { ...e, rb_left: null, rb_right: null, rb_parent: null, rb_red: false } as VmMapEntry;
  vm_map_store_entry_link(nm, nm.header.vme_prev, n);
  nm.size += n.vme_end - n.vme_start;
  return n;
}

/** vm_map_fork_share (vm_map.c:13076): one object, is_shared on both, SYMMETRIC becomes DELAY (checklist 53). */
function vm_map_fork_share(k: Xnu, old: VmMap, e: VmMapEntry, nm: VmMap): void {
  enter(k, 'vm_map_fork_share', FILE);
  if (e.object === null) {
    e.object = vm_object_allocate(k, e.vme_end - e.vme_start);
    e.vme_offset = 0;
  } else if (e.needs_copy) {
    const s = vm_object_shadow(k, e.object, e.vme_offset, e.vme_end - e.vme_start);
    e.object = s.object;
    e.vme_offset = s.offset;
    e.needs_copy = false;
  }
  const o = e.object;
  o.true_share = true;
  if (o.copy_strategy === MEMORY_OBJECT_COPY_SYMMETRIC) o.copy_strategy = MEMORY_OBJECT_COPY_DELAY;
  o.ref_count++;
  e.is_shared = true;
  linkCopy(nm, e).is_shared = true;
  void old;
  leave(k, 'vm_map_fork_share');
}

/**
 * The COPY case with vm_object_copy_quickly (checklist 51, 52): a NULL object gives an
 * independent lazy entry; SYMMETRIC marks both entries needs_copy and write-protects the parent.
 */
function forkCopyQuickly(k: Xnu, old: VmMap, e: VmMapEntry, nm: VmMap): void {
  const q = vm_object_copy_quickly(k, e.object);
  if (!q.ok) throw new Error('model bug: copy_quickly refused an object forkCopyQuickly accepted');
  if (q.src_needs_copy && !e.needs_copy && e.object) {
    vm_object_pmap_protect(k, e.object, e.vme_offset, e.vme_end - e.vme_start, e.is_shared ? null : old.pmap, e.vme_start, e.protection & ~VM_PROT_WRITE);
    e.needs_copy = true;
  }
  const n = linkCopy(nm, e);
  n.needs_copy = q.dst_needs_copy;
  n.is_shared = false;
  n.wired_count = 0;
  n.user_wired_count = 0;
}

/** vm_map_fork_copy (vm_map.c): a COPY of a DELAY (shared) object goes through a copy object. */
function forkCopySlow(k: Xnu, e: VmMapEntry, nm: VmMap): void {
  enter(k, 'vm_map_fork_copy', FILE);
  // A wired entry is copied at once (vm_map_copyin's copy_slowly); a DELAY object gets a copy object.
  const wired = e.wired_count > 0;
  const copy = wired ? vm_object_copy_slowly(k, e.object!, e.vme_offset, e.vme_end - e.vme_start) : vm_object_copy_delay(k, e.object!, e.vme_offset, e.vme_end - e.vme_start);
  const n = linkCopy(nm, e);
  n.object = copy;
  n.vme_offset = wired ? 0 : e.vme_offset;
  n.needs_copy = false;
  n.is_shared = false;
  n.wired_count = 0;
  n.user_wired_count = 0;
  leave(k, 'vm_map_fork_copy');
}

type CopyinCheck = 'ok' | 'not-mapped' | 'hole-in-range' | 'not-readable';

/** vm_map_copyin's checks: [start, end) mapped without holes and readable. */
function copyinCheck(map: VmMap, start: number, end: number): CopyinCheck {
  const r = vm_map_lookup_entry(map, start);
  if (!r.found) return 'not-mapped';
  let prevEnd = start;
  for (let e = r.entry; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    if (e.vme_start > prevEnd) return 'hole-in-range';
    if (!(e.protection & VM_PROT_READ)) return 'not-readable';
    prevEnd = e.vme_end;
  }
  return prevEnd < end ? 'hole-in-range' : 'ok';
}

/**
 * vm_map_copyin + vm_map_copyout (vm_map.c), as mach_vm_read uses them: the pages of [start,
 * end) appear at a new address of the same map as a copy-on-write copy (SYMMETRIC objects:
 * copy_quickly and needs_copy on both sides; DELAY objects: a copy object).
 * Simplified: page-aligned ranges only; the copy is inserted directly (no vm_map_copy_t).
 */
export function vm_map_copyin_copyout(k: Xnu, map: VmMap, start: number, end: number): { kr: number; addr: number } {
  enter(k, 'vm_map_copyin', FILE, k.trace.enabled ? { src_addr: hex(start), len: hex(end - start) } : undefined);
  const why = copyinCheck(map, start, end);
  decide(k, 'vm_map_copyin', why);
  if (why !== 'ok') {
    leave(k, 'vm_map_copyin', why === 'not-readable' ? 'KERN_PROTECTION_FAILURE' : 'KERN_INVALID_ADDRESS');
    return { kr: why === 'not-readable' ? KERN_PROTECTION_FAILURE : KERN_INVALID_ADDRESS, addr: 0 };
  }
  const dst = vm_map_locate_space_anywhere(map, end - start, 0);
  if (dst === null) {
    leave(k, 'vm_map_copyin', 'KERN_NO_SPACE');
    return { kr: KERN_NO_SPACE, addr: 0 };
  }
  let e = vm_map_lookup_entry(map, start).entry;
  vm_map_clip_start(map, e, start);
  let after = vm_map_lookup_entry(map, dst).entry;
  for (; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    vm_map_clip_end(map, e, end);
    const n = copyEntryInto(k, map, e, after, dst + (e.vme_start - start));
    after = n;
  }
  map.size += end - start;
  vm_map_unlock(map);
  leave(k, 'vm_map_copyin', 'KERN_SUCCESS');
  return { kr: KERN_SUCCESS, addr: dst };
}

/** One entry of a copy, linked after `after` at `at`, sharing the data copy-on-write. */
function copyEntryInto(k: Xnu, map: VmMap, e: VmMapEntry, after: VmMapEntry, at: number): VmMapEntry {
  const n = { ...e, vme_start: at, vme_end: at + (e.vme_end - e.vme_start), rb_left: null, rb_right: null, rb_parent: null, rb_red: false, is_shared: false, wired_count: 0, user_wired_count: 0, vme_permanent: false, protection: VM_PROT_DEFAULT, max_protection: VM_PROT_ALL, inheritance: VM_INHERIT_COPY } as VmMapEntry;
  if (e.object && (e.object.copy_strategy !== MEMORY_OBJECT_COPY_SYMMETRIC || e.object.true_share)) {
    n.object = vm_object_copy_delay(k, e.object, e.vme_offset, e.vme_end - e.vme_start);
    n.needs_copy = false;
  } else {
    const q = vm_object_copy_quickly(k, e.object);
    if (!q.ok) throw new Error('model bug: copy_quickly refused a SYMMETRIC object');
    if (q.src_needs_copy && !e.needs_copy && e.object) {
      vm_object_pmap_protect(k, e.object, e.vme_offset, e.vme_end - e.vme_start, e.is_shared ? null : map.pmap, e.vme_start, e.protection & ~VM_PROT_WRITE);
      e.needs_copy = true;
    }
    n.needs_copy = q.dst_needs_copy;
  }
  vm_map_store_entry_link(map, after, n);
  return n;
}

export { VM_PROT_NONE };
