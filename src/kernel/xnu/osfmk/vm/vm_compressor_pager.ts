// The compressor pager of an internal object (osfmk/vm/vm_compressor_pager.c; xnu-11417.121.6):
// a slot table by page offset. vm_compressor_pager_put stores an evicted page, _get brings it back
// (the fault path's decompression), _state_get answers the fault path's "must ask the pager"
// (VM_EXTERNAL_STATE_EXISTS / ABSENT). Simplified: the table is a Map, not chunked slot arrays.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, KERN_MEMORY_FAILURE, KERN_SUCCESS, KERN_RESOURCE_SHORTAGE, type Xnu } from '../../xnu.js';
import { vm_compressor_free, vm_compressor_get, vm_compressor_put, type CSlot } from './vm_compressor.js';
import type { VmObject } from './vm_object.js';

const FILE = 'osfmk/vm/vm_compressor_pager.c';

/** VM_EXTERNAL_STATE_* (vm_external.h). */
export type ExternalState = 'VM_EXTERNAL_STATE_EXISTS' | 'VM_EXTERNAL_STATE_ABSENT';

/** vm_compressor_pager_state_get: does the object's compressor pager hold this page? */
export function vm_compressor_pager_state_get(o: VmObject, offset: number): ExternalState {
  return o.pager?.kind === 'compressor' && o.pager.slots.has(offset) ? 'VM_EXTERNAL_STATE_EXISTS' : 'VM_EXTERNAL_STATE_ABSENT';
}

/** The slot table of an internal object, created at its first compression (vm_object_compressor_pager_create). */
function slotsOf(k: Xnu, o: VmObject): Map<number, CSlot> {
  if (o.pager === null) {
    o.pager = { kind: 'compressor', slots: new Map() };
    o.pager_created = true;
    decide(k, 'vm_object_compressor_pager_create', 'pager-created', `object#${o.id}`);
  }
  if (o.pager.kind !== 'compressor') throw new Error('model bug: compressor put on an external object');
  return o.pager.slots;
}

/** vm_compressor_pager_put: compress the page at `offset` of `o`; KERN_RESOURCE_SHORTAGE when the pool is full. */
export function vm_compressor_pager_put(k: Xnu, o: VmObject, offset: number, pfn: number): number {
  enter(k, 'vm_compressor_pager_put', FILE, k.trace.enabled ? { object: `object#${o.id}`, offset: hex(offset) } : undefined);
  const slot = vm_compressor_put(k, pfn);
  if (slot !== null) {
    const slots = slotsOf(k, o);
    const old = slots.get(offset);
    if (old) vm_compressor_free(k, old);
    slots.set(offset, slot);
  }
  const kr = slot === null ? KERN_RESOURCE_SHORTAGE : KERN_SUCCESS;
  leave(k, 'vm_compressor_pager_put', slot === null ? 'KERN_RESOURCE_SHORTAGE' : 'KERN_SUCCESS');
  return kr;
}

/**
 * vm_compressor_pager_get (vm_fault.c:5474, l.1729): decompress the page into `pfn`. With `keep`
 * (C_KEEP, a write fault below the top object) the compressed copy stays for the other sharers.
 * A slot marked corrupt gives KERN_MEMORY_FAILURE (decompression failure, checklist 36).
 */
export function vm_compressor_pager_get(k: Xnu, o: VmObject, offset: number, pfn: number, keep: boolean): number {
  enter(k, 'vm_compressor_pager_get', FILE, k.trace.enabled ? { object: `object#${o.id}`, offset: hex(offset) } : undefined);
  const slots = o.pager?.kind === 'compressor' ? o.pager.slots : null;
  const slot = slots?.get(offset);
  if (!slot || !slots) throw new Error('model bug: vm_compressor_pager_get of an absent page');
  if (k.corruptSlots.has(slot)) {
    decide(k, 'vm_compressor_pager_get', 'decompression-failed', 'the compressed data does not decode');
    leave(k, 'vm_compressor_pager_get', 'KERN_MEMORY_FAILURE');
    return KERN_MEMORY_FAILURE;
  }
  vm_compressor_get(k, slot, pfn, keep);
  if (!keep) slots.delete(offset);
  leave(k, 'vm_compressor_pager_get', 'KERN_SUCCESS');
  return KERN_SUCCESS;
}

/** Drop the compressed copy of one page (vm_compressor_pager_state_clr), e.g. when the page is rewritten or zeroed. */
export function vm_compressor_pager_state_clr(k: Xnu, o: VmObject, offset: number): boolean {
  if (o.pager?.kind !== 'compressor') return false;
  const slot = o.pager.slots.get(offset);
  if (!slot) return false;
  vm_compressor_free(k, slot);
  o.pager.slots.delete(offset);
  return true;
}

/** The object dies: every compressed page of it is freed (compressor_memory_object_deallocate). */
export function vm_compressor_pager_destroy(k: Xnu, o: VmObject): void {
  if (o.pager?.kind !== 'compressor') return;
  for (const slot of o.pager.slots.values()) vm_compressor_free(k, slot);
  o.pager.slots.clear();
}
