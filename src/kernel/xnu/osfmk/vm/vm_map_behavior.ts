// madvise's kernel half (osfmk/vm/vm_map.c vm_map_behavior_set, vm_map_msync; osfmk/vm/vm_object.c
// vm_object_deactivate_pages; xnu-11417.121.6). Unlike Linux, MADV_DONTNEED does not drop the
// pages: it deactivates them (VM_SYNC_DEACTIVATE), and MADV_FREE only marks unshared pages clean
// (VM_SYNC_KILLPAGES) so that the pageout daemon may discard them later; without memory pressure
// their contents stay until the pageout daemon frees them. MADV_FREE_REUSABLE (vm_map_reusable_pages)
// marks unshared pages reusable: the daemon discards them without compressing, and their compressed
// copies are dropped at once; MADV_FREE_REUSE takes that back. MADV_ZERO (vm_map_zero) makes the
// range read zeros. Simplified: no reusable ledger accounting; MADV_ZERO on an entry that needs a
// copy or has a shadow puts zero pages in its own (shadowed) top object rather than following
// vm_map_zero's exact handling of such entries (not read).

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, KERN_INVALID_ADDRESS, KERN_SUCCESS, type Xnu } from '../../xnu.js';
import { pmap_clear_refmod, pmap_remove } from '../x86_64/pmap.js';
import { vm_map_lookup_entry, type VmMap, type VmMapEntry } from './vm_map.js';
import { vm_compressor_pager_state_clr } from './vm_compressor_pager.js';
import { vm_object_allocate, vm_object_shadow, type VmObject } from './vm_object.js';
import { vm_page_deactivate, vm_page_grab, vm_page_insert, vm_page_wakeup_done, vm_page_zero_fill, vm_page_activate } from './vm_page.js';

const FILE = 'osfmk/vm/vm_map.c';

export type VmBehavior = 'VM_BEHAVIOR_DEFAULT' | 'VM_BEHAVIOR_RANDOM' | 'VM_BEHAVIOR_SEQUENTIAL' | 'VM_BEHAVIOR_WILLNEED' | 'VM_BEHAVIOR_DONTNEED' | 'VM_BEHAVIOR_FREE'
  | 'VM_BEHAVIOR_REUSABLE' | 'VM_BEHAVIOR_REUSE' | 'VM_BEHAVIOR_ZERO';

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

type BehaviorPath = 'set-entry-behavior' | 'msync-deactivate' | 'msync-killpages' | 'hole-in-range' | 'reusable-pages' | 'reuse-pages' | 'zero';

/** vm_map_behavior_set (vm_map.c). */
export function vm_map_behavior_set(k: Xnu, map: VmMap, start: number, end: number, behavior: VmBehavior): number {
  if (behavior === 'VM_BEHAVIOR_REUSABLE' || behavior === 'VM_BEHAVIOR_REUSE' || behavior === 'VM_BEHAVIOR_ZERO') return vm_map_reusable_or_zero(k, map, start, end, behavior);
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


/**
 * vm_map_reusable_pages / vm_map_reuse_pages / vm_map_zero (vm_map.c): the whole range must be
 * mapped (else KERN_INVALID_ADDRESS). REUSABLE: an unshared internal object's pages become
 * reusable and clean (their compressed copies are freed); REUSE clears that; ZERO makes every
 * page of the range read zeros (resident pages zeroed, compressed copies dropped).
 */
function vm_map_reusable_or_zero(k: Xnu, map: VmMap, start: number, end: number, behavior: VmBehavior): number {
  const fn = behavior === 'VM_BEHAVIOR_ZERO' ? 'vm_map_zero' : behavior === 'VM_BEHAVIOR_REUSE' ? 'vm_map_reuse_pages' : 'vm_map_reusable_pages';
  enter(k, fn, FILE, k.trace.enabled ? { start: hex(start), end: hex(end) } : undefined);
  const entries = rangeEntries(map, start, end, true);
  const path: BehaviorPath = entries === null ? 'hole-in-range' : behavior === 'VM_BEHAVIOR_ZERO' ? 'zero' : behavior === 'VM_BEHAVIOR_REUSE' ? 'reuse-pages' : 'reusable-pages';
  decide(k, fn, path);
  for (const e of entries ?? []) {
    const s = Math.max(start, e.vme_start);
    const t = Math.min(end, e.vme_end);
    if (path === 'zero') zeroEntry(k, map, e, s, t);
    else reusableEntry(k, e, s, t, path === 'reusable-pages');
  }
  const kr = entries === null ? KERN_INVALID_ADDRESS : KERN_SUCCESS;
  leave(k, fn, kr === KERN_SUCCESS ? 'KERN_SUCCESS' : 'KERN_INVALID_ADDRESS');
  return kr;
}

function reusableEntry(k: Xnu, e: VmMapEntry, s: number, end: number, reusable: boolean): void {
  const o = e.object;
  if (!o || !o.internal) return;
  const unshared = o.ref_count === 1 && o.shadow === null && o.vo_copy === null && !e.needs_copy;
  if (reusable) decide(k, 'vm_object_deactivate_pages', unshared ? 'reusable-unshared' : 'object-shared-not-reusable', `object#${o.id}`);
  if (reusable && !unshared) return;
  for (let va = s; va < end; va += 4096) {
    const off = va - e.vme_start + e.vme_offset;
    const m = o.memq.get(off);
    if (!reusable) {
      if (m) m.reusable = false;
      continue;
    }
    vm_compressor_pager_state_clr(k, o, off);
    if (!m) continue;
    if (m.pmapped) pmap_clear_refmod(k, m.phys_page, true);
    m.dirty = false;
    m.reusable = true;
    vm_page_deactivate(k, m);
  }
}

/** The range of `e` reads zeros afterwards: its top object (shadowed first if it needs a copy) gets zeroed pages. */
function zeroEntry(k: Xnu, map: VmMap, e: VmMapEntry, s: number, end: number): void {
  if (e.object === null) return; // never touched: it already reads zeros
  pmap_remove(k, map.pmap, s, end);
  if (e.needs_copy) {
    const r = vm_object_shadow(k, e.object, e.vme_offset, e.vme_end - e.vme_start);
    e.object = r.object;
    e.vme_offset = r.offset;
    e.needs_copy = false;
  }
  const o: VmObject = e.object ?? vm_object_allocate(k, e.vme_end - e.vme_start);
  for (let va = s; va < end; va += 4096) {
    const off = va - e.vme_start + e.vme_offset;
    vm_compressor_pager_state_clr(k, o, off);
    let m = o.memq.get(off) ?? null;
    if (m === null && o.shadow === null) continue; // nothing below: the next fault zero-fills
    if (m === null) {
      m = vm_page_grab(k);
      if (m === null) continue; // FIXME: no page for a shadowed range's zero page
      vm_page_insert(k, m, o, off);
      vm_page_activate(k, m);
      vm_page_wakeup_done(m);
    }
    vm_page_zero_fill(k, m);
    m.dirty = true;
  }
}
