// struct vm_object and its life cycle (osfmk/vm/vm_object.c, vm_object_xnu.h:136;
// xnu-11417.121.6): anonymous (internal) objects with shadow chains, copy strategies, reference
// counts and resident pages, and their pagers (memory_object.ts: the vnode pager of a file's
// object, the compressor pager an internal object gets at its first compression). Simplified:
// no purgeable state, no paging_in_progress, no locks (one thread runs).

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import { pmap_disconnect, pmap_page_protect_readonly, pmap_protect_options, type Pmap } from '../x86_64/pmap.js';
import type { MemoryObject } from './memory_object.js';
import { vm_compressor_pager_destroy } from './vm_compressor_pager.js';
import { vm_compressor_free, vm_compressor_get, type CSlot } from './vm_compressor.js';
import { vm_page_copy, vm_page_free, vm_page_grab, vm_page_insert, vm_page_activate, vm_page_wakeup_done, type VmPage } from './vm_page.js';

const FILE = 'osfmk/vm/vm_object.c';

/** memory_object_copy_strategy_t (osfmk/mach/memory_object_types.h:235-269). */
export const MEMORY_OBJECT_COPY_NONE = 0;
export const MEMORY_OBJECT_COPY_DELAY = 2;
export const MEMORY_OBJECT_COPY_SYMMETRIC = 4;
export const MEMORY_OBJECT_COPY_DELAY_FORK = 6;
const STRATEGY_NAMES: Record<number, string> = { 0: 'COPY_NONE', 2: 'COPY_DELAY', 4: 'COPY_SYMMETRIC', 6: 'COPY_DELAY_FORK' };

export interface VmObject {
  readonly id: number;
  /** The resident pages by offset (`memq` plus the object/offset hash). */
  readonly memq: Map<number, VmPage>;
  vo_size: number;
  ref_count: number;
  resident_page_count: number;
  vo_copy: VmObject | null;
  shadow: VmObject | null;
  vo_shadow_offset: number;
  copy_strategy: number;
  internal: boolean;
  alive: boolean;
  shadowed: boolean;
  true_share: boolean;
  shadow_severed: boolean;
  /** pager_created: the object has a pager (vnode pager from the start, compressor pager at the first compression). */
  pager_created: boolean;
  /** The pager (memory object): null until created. */
  pager: MemoryObject | null;
  /** purgable: VM_PURGABLE_DENY (3) unless made purgeable (vm_purgeable.ts). */
  purgable: number;
}

export function strategyName(s: number): string {
  return STRATEGY_NAMES[s] ?? String(s);
}

/** vm_object_allocate (vm_object.c, template l.265): internal, SYMMETRIC, ref_count 1. */
export function vm_object_allocate(k: Xnu, size: number): VmObject {
  const o: VmObject = {
    id: k.nextObjectId++, memq: new Map(), vo_size: size, ref_count: 1, resident_page_count: 0, vo_copy: null, shadow: null,
    vo_shadow_offset: 0, copy_strategy: MEMORY_OBJECT_COPY_SYMMETRIC, internal: true, alive: true, shadowed: false,
    true_share: false, shadow_severed: false, pager_created: false, pager: null, purgable: 3,
  };
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_object_allocate', src: `${FILE}:vm_object_allocate (xnu-11417)`, args: { size: hex(size) } });
  leave(k, 'vm_object_allocate', `object#${o.id}`);
  return o;
}

/** vm_object_reference (vm_object.c). */
export function vm_object_reference(o: VmObject | null): void {
  if (o) o.ref_count++;
}

type DeallocReason = 'still-referenced' | 'last-reference-terminate';

/**
 * vm_object_deallocate (vm_object.c): drop a reference; the last one terminates the object
 * (frees its pages, unmapping them) and drops its reference on the shadow. A shadow left with one
 * reference is collapsed into its sole user when that user is an object (vm_object_collapse).
 */
export function vm_object_deallocate(k: Xnu, o: VmObject | null): void {
  let cur = o;
  while (cur) {
    enter(k, 'vm_object_deallocate', FILE, k.trace.enabled ? { object: `object#${cur.id}`, ref_count: String(cur.ref_count) } : undefined);
    cur.ref_count--;
    const why: DeallocReason = cur.ref_count > 0 ? 'still-referenced' : 'last-reference-terminate';
    decide(k, 'vm_object_deallocate', why);
    if (cur.ref_count > 0) {
      leave(k, 'vm_object_deallocate');
      return;
    }
    const next = vm_object_terminate(k, cur);
    leave(k, 'vm_object_deallocate');
    cur = next;
  }
}

/** vm_object_terminate (vm_object.c): free every resident page; returns the shadow to release. */
function vm_object_terminate(k: Xnu, o: VmObject): VmObject | null {
  enter(k, 'vm_object_terminate', FILE);
  for (const m of [...o.memq.values()]) {
    if (m.pmapped) pmap_disconnect(k, m.phys_page);
    vm_page_free(k, m);
  }
  o.alive = false;
  k.purgeableQueue.delete(o);
  if (o.pager?.kind === 'compressor') vm_compressor_pager_destroy(k, o);
  const shadow = o.shadow;
  if (shadow && shadow.vo_copy === o) shadow.vo_copy = null;
  o.shadow = null;
  leave(k, 'vm_object_terminate');
  return shadow;
}

type ShadowDecision = 'shadow-skipped-sole-reference' | 'shadow-created';

/**
 * vm_object_shadow (vm_object.c:4043): put a new object in front of `source` so writes land in
 * it. Skipped when nobody else can see the source: ref_count 1, same size, and no copy object
 * behind it (checklist 24, 25). Returns the object the entry should now use and its offset.
 */
export function vm_object_shadow(k: Xnu, source: VmObject, offset: number, length: number): { object: VmObject; offset: number } {
  enter(k, 'vm_object_shadow', FILE, k.trace.enabled ? { object: `object#${source.id}`, offset: hex(offset), length: hex(length) } : undefined);
  const skip = source.ref_count === 1 && source.vo_size === length && (source.shadow === null || source.shadow.vo_copy === null);
  const why: ShadowDecision = skip ? 'shadow-skipped-sole-reference' : 'shadow-created';
  if (k.trace.enabled) decide(k, 'vm_object_shadow', why, `ref_count=${source.ref_count}`);
  if (skip) {
    leave(k, 'vm_object_shadow', `object#${source.id}`);
    return { object: source, offset };
  }
  const result = vm_object_allocate(k, length);
  result.shadow = source; // takes over the entry's reference on source
  result.vo_shadow_offset = offset;
  leave(k, 'vm_object_shadow', `object#${result.id}`);
  return { object: result, offset: 0 };
}

export type CopyQuickly = { ok: true; src_needs_copy: boolean; dst_needs_copy: boolean } | { ok: false };

/**
 * vm_object_copy_quickly (vm_object.c:3497): a NULL object needs nothing; SYMMETRIC takes a
 * reference and marks both sides needs_copy; other strategies fail (the caller goes slow).
 */
export function vm_object_copy_quickly(k: Xnu, o: VmObject | null): CopyQuickly {
  if (o === null) {
    decide(k, 'vm_object_copy_quickly', 'null-object');
    return { ok: true, src_needs_copy: false, dst_needs_copy: false };
  }
  if (o.copy_strategy !== MEMORY_OBJECT_COPY_SYMMETRIC) {
    decide(k, 'vm_object_copy_quickly', 'not-symmetric', strategyName(o.copy_strategy));
    return { ok: false };
  }
  if (k.trace.enabled) decide(k, 'vm_object_copy_quickly', 'symmetric', `object#${o.id} ref_count ${o.ref_count} -> ${o.ref_count + 1}`);
  o.ref_count++;
  o.shadowed = true;
  return { ok: true, src_needs_copy: true, dst_needs_copy: true };
}

/**
 * vm_object_copy_slowly (vm_object.c): a new object holding copies of the pages visible through
 * `src` in [offset, offset+size). Used here for the non-SYMMETRIC fork copy (FIXME: XNU uses
 * vm_map_copyin's copy-delay machinery; the result is the same data, eagerly copied).
 */
export function vm_object_copy_slowly(k: Xnu, src: VmObject, offset: number, size: number): VmObject {
  enter(k, 'vm_object_copy_slowly', FILE);
  const n = vm_object_allocate(k, size);
  for (let off = 0; off < size; off += 4096) {
    const found = lookupChain(src, offset + off);
    if (!found) continue;
    const m = vm_page_grab(k);
    if (!m) throw new Error('model limit: out of pages in vm_object_copy_slowly (raise machine.ram)');
    if ('seg' in found) vm_compressor_get(k, found, m.phys_page, true); // a compressed page: decompressed, the original kept (C_KEEP)
    else vm_page_copy(k, found, m);
    vm_page_insert(k, m, n, off);
    m.dirty = true;
    vm_page_activate(k, m);
    vm_page_wakeup_done(m);
  }
  leave(k, 'vm_object_copy_slowly', `object#${n.id}`);
  return n;
}

/**
 * vm_object_copy_delay (vm_object.c), the asymmetric copy for DELAY objects: a copy object that
 * shadows `src` and receives the old contents of each page before `src` changes it (the push in
 * vm_fault_page, P6). `src`'s pages are write-protected everywhere so that push can happen.
 * Simplified: always a new copy object (no reuse of an unmodified old copy).
 */
export function vm_object_copy_delay(k: Xnu, src: VmObject, offset: number, size: number): VmObject {
  enter(k, 'vm_object_copy_delay', FILE, k.trace.enabled ? { object: `object#${src.id}`, offset: hex(offset), size: hex(size) } : undefined);
  const copy = vm_object_allocate(k, src.vo_size);
  copy.shadow = src;
  src.ref_count++;
  const old = src.vo_copy;
  if (old) {
    old.shadow = copy; // the older copy now sees src through the new one
    copy.ref_count++;
    src.ref_count--;
    if (k.trace.enabled) decide(k, 'vm_object_copy_delay', 'old-copy-rechained', `object#${old.id} -> object#${copy.id}`);
  }
  src.vo_copy = copy;
  for (const m of src.memq.values()) if (m.pmapped) pmap_page_protect_readonly(k, m.phys_page);
  leave(k, 'vm_object_copy_delay', `object#${copy.id}`);
  return copy;
}

/** The page (resident or compressed) visible at `offset` through the chain from `o`. */
function lookupChain(o: VmObject, offset: number): VmPage | CSlot | null {
  let cur: VmObject | null = o;
  let off = offset;
  while (cur) {
    const m = cur.memq.get(off);
    if (m) return m;
    const slot = cur.pager?.kind === 'compressor' ? cur.pager.slots.get(off) : undefined;
    if (slot) return slot;
    off += cur.vo_shadow_offset;
    cur = cur.shadow;
  }
  return null;
}

/**
 * vm_object_coalesce (vm_object.c:5420): can the previous entry's object grow to cover the new
 * range? Yes for no object, or a sole-reference object with no pager/shadow/copy/true_share.
 */
export function vm_object_coalesce(k: Xnu, prev: VmObject | null, prevOffset: number, prevSize: number, nextSize: number): boolean {
  if (prev === null) return true;
  const ok = prev.ref_count === 1 && !prev.pager_created && prev.shadow === null && prev.vo_copy === null && !prev.true_share && prev.purgable === 3;
  if (k.trace.enabled) decide(k, 'vm_object_coalesce', ok ? 'extend-object' : 'object-not-extendable', `object#${prev.id}`);
  if (ok) prev.vo_size = Math.max(prev.vo_size, prevOffset + prevSize + nextSize);
  return ok;
}

/**
 * vm_object_pmap_protect (vm_object.c): remove write access to the object's pages in [start,
 * start+size) of `pmap`; with no pmap (a shared map), from every mapping of each resident page.
 */
export function vm_object_pmap_protect(k: Xnu, o: VmObject, offset: number, size: number, pmap: Pmap | null, start: number, prot: number): void {
  enter(k, 'vm_object_pmap_protect', FILE, k.trace.enabled ? { object: `object#${o.id}`, prot: String(prot) } : undefined);
  if (pmap) pmap_protect_options(k, pmap, start, start + size, prot);
  else {
    for (const m of o.memq.values()) if (m.vmp_offset >= offset && m.vmp_offset < offset + size && m.pmapped) pmap_disconnect(k, m.phys_page);
  }
  leave(k, 'vm_object_pmap_protect');
}

type CollapseDecision = 'no-backing-object' | 'backing-shared' | 'backing-has-copy' | 'backing-external' | 'both-have-pagers' | 'backing-is-a-copy-object'
  | 'collapsed';

/**
 * vm_object_collapse (vm_object.c), the do_collapse case only: when the backing object has no
 * other reference, move its pages up (those the top object lacks) and take over its shadow; a
 * backing compressor pager moves up too (its slots re-keyed by the shadow offset), but not when
 * the top object has a pager of its own (XNU then can only bypass). An external (file) object is
 * never collapsed into its shadow. Simplified: no bypass case.
 */
export function vm_object_collapse(k: Xnu, top: VmObject): void {
  const backing = top.shadow;
  let why: CollapseDecision;
  if (backing === null) why = 'no-backing-object';
  else if (backing.ref_count !== 1) why = 'backing-shared';
  else if (backing.vo_copy !== null) why = 'backing-has-copy';
  else if (!backing.internal) why = 'backing-external';
  // vm_object_collapse: the backing object can't be a copy object (its shadow offset must stay 0,
  // and its source pushes old pages into it).
  else if (backing.shadow?.vo_copy === backing) why = 'backing-is-a-copy-object';
  else if (backing.pager !== null && top.pager !== null) why = 'both-have-pagers';
  else why = 'collapsed';
  if (why !== 'collapsed' || backing === null) {
    decide(k, 'vm_object_collapse', why);
    return;
  }
  enter(k, 'vm_object_collapse', FILE, k.trace.enabled ? { object: `object#${top.id}`, backing: `object#${backing.id}` } : undefined);
  const delta = top.vo_shadow_offset;
  for (const m of [...backing.memq.values()]) {
    const newOff = m.vmp_offset - delta;
    backing.memq.delete(m.vmp_offset);
    backing.resident_page_count--;
    m.tabled = false;
    const hidden = top.memq.has(newOff) || (top.pager?.kind === 'compressor' && top.pager.slots.has(newOff));
    if (newOff < 0 || newOff >= top.vo_size || hidden) {
      if (m.pmapped) pmap_disconnect(k, m.phys_page);
      vm_page_free(k, m);
    } else vm_page_insert(k, m, top, newOff);
  }
  if (backing.pager?.kind === 'compressor') {
    const slots = new Map<number, CSlot>();
    for (const [off, slot] of backing.pager.slots) {
      const newOff = off - delta;
      if (newOff < 0 || newOff >= top.vo_size || top.memq.has(newOff)) vm_compressor_free(k, slot); // hidden by the top object
      else slots.set(newOff, slot);
    }
    top.pager = { kind: 'compressor', slots };
    top.pager_created = true;
    backing.pager = null;
    backing.pager_created = false;
  }
  top.shadow = backing.shadow;
  top.vo_shadow_offset += backing.vo_shadow_offset;
  backing.shadow = null;
  backing.ref_count = 0;
  backing.alive = false;
  leave(k, 'vm_object_collapse');
}
