// Wiring user memory: vm_map_wire_nested / vm_map_unwire_nested (osfmk/vm/vm_map.c) with
// vm_fault_wire / vm_fault_unwire (osfmk/vm/vm_fault.c); xnu-11417.121.6. mlock wires each
// entry once for the user (user_wired_count) and faults every page in with change_wiring,
// resolving copy-on-write now (a wired fault takes the entry's full protection).
// Simplified: no kernel wirings, no wire limits (vm_global_user_wire_limit), no in_transition.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, krName, KERN_INVALID_ADDRESS, KERN_SUCCESS, VM_PROT_NONE, type Xnu } from '../../xnu.js';
import { pmap_change_wiring, pmap_find_phys } from '../x86_64/pmap.js';
import { vm_fault } from './vm_fault.js';
import { vm_map_clip_end, vm_map_clip_start, vm_map_lookup_entry, vm_map_unlock, type VmMap, type VmMapEntry } from './vm_map.js';
import { vm_object_allocate, vm_object_shadow } from './vm_object.js';
import { vm_page_unwire } from './vm_page.js';

const FILE = 'osfmk/vm/vm_map.c';

type RangeCheck = 'ok' | 'start-not-mapped' | 'hole-in-range';

function rangeCheck(map: VmMap, start: number, end: number): RangeCheck {
  const r = vm_map_lookup_entry(map, start);
  if (!r.found) return 'start-not-mapped';
  let prevEnd = start;
  for (let e = r.entry; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    if (e.vme_start > prevEnd) return 'hole-in-range';
    prevEnd = e.vme_end;
  }
  return prevEnd < end ? 'hole-in-range' : 'ok';
}

/** The clipped entries of [start, end) (the range was checked). */
function clippedEntries(map: VmMap, start: number, end: number): VmMapEntry[] {
  const out: VmMapEntry[] = [];
  let e = vm_map_lookup_entry(map, start).entry;
  vm_map_clip_start(map, e, start);
  for (; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    vm_map_clip_end(map, e, end);
    out.push(e);
  }
  return out;
}

/** vm_map_wire_nested (vm_map.c) for a user wiring. */
export function vm_map_wire(k: Xnu, map: VmMap, start: number, end: number): number {
  enter(k, 'vm_map_wire_nested', FILE, k.trace.enabled ? { start: hex(start), end: hex(end), user_wire: 'TRUE' } : undefined);
  const why = rangeCheck(map, start, end);
  decide(k, 'vm_map_wire_nested', why);
  if (why !== 'ok') {
    leave(k, 'vm_map_wire_nested', 'KERN_INVALID_ADDRESS');
    return KERN_INVALID_ADDRESS;
  }
  let kr = KERN_SUCCESS;
  for (const e of clippedEntries(map, start, end)) {
    if (e.user_wired_count++ > 0) continue; // already wired for the user: only counted
    e.wired_count++;
    if (e.needs_copy) {
      const s = vm_object_shadow(k, e.object!, e.vme_offset, e.vme_end - e.vme_start);
      e.object = s.object;
      e.vme_offset = s.offset;
      e.needs_copy = false;
    }
    if (e.object === null) {
      e.object = vm_object_allocate(k, e.vme_end - e.vme_start);
      e.vme_offset = 0;
    }
    if (e.protection === VM_PROT_NONE) continue; // nothing can be faulted in
    kr = vm_fault_wire(k, map, e);
    if (kr !== KERN_SUCCESS) break;
  }
  vm_map_unlock(map);
  leave(k, 'vm_map_wire_nested', krName(kr));
  return kr;
}

/** vm_fault_wire (vm_fault.c): fault every page of the entry in with change_wiring. */
function vm_fault_wire(k: Xnu, map: VmMap, e: VmMapEntry): number {
  enter(k, 'vm_fault_wire', 'osfmk/vm/vm_fault.c');
  let kr = KERN_SUCCESS;
  for (let va = e.vme_start; va < e.vme_end && kr === KERN_SUCCESS; va += 4096) {
    kr = vm_fault(k, map, va, e.protection, true, 'THREAD_UNINT');
  }
  leave(k, 'vm_fault_wire', krName(kr));
  return kr;
}

/** vm_map_unwire_nested (vm_map.c) for a user unwiring; unwired entries are skipped. */
export function vm_map_unwire(k: Xnu, map: VmMap, start: number, end: number): number {
  enter(k, 'vm_map_unwire_nested', FILE, k.trace.enabled ? { start: hex(start), end: hex(end), user_wire: 'TRUE' } : undefined);
  const why = rangeCheck(map, start, end);
  decide(k, 'vm_map_unwire_nested', why);
  if (why !== 'ok') {
    leave(k, 'vm_map_unwire_nested', 'KERN_INVALID_ADDRESS');
    return KERN_INVALID_ADDRESS;
  }
  for (const e of clippedEntries(map, start, end)) {
    if (e.user_wired_count === 0) continue;
    if (--e.user_wired_count > 0) continue;
    if (--e.wired_count === 0) vm_fault_unwire(k, map, e);
  }
  vm_map_unlock(map);
  leave(k, 'vm_map_unwire_nested', 'KERN_SUCCESS');
  return KERN_SUCCESS;
}

/** vm_fault_unwire (vm_fault.c): unwire each resident page of the entry and its PTE. */
export function vm_fault_unwire(k: Xnu, map: VmMap, e: VmMapEntry): void {
  enter(k, 'vm_fault_unwire', 'osfmk/vm/vm_fault.c');
  for (let va = e.vme_start; va < e.vme_end; va += 4096) {
    const pfn = pmap_find_phys(k, map.pmap, va);
    if (pfn < 0) continue;
    const m = k.pages.byPfn.get(pfn);
    if (m) vm_page_unwire(k, m);
    pmap_change_wiring(k, map.pmap, va, false);
  }
  leave(k, 'vm_fault_unwire');
}
