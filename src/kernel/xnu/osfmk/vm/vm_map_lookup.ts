// vm_map_lookup_and_lock_object (osfmk/vm/vm_map.c:14068; xnu-11417.121.6): find the entry for
// a faulting address (hint first, then the tree), check the protection, resolve needs_copy
// (shadow on a write, strip WRITE on a read) and create the object of a lazy entry.
// Simplified: no submaps, no override_nx, no mask mode, no code-signing COPY_FAIL_IF_EXECUTABLE.

import { hex } from '../../../../trace/events.js';
import { decide, leave, protName, KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE, KERN_SUCCESS, VM_PROT_ALL, VM_PROT_COPY, VM_PROT_WRITE, type Xnu } from '../../xnu.js';
import { vm_map_lookup_entry, vm_map_unlock, type VmMap, type VmMapEntry } from './vm_map.js';
import { vm_object_allocate, vm_object_shadow, type VmObject } from './vm_object.js';

const FILE = 'osfmk/vm/vm_map.c';

export type LookupResult =
  | { kr: typeof KERN_SUCCESS; entry: VmMapEntry; object: VmObject; offset: number; prot: number; wired: boolean; version: number }
  | { kr: number };

type LookupDecision =
  | 'hint-hit' | 'tree-hit' | 'not-mapped' | 'protection-failure' | 'needs-copy-shadow' | 'needs-copy-read-strip-write'
  | 'lazy-object-allocated' | 'object-present';

/** The lookup's decision event (a function, not a closure: the untraced fault path allocates none). */
function note(k: Xnu, why: LookupDecision, detail?: string): void {
  decide(k, 'vm_map_lookup_and_lock_object', why, detail);
}

/** vm_map_lookup_and_lock_object. `faultType` may carry VM_PROT_COPY (force the copy now). */
export function vm_map_lookup_and_lock_object(k: Xnu, map: VmMap, vaddr: number, faultType: number): LookupResult {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_map_lookup_and_lock_object', src: `${FILE}:vm_map_lookup_and_lock_object (xnu-11417)`, args: { vaddr: hex(vaddr), fault_type: protName(faultType) } });
  const forceCopy = (faultType & VM_PROT_COPY) !== 0;
  const want = faultType & VM_PROT_ALL;
  let entry = map.hint;
  if (!entry.isHeader && vaddr >= entry.vme_start && vaddr < entry.vme_end) note(k, 'hint-hit');
  else {
    const r = vm_map_lookup_entry(map, vaddr);
    if (!r.found) {
      note(k, 'not-mapped', `predecessor ${r.entry.isHeader ? 'header' : `[${hex(r.entry.vme_start)}, ${hex(r.entry.vme_end)})`}`);
      leave(k, 'vm_map_lookup_and_lock_object', 'KERN_INVALID_ADDRESS');
      return { kr: KERN_INVALID_ADDRESS };
    }
    entry = r.entry;
    if (k.trace.enabled) note(k, 'tree-hit', `[${hex(entry.vme_start)}, ${hex(entry.vme_end)})`);
  }
  let prot = entry.protection;
  if ((want & prot) !== want) {
    note(k, 'protection-failure', `fault ${protName(want)} not within entry ${protName(prot)}`);
    leave(k, 'vm_map_lookup_and_lock_object', 'KERN_PROTECTION_FAILURE');
    return { kr: KERN_PROTECTION_FAILURE };
  }
  const wired = entry.wired_count !== 0;
  if (entry.needs_copy) {
    if (want & VM_PROT_WRITE || wired || forceCopy) {
      note(k, 'needs-copy-shadow');
      entry.object!.shadowed = true;
      const s = vm_object_shadow(k, entry.object!, entry.vme_offset, entry.vme_end - entry.vme_start);
      entry.object = s.object;
      entry.vme_offset = s.offset;
      entry.needs_copy = false;
      vm_map_unlock(map); // vm_map_lock_write_to_read
    } else {
      note(k, 'needs-copy-read-strip-write');
      prot &= ~VM_PROT_WRITE;
    }
  }
  if (entry.object === null) {
    entry.object = vm_object_allocate(k, entry.vme_end - entry.vme_start);
    entry.vme_offset = 0;
    note(k, 'lazy-object-allocated', `object#${entry.object.id} size ${hex(entry.vme_end - entry.vme_start)}`);
    vm_map_unlock(map);
  }
  const offset = vaddr - entry.vme_start + entry.vme_offset;
  if (k.trace.enabled) leave(k, 'vm_map_lookup_and_lock_object', `object#${entry.object.id} offset ${hex(offset)} prot ${protName(prot)}`);
  return { kr: KERN_SUCCESS, entry, object: entry.object, offset, prot, wired, version: map.timestamp };
}
