// struct _vm_map and struct vm_map_entry, the entry store, lookup, clipping and vm_map_enter
// (osfmk/vm/vm_map.c, vm_map_xnu.h, vm_map_store.c, vm_map_store_ll.c; xnu-11417.121.6).
// Entries sit both in a sorted doubly linked list (the header is its sentinel) and in a
// red-black tree; point lookups use the hint or the tree, range operations walk vme_next.
// Simplified: no submaps, no holes list (free space is found by walking the list, first fit),
// no locks (the timestamp still counts write unlocks), no guard objects, no JIT/code signing.

import { hex } from '../../../../trace/events.js';
import { decide, leave, protName, KERN_INVALID_ADDRESS, KERN_NO_SPACE, KERN_SUCCESS, VM_INHERIT_DEFAULT, type Xnu } from '../../xnu.js';
import type { Pmap } from '../x86_64/pmap.js';
import { vm_object_coalesce, vm_object_reference, type VmObject } from './vm_object.js';
import { rb_insert, rb_remove, vm_map_store_lookup_entry_rb, type RbHead } from './vm_map_store_rb.js';

const FILE = 'osfmk/vm/vm_map.c';

/** ANON_CHUNK_SIZE (osfmk/mach/vm_param.h:253): anonymous entries are split every 128 MiB. */
export const ANON_CHUNK_SIZE = 128 * 1024 * 1024;
/** NO_COALESCE_LIMIT on macOS (vm_map.c:980). */
export const NO_COALESCE_LIMIT = 128 * 1024 - 1;
/** MACH_VM_MAX_ADDRESS for x86_64 user maps. */
export const VM_MAX_USER_ADDRESS = 0x7fffffe00000;

export interface VmMapEntry {
  vme_prev: VmMapEntry;
  vme_next: VmMapEntry;
  vme_start: number;
  vme_end: number;
  rb_left: VmMapEntry | null;
  rb_right: VmMapEntry | null;
  rb_parent: VmMapEntry | null;
  rb_red: boolean;
  /** VME_OBJECT (null: not yet faulted, created lazily). */
  object: VmObject | null;
  /** VME_OFFSET. */
  vme_offset: number;
  is_shared: boolean;
  needs_copy: boolean;
  protection: number;
  max_protection: number;
  inheritance: number;
  use_pmap: boolean;
  vme_permanent: boolean;
  wired_count: number;
  user_wired_count: number;
  vme_alias: number;
  /** Model only: the map header (the list sentinel) rather than a real entry. */
  readonly isHeader: boolean;
}

export interface VmMap {
  /** hdr.links: the sentinel; start/end are min_offset/max_offset. */
  readonly header: VmMapEntry;
  readonly rb: RbHead;
  nentries: number;
  pmap: Pmap;
  size: number;
  hint: VmMapEntry;
  /** Bumped by every write unlock (vm_map_xnu.h:596-619). */
  timestamp: number;
  /** vmmap_high_start (x86): where "anywhere" allocations start. */
  vmmap_high_start: number;
  no_zero_fill: boolean;
  never_faults: boolean;
}

export function newEntry(start: number, end: number, isHeader = false): VmMapEntry {
  const e = {
    vme_start: start, vme_end: end, rb_left: null, rb_right: null, rb_parent: null, rb_red: false, object: null, vme_offset: 0,
    is_shared: false, needs_copy: false, protection: 0, max_protection: 0, inheritance: VM_INHERIT_DEFAULT, use_pmap: true,
    vme_permanent: false, wired_count: 0, user_wired_count: 0, vme_alias: 0, isHeader,
  } as unknown as VmMapEntry;
  e.vme_prev = e;
  e.vme_next = e;
  return e;
}

/** vm_map_create_options (vm_map.c): an empty map over [min, max). */
export function vm_map_create_options(pmap: Pmap, min: number, max: number): VmMap {
  const header = newEntry(min, max, true);
  return { header, rb: { root: null }, nentries: 0, pmap, size: 0, hint: header, timestamp: 0, vmmap_high_start: min, no_zero_fill: false, never_faults: false };
}

/** vm_map_unlock (vm_map_xnu.h): a write unlock bumps the timestamp the fault path revalidates. */
export function vm_map_unlock(map: VmMap): void {
  map.timestamp++;
}

/** _vm_map_store_entry_link (vm_map_store.c:103): list insert after `after` (nentries++) and RB_INSERT. */
export function vm_map_store_entry_link(map: VmMap, after: VmMapEntry, e: VmMapEntry): void {
  e.vme_prev = after;
  e.vme_next = after.vme_next;
  after.vme_next.vme_prev = e;
  after.vme_next = e;
  map.nentries++;
  rb_insert(map.rb, e);
}

/** vm_map_store_entry_unlink (vm_map_store.c:242): out of list and tree; a hint on it goes to the header. */
export function vm_map_store_entry_unlink(map: VmMap, e: VmMapEntry): void {
  e.vme_prev.vme_next = e.vme_next;
  e.vme_next.vme_prev = e.vme_prev;
  map.nentries--;
  rb_remove(map.rb, e);
  if (map.hint === e) map.hint = map.header;
}

/**
 * vm_map_lookup_entry (vm_map.c:2082) -> vm_map_store_lookup_entry_rb: the entry containing
 * `addr`, or (found=false) its predecessor or the header (checklist 21, 22).
 */
export function vm_map_lookup_entry(map: VmMap, addr: number): { found: boolean; entry: VmMapEntry } {
  return vm_map_store_lookup_entry_rb(map.rb, map.header, addr);
}

/** A copy of `e`'s attributes for a clipped piece (not linked yet). */
function cloneEntry(e: VmMapEntry, start: number, end: number, offset: number): VmMapEntry {
  const n = { ...e, vme_start: start, vme_end: end, vme_offset: offset, rb_left: null, rb_right: null, rb_parent: null, rb_red: false } as VmMapEntry;
  vm_object_reference(n.object);
  return n;
}

/** vm_map_clip_start (_vm_map_clip_start, vm_map.c): a new entry takes [e.start, start); `e` begins at `start`. */
export function vm_map_clip_start(map: VmMap, e: VmMapEntry, start: number): void {
  if (start <= e.vme_start || start >= e.vme_end) return;
  const front = cloneEntry(e, e.vme_start, start, e.vme_offset);
  rb_remove(map.rb, e); // the tree is keyed by start: re-key `e`
  e.vme_offset += start - e.vme_start;
  e.vme_start = start;
  rb_insert(map.rb, e);
  vm_map_store_entry_link(map, e.vme_prev, front);
}

/** vm_map_clip_end (_vm_map_clip_end, vm_map.c): `e` ends at `end`; a new entry takes the tail. */
export function vm_map_clip_end(map: VmMap, e: VmMapEntry, end: number): void {
  if (end <= e.vme_start || end >= e.vme_end) return;
  const tail = cloneEntry(e, end, e.vme_end, e.vme_offset + (end - e.vme_start));
  e.vme_end = end;
  vm_map_store_entry_link(map, e, tail);
}

export interface EnterRequest {
  addr: number;
  size: number;
  anywhere: boolean;
  overwrite: boolean;
  cur: number;
  max: number;
  inheritance: number;
  permanent?: boolean;
  alias?: number;
  /** A memory object's vm_object to map (vm_map_enter_mem_object): the caller gives the entry its reference. */
  object?: VmObject;
  offset?: number;
  needsCopy?: boolean;
}

/**
 * vm_map_locate_space_anywhere (vm_map.c:2253), first fit from vmmap_high_start (or the hint
 * address) walking the sorted list (FIXME: XNU walks the holes list from hole_hint).
 */
export function vm_map_locate_space_anywhere(map: VmMap, size: number, hintAddr: number): number | null {
  let start = Math.max(hintAddr, map.vmmap_high_start, map.header.vme_start);
  let e = vm_map_lookup_entry(map, start).entry;
  if (!e.isHeader && e.vme_end > start) start = e.vme_end;
  for (e = e.isHeader ? map.header.vme_next : e.vme_next; ; e = e.vme_next) {
    const limit = e.isHeader ? map.header.vme_end : e.vme_start;
    if (limit - start >= size) return start;
    if (e.isHeader) return null;
    start = Math.max(start, e.vme_end);
  }
}

type EnterPath = 'zero-size' | 'no-space' | 'fixed-overlap' | 'coalesced' | 'new-entries';

/**
 * vm_map_enter (vm_map.c:2853) for anonymous memory (object NULL): find or check the range,
 * coalesce with the previous entry when allowed, else insert entries with no object, split
 * every ANON_CHUNK_SIZE. No pages and no PTEs are made (the first fault does that).
 * `remove` deletes the old range for MAP_FIXED|overwrite (vm_map_delete, passed in to avoid a cycle).
 */
export function vm_map_enter(k: Xnu, map: VmMap, req: EnterRequest, remove: (s: number, e: number) => void): { kr: number; addr: number } {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_map_enter', src: `${FILE}:vm_map_enter (xnu-11417)`, args: { addr: hex(req.addr), size: hex(req.size), cur: protName(req.cur), max: protName(req.max), flags: req.anywhere ? 'ANYWHERE' : req.overwrite ? 'FIXED|OVERWRITE' : 'FIXED' } });
  const done = (why: EnterPath, kr: number, addr: number): { kr: number; addr: number } => {
    if (k.trace.enabled) decide(k, 'vm_map_enter', why, why === 'coalesced' || why === 'new-entries' ? `[${hex(addr)}, ${hex(addr + req.size)})` : undefined);
    leave(k, 'vm_map_enter', kr === KERN_SUCCESS ? 'KERN_SUCCESS' : kr === KERN_NO_SPACE ? 'KERN_NO_SPACE' : 'KERN_INVALID_ADDRESS');
    return { kr, addr };
  };
  if (req.size === 0) return done('zero-size', KERN_INVALID_ADDRESS, 0);
  let start = req.addr;
  if (req.anywhere) {
    const at = vm_map_locate_space_anywhere(map, req.size, req.addr);
    if (at === null) return done('no-space', KERN_NO_SPACE, 0);
    start = at;
  } else {
    if (start < map.header.vme_start || start + req.size > map.header.vme_end) return done('no-space', KERN_INVALID_ADDRESS, 0);
    if (req.overwrite) {
      const perm = permanentIn(map, start, start + req.size);
      if (perm) return done('fixed-overlap', KERN_NO_SPACE, 0);
      remove(start, start + req.size);
    } else if (overlaps(map, start, start + req.size)) return done('fixed-overlap', KERN_NO_SPACE, 0);
  }
  const end = start + req.size;
  const prev = vm_map_lookup_entry(map, start).entry;
  if (req.object !== undefined) { // an object is never coalesced or split into anonymous chunks
    vm_map_entry_insert(k, map, prev, start, end, req);
    map.size += req.size;
    vm_map_unlock(map);
    return done('new-entries', KERN_SUCCESS, start);
  }
  if (canCoalesce(k, prev, start, req)) {
    prev.vme_end = end;
    map.size += req.size;
    map.hint = prev;
    vm_map_unlock(map);
    return done('coalesced', KERN_SUCCESS, start);
  }
  let after = prev;
  for (let s = start; s < end; s += ANON_CHUNK_SIZE) {
    after = vm_map_entry_insert(k, map, after, s, Math.min(end, s + ANON_CHUNK_SIZE), req);
  }
  map.size += req.size;
  vm_map_unlock(map);
  return done('new-entries', KERN_SUCCESS, start);
}

function overlaps(map: VmMap, s: number, e: number): boolean {
  const r = vm_map_lookup_entry(map, s);
  if (r.found) return true;
  const next = r.entry.vme_next;
  return !next.isHeader && next.vme_start < e;
}

function permanentIn(map: VmMap, s: number, e: number): boolean {
  const r = vm_map_lookup_entry(map, s);
  for (let x = r.found ? r.entry : r.entry.vme_next; !x.isHeader && x.vme_start < e; x = x.vme_next) if (x.vme_permanent) return true;
  return false;
}

/** The coalesce conditions of vm_map_enter (vm_map.c:3358-3420), checklist 45. */
function canCoalesce(k: Xnu, prev: VmMapEntry, start: number, req: EnterRequest): boolean {
  if (prev.isHeader || prev.vme_end !== start) return false;
  const same = !prev.is_shared && prev.protection === req.cur && prev.max_protection === req.max && prev.inheritance === req.inheritance
    && prev.vme_alias === (req.alias ?? 0) && prev.vme_permanent === (req.permanent ?? false) && prev.wired_count === 0 && !prev.needs_copy;
  if (!same) return false;
  if (prev.vme_end - prev.vme_start + req.size > NO_COALESCE_LIMIT) {
    if (k.trace.enabled) decide(k, 'vm_map_enter', 'no-coalesce-size-limit', `${hex(prev.vme_end - prev.vme_start + req.size)} > NO_COALESCE_LIMIT`);
    return false;
  }
  return vm_object_coalesce(k, prev.object, prev.vme_offset, prev.vme_end - prev.vme_start, req.size);
}

/** vm_map_entry_insert (vm_map.c:17432): a new entry with no object, needs_copy FALSE; hint = it. */
export function vm_map_entry_insert(k: Xnu, map: VmMap, after: VmMapEntry, s: number, e: number, req: EnterRequest): VmMapEntry {
  const n = newEntry(s, e);
  n.protection = req.cur;
  n.max_protection = req.max;
  n.inheritance = req.inheritance;
  n.vme_permanent = req.permanent ?? false;
  n.vme_alias = req.alias ?? 0;
  n.object = req.object ?? null;
  n.vme_offset = req.offset ?? 0;
  n.needs_copy = req.needsCopy ?? false;
  vm_map_store_entry_link(map, after, n);
  map.hint = n;
  if (k.trace.enabled) k.trace.emit({ ev: 'decision', fn: 'vm_map_entry_insert', reason: 'entry-linked', detail: `[${hex(s)}, ${hex(e)}) ${protName(req.cur)}/${protName(req.max)} ${n.object ? `object#${n.object.id} offset ${hex(n.vme_offset)}${n.needs_copy ? ' needs_copy' : ''}` : 'object NULL'}` });
  return n;
}

/** Whether two neighbouring entries could be one (vm_map_simplify_entry's test). */
function mergeable(a: VmMapEntry, b: VmMapEntry): boolean {
  return !a.isHeader && !b.isHeader && a.vme_end === b.vme_start && a.object === b.object
    && (a.object === null || a.vme_offset + (a.vme_end - a.vme_start) === b.vme_offset)
    && a.protection === b.protection && a.max_protection === b.max_protection && a.inheritance === b.inheritance
    && a.needs_copy === b.needs_copy && a.is_shared === b.is_shared && a.wired_count === b.wired_count
    && a.vme_permanent === b.vme_permanent && a.vme_alias === b.vme_alias;
}

/** vm_map_simplify_entry (vm_map.c): merge `e` with its predecessor when nothing tells them apart. */
export function vm_map_simplify_entry(k: Xnu, map: VmMap, e: VmMapEntry): void {
  const prev = e.vme_prev;
  if (!mergeable(prev, e)) return;
  if (k.trace.enabled) decide(k, 'vm_map_simplify_entry', 'merged-with-previous', `[${hex(prev.vme_start)}, ${hex(e.vme_end)})`);
  vm_map_store_entry_unlink(map, prev);
  rb_remove(map.rb, e);
  e.vme_start = prev.vme_start;
  e.vme_offset = prev.vme_offset;
  rb_insert(map.rb, e);
  if (prev.object) prev.object.ref_count--; // the two entries' references become one
  map.hint = e;
}

/** All entries in address order (the list walk range operations do). */
export function entriesOf(map: VmMap): VmMapEntry[] {
  const out: VmMapEntry[] = [];
  for (let e = map.header.vme_next; !e.isHeader; e = e.vme_next) out.push(e);
  return out;
}
