// madvise's kernel half (osfmk/vm/vm_map.c vm_map_behavior_set, vm_map_msync; osfmk/vm/vm_object.c
// vm_object_deactivate_pages; xnu-11417.121.6). Unlike Linux, MADV_DONTNEED does not drop the
// pages: it deactivates them (VM_SYNC_DEACTIVATE), and MADV_FREE only marks unshared pages clean
// (VM_SYNC_KILLPAGES) so that the pageout daemon may discard them later; without memory pressure
// their contents stay. Simplified: no reusable accounting, no pageout daemon (so nothing is reclaimed).

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, KERN_INVALID_ADDRESS, KERN_SUCCESS, type Xnu } from '../../xnu.js';
import { pmap_clear_refmod } from '../x86_64/pmap.js';
import { vm_map_lookup_entry, type VmMap, type VmMapEntry } from './vm_map.js';
import { vm_page_deactivate } from './vm_page.js';

const FILE = 'osfmk/vm/vm_map.c';

export type VmBehavior = 'VM_BEHAVIOR_DEFAULT' | 'VM_BEHAVIOR_RANDOM' | 'VM_BEHAVIOR_SEQUENTIAL' | 'VM_BEHAVIOR_WILLNEED' | 'VM_BEHAVIOR_DONTNEED' | 'VM_BEHAVIOR_FREE';

/** The entries covering [start, end); null when a hole is found (`contiguous`) or start is unmapped. */
function rangeEntries(map: VmMap, start: number, end: number, contiguous: boolean): VmMapEntry[] | null {
  const r = vm_map_lookup_entry(map, start);
  if (!r.found && contiguous) return null;
  const out: VmMapEntry[] = [];
  let prevEnd = start;
  for (let e = r.found ? r.entry : r.entry.vme_next; !e.isHeader && e.vme_start < end; e = e.vme_next) {
    if (e.vme_start > prevEnd && contiguous) return null;
    out.push(e);
    prevEnd = e.vme_end;
  }
  return contiguous && prevEnd < end ? null : out;
}

type BehaviorPath = 'set-entry-behavior' | 'msync-deactivate' | 'msync-killpages' | 'hole-in-range';

/** vm_map_behavior_set (vm_map.c). */
export function vm_map_behavior_set(k: Xnu, map: VmMap, start: number, end: number, behavior: VmBehavior): number {
  enter(k, 'vm_map_behavior_set', FILE, k.trace.enabled ? { start: hex(start), end: hex(end), new_behavior: behavior } : undefined);
  const why: BehaviorPath = behavior === 'VM_BEHAVIOR_DONTNEED' ? 'msync-deactivate' : behavior === 'VM_BEHAVIOR_FREE' ? 'msync-killpages' : 'set-entry-behavior';
  // Behaviors on entries need the whole range mapped; the msync ones tolerate holes unless CONTIGUOUS (DONTNEED).
  const entries = rangeEntries(map, start, end, why !== 'msync-killpages');
  const path: BehaviorPath = entries === null ? 'hole-in-range' : why;
  decide(k, 'vm_map_behavior_set', path);
  if (entries !== null && why !== 'set-entry-behavior') for (const e of entries) vm_object_deactivate_pages(k, e, Math.max(start, e.vme_start), Math.min(end, e.vme_end), why === 'msync-killpages');
  const kr = entries === null ? KERN_INVALID_ADDRESS : KERN_SUCCESS;
  leave(k, 'vm_map_behavior_set', kr === KERN_SUCCESS ? 'KERN_SUCCESS' : 'KERN_INVALID_ADDRESS');
  return kr;
}

/**
 * vm_object_deactivate_pages (vm_object.c): the resident pages of the entry's top object in the
 * range go to the inactive queue with their reference bits cleared; with `kill`, an unshared
 * object's pages are also marked clean (their contents may then be discarded instead of paged out).
 */
function vm_object_deactivate_pages(k: Xnu, e: VmMapEntry, s: number, end: number, kill: boolean): void {
  const o = e.object;
  if (!o) return;
  const canKill = kill && o.ref_count === 1 && o.shadow === null && o.vo_copy === null;
  if (kill) decide(k, 'vm_object_deactivate_pages', canKill ? 'kill-pages-unshared' : 'object-shared-no-kill', `object#${o.id} ref_count ${o.ref_count}`);
  for (let va = s; va < end; va += 4096) {
    const m = o.memq.get(va - e.vme_start + e.vme_offset);
    if (!m) continue;
    if (m.pmapped) pmap_clear_refmod(k, m.phys_page, canKill);
    if (canKill) m.dirty = false;
    vm_page_deactivate(k, m);
  }
}

