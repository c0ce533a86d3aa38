// Purgeable memory (osfmk/vm/vm_purgeable.c, vm_object.c vm_object_purgable_control and
// vm_object_purge, vm_map.c vm_map_purgable_control; xnu-11417.121.6). A purgeable object is made
// eagerly by vm_map_enter (VM_FLAGS_PURGABLE: COPY_NONE, NONVOLATILE). Marked VOLATILE it joins a
// purgeable queue, and the pageout daemon empties such objects before it compresses anything
// (vm_purgeable_object_purge_one): their pages are freed, not saved, and the state becomes EMPTY.
// A fault in an EMPTY object is KERN_MEMORY_ERROR (checklist 38) until it is made NONVOLATILE
// again; the old state returned by SET_STATE tells the task its contents were lost.
// Simplified: one purgeable queue (no token queues, groups or ordering by behavior), no ledgers.

import { decide, enter, leave, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, KERN_SUCCESS, type Xnu } from '../../xnu.js';
import { pmap_disconnect } from '../x86_64/pmap.js';
import { vm_map_lookup_entry, type VmMap } from './vm_map.js';
import { vm_compressor_pager_destroy } from './vm_compressor_pager.js';
import type { VmObject } from './vm_object.js';
import { vm_page_free } from './vm_page.js';

/** VM_PURGABLE_* states (mach/vm_purgable.h). */
export const VM_PURGABLE_NONVOLATILE = 0;
export const VM_PURGABLE_VOLATILE = 1;
export const VM_PURGABLE_EMPTY = 2;
export const VM_PURGABLE_DENY = 3;
export const PURGABLE_NAMES = ['VM_PURGABLE_NONVOLATILE', 'VM_PURGABLE_VOLATILE', 'VM_PURGABLE_EMPTY', 'VM_PURGABLE_DENY'] as const;

type ControlDecision = 'not-purgeable' | 'get-state' | 'to-volatile' | 'to-nonvolatile' | 'empty-stays-empty';

/**
 * vm_map_purgable_control -> vm_object_purgable_control: the entry at `addr` must map a
 * purgeable object (else KERN_INVALID_ARGUMENT); with `state` set it, and return the old state.
 */
export function vm_map_purgable_control(k: Xnu, map: VmMap, addr: number, state: number | null): { kr: number; old: number } {
  enter(k, 'vm_map_purgable_control', 'osfmk/vm/vm_map.c');
  const r = vm_map_lookup_entry(map, addr);
  const done = (why: ControlDecision | 'not-mapped', kr: number, old: number) => {
    decide(k, 'vm_object_purgable_control', why, kr === KERN_SUCCESS ? `old state ${PURGABLE_NAMES[old]}` : undefined);
    leave(k, 'vm_map_purgable_control', kr === KERN_SUCCESS ? 'KERN_SUCCESS' : kr === KERN_INVALID_ADDRESS ? 'KERN_INVALID_ADDRESS' : 'KERN_INVALID_ARGUMENT');
    return { kr, old };
  };
  if (!r.found) return done('not-mapped', KERN_INVALID_ADDRESS, 0);
  const o = r.entry.object;
  if (o === null || o.purgable === VM_PURGABLE_DENY) return done('not-purgeable', KERN_INVALID_ARGUMENT, 0);
  const old = o.purgable;
  if (state === null) return done('get-state', KERN_SUCCESS, old);
  if (state === VM_PURGABLE_VOLATILE) {
    if (old === VM_PURGABLE_EMPTY) return done('empty-stays-empty', KERN_SUCCESS, old);
    o.purgable = VM_PURGABLE_VOLATILE;
    k.purgeableQueue.add(o);
    return done('to-volatile', KERN_SUCCESS, old);
  }
  o.purgable = VM_PURGABLE_NONVOLATILE;
  k.purgeableQueue.delete(o);
  return done('to-nonvolatile', KERN_SUCCESS, old);
}

/**
 * vm_purgeable_object_purge_one + vm_object_purge: empty the oldest volatile object (its
 * resident pages unmapped and freed, its compressed pages dropped). Returns the pages freed, or
 * -1 when no volatile object is queued.
 */
export function vm_purgeable_object_purge_one(k: Xnu): number {
  let o: VmObject | null = null;
  for (const x of k.purgeableQueue) {
    o = x;
    break;
  }
  if (o === null) return -1;
  enter(k, 'vm_object_purge', 'osfmk/vm/vm_object.c', k.trace.enabled ? { object: `object#${o.id}` } : undefined);
  k.purgeableQueue.delete(o);
  let n = 0;
  for (const m of [...o.memq.values()]) {
    if (m.pmapped) pmap_disconnect(k, m.phys_page);
    vm_page_free(k, m);
    n++;
  }
  vm_compressor_pager_destroy(k, o);
  o.purgable = VM_PURGABLE_EMPTY;
  k.stats.purged += n;
  decide(k, 'vm_object_purge', 'emptied', `object#${o.id}: ${n} page(s) freed, state VM_PURGABLE_EMPTY`);
  leave(k, 'vm_object_purge', String(n));
  return n;
}
