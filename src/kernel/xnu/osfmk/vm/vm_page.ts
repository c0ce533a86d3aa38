// struct vm_page and the page queues (osfmk/vm/vm_page.h:233, osfmk/vm/vm_resident.c;
// xnu-11417.121.6). Physical frames are handed out by vm_page_grab from the free queue; a page
// lives in at most one object (hashed by object and offset: here the object's `memq` Map).
// The paging queues are ordered (oldest first) so the pageout daemon (vm_pageout.ts) can age
// and reclaim them. Simplified: one free queue (no colours, no per-CPU magazines), no reserve
// for privileged threads; pages are created lazily the first time a frame is handed out, so a
// large RAM costs nothing until used.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import type { VmObject } from './vm_object.js';
import { vm_page_wait } from './vm_pageout.js';

const FILE = 'osfmk/vm/vm_resident.c';

/** vmp_q_state values (vm_page.h:202-217). */
export const VM_PAGE_NOT_ON_Q = 0;
export const VM_PAGE_IS_WIRED = 1;
export const VM_PAGE_USED_BY_COMPRESSOR = 2;
export const VM_PAGE_ON_FREE_Q = 3;
export const VM_PAGE_ON_ACTIVE_LOCAL_Q = 9;
export const VM_PAGE_ON_ACTIVE_Q = 10;
export const VM_PAGE_ON_INACTIVE_INTERNAL_Q = 11;
export const VM_PAGE_ON_INACTIVE_EXTERNAL_Q = 12;

export interface VmPage {
  /** vmp_phys_page. */
  readonly phys_page: number;
  vmp_object: VmObject | null;
  /** vmp_offset (bytes into the object). */
  vmp_offset: number;
  vmp_q_state: number;
  busy: boolean;
  tabled: boolean;
  pmapped: boolean;
  wpmapped: boolean;
  xpmapped: boolean;
  absent: boolean;
  dirty: boolean;
  /** vmp_error: the pager could not supply the data (a read past EOF); the fault fails with KERN_MEMORY_ERROR. */
  error: boolean;
  /** vmp_reusable: MADV_FREE_REUSABLE said the contents may be dropped (pageout frees it without compressing). */
  reusable: boolean;
  wire_count: number;
}

export class VmPageQueues {
  /** Freed pages, reused LIFO; then never-used frames from `nextFresh`. */
  readonly free: VmPage[] = [];
  nextFresh: number;
  readonly lastPfn: number;
  vm_page_free_count: number;
  vm_page_active_count = 0;
  vm_page_local_count = 0;
  vm_page_inactive_count = 0;
  vm_page_wire_count = 0;
  /** Pages holding compressed data (c_segment buffers, q_state USED_BY_COMPRESSOR). */
  vm_page_compressor_count = 0;
  /** The paging queues in age order (a Set iterates in insertion order: head = oldest). */
  readonly active = new Set<VmPage>();
  readonly localActive = new Set<VmPage>();
  readonly inactive = new Set<VmPage>();
  /** The pages the VM manages (vm_page_pages). */
  readonly vm_page_pages: number;
  /** vm_page_free_target / vm_page_free_min (vm_pageout.c vm_page_free_reserve, simplified: fixed fractions of RAM). */
  vm_page_free_target: number;
  vm_page_free_min: number;
  /** Frames given to page tables (pmap pages). */
  pmap_pages = 0;
  /** The vm_page of each frame handed out at least once. */
  readonly byPfn = new Map<number, VmPage>();

  constructor(firstPfn: number, lastPfn: number) {
    this.nextFresh = firstPfn;
    this.lastPfn = lastPfn;
    this.vm_page_free_count = lastPfn - firstPfn;
    this.vm_page_pages = this.vm_page_free_count;
    this.vm_page_free_min = Math.max(4, Math.floor(this.vm_page_free_count / 100));
    this.vm_page_free_target = Math.max(8, Math.floor(this.vm_page_free_count / 50));
  }
}

function newPage(phys: number): VmPage {
  return {
    phys_page: phys, vmp_object: null, vmp_offset: 0, vmp_q_state: VM_PAGE_ON_FREE_Q, busy: false, tabled: false,
    pmapped: false, wpmapped: false, xpmapped: false, absent: false, dirty: false, error: false, reusable: false, wire_count: 0,
  };
}

/** vm_page_free_reserved (simplified): pages only VM-privileged threads (pageout, compressor, pmap) may take. */
export const VM_PAGE_FREE_RESERVED = 4;

/**
 * vm_page_grab_options (vm_resident.c:4264, body l.4028): take a page off the free queue, or
 * null when none is left (the caller then waits or fails with MEMORY_SHORTAGE). Non-privileged
 * callers get null at the reserve; below vm_page_free_min the pageout daemon is woken.
 */
export function vm_page_grab(k: Xnu, privileged = false): VmPage | null {
  const q = k.pages;
  if (!privileged && q.vm_page_free_count <= VM_PAGE_FREE_RESERVED) {
    if (k.trace.enabled) decide(k, 'vm_page_grab', 'free-reserve', `vm_page_free_count=${q.vm_page_free_count}`);
    return null;
  }
  let m = q.free.pop();
  if (m === undefined) {
    if (q.nextFresh >= q.lastPfn) {
      if (k.trace.enabled) decide(k, 'vm_page_grab', 'free-queue-empty', `vm_page_free_count=${q.vm_page_free_count}`);
      return null;
    }
    m = newPage(q.nextFresh++);
    q.byPfn.set(m.phys_page, m);
  }
  q.vm_page_free_count--;
  if (q.vm_page_free_count < q.vm_page_free_min && !k.pageoutWanted) {
    k.pageoutWanted = true; // vm_pageout_wakeup: the daemon runs at the next safe point (vm_pageout.ts)
    if (k.trace.enabled) decide(k, 'vm_page_grab', 'wake-pageout-daemon', `vm_page_free_count ${q.vm_page_free_count} < vm_page_free_min ${q.vm_page_free_min}`);
  }
  m.vmp_q_state = VM_PAGE_NOT_ON_Q;
  m.busy = true;
  if (k.trace.enabled) k.trace.emit({ ev: 'frame', what: 'alloc', pfn: hex(m.phys_page), why: 'vm_page_grab' });
  return m;
}

/** A page-table page for the pmap (pmap_alloc_PML4/PDPT/PD/PT use vm_page_grab too; pmap_expand waits for the pageout daemon). */
export function vm_page_grab_for_pmap(k: Xnu): number {
  let m = vm_page_grab(k, true);
  if (m === null && vm_page_wait(k)) m = vm_page_grab(k, true);
  if (m === null) throw new Error('model limit: no free page for a page table (pmap_expand would wait; raise machine.ram)');
  m.busy = false;
  m.vmp_q_state = VM_PAGE_IS_WIRED;
  k.pages.pmap_pages++;
  return m.phys_page;
}

/** vm_page_free (vm_resident.c): back on the free queue, out of its object and queues. */
export function vm_page_free(k: Xnu, m: VmPage): void {
  const q = k.pages;
  vm_page_queues_remove(k, m);
  if (m.tabled && m.vmp_object) vm_page_remove(m);
  m.busy = false;
  m.pmapped = m.wpmapped = m.xpmapped = m.dirty = m.absent = m.error = m.reusable = false;
  m.wire_count = 0;
  k.pmapPhysAttributes.delete(m.phys_page); // a free page starts clean (pmap_clear_refmod at free)
  m.vmp_q_state = VM_PAGE_ON_FREE_Q;
  q.free.push(m);
  q.vm_page_free_count++;
  if (k.trace.enabled) k.trace.emit({ ev: 'frame', what: 'free', pfn: hex(m.phys_page), why: 'vm_page_free' });
}

/** vm_page_insert (vm_resident.c:2549): hash into the object at `offset`; resident_page_count++. */
export function vm_page_insert(k: Xnu, m: VmPage, object: VmObject, offset: number): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_page_insert', src: `${FILE}:vm_page_insert (xnu-11417)`, args: { object: `object#${object.id}`, offset: hex(offset), pn: hex(m.phys_page) } });
  if (m.tabled) throw new Error('model bug: vm_page_insert of a tabled page');
  m.vmp_object = object;
  m.vmp_offset = offset;
  m.tabled = true;
  object.memq.set(offset, m);
  object.resident_page_count++;
  leave(k, 'vm_page_insert');
}

/** vm_page_remove (vm_resident.c): out of its object; resident_page_count--. */
export function vm_page_remove(m: VmPage): void {
  const o = m.vmp_object!;
  o.memq.delete(m.vmp_offset);
  o.resident_page_count--;
  m.vmp_object = null;
  m.tabled = false;
}

/** vm_page_lookup (vm_resident.c): the resident page of `object` at `offset`, or null. */
export function vm_page_lookup(object: VmObject, offset: number): VmPage | null {
  return object.memq.get(offset) ?? null;
}

/** vm_page_zero_fill (vm_resident.c:6036): clear the frame. */
export function vm_page_zero_fill(k: Xnu, m: VmPage): void {
  enter(k, 'vm_page_zero_fill', FILE, k.trace.enabled ? { pn: hex(m.phys_page) } : undefined);
  k.m.mem.zeroFrame(m.phys_page);
  leave(k, 'vm_page_zero_fill');
}

/** vm_page_copy (vm_resident.c): copy the contents of `src` into `dst`. */
export function vm_page_copy(k: Xnu, src: VmPage, dst: VmPage): void {
  enter(k, 'vm_page_copy', FILE, k.trace.enabled ? { src: hex(src.phys_page), dest: hex(dst.phys_page) } : undefined);
  k.m.mem.copyFrame(src.phys_page, dst.phys_page);
  leave(k, 'vm_page_copy');
}

/** vm_page_queues_remove (vm_resident.c): off whatever paging queue it is on. */
export function vm_page_queues_remove(k: Xnu, m: VmPage): void {
  const q = k.pages;
  if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_Q) {
    q.vm_page_active_count--;
    q.active.delete(m);
  } else if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_LOCAL_Q) {
    q.vm_page_local_count--;
    q.localActive.delete(m);
  } else if (m.vmp_q_state === VM_PAGE_ON_INACTIVE_INTERNAL_Q || m.vmp_q_state === VM_PAGE_ON_INACTIVE_EXTERNAL_Q) {
    q.vm_page_inactive_count--;
    q.inactive.delete(m);
  } else if (m.vmp_q_state === VM_PAGE_IS_WIRED) q.vm_page_wire_count--;
  else if (m.vmp_q_state === VM_PAGE_USED_BY_COMPRESSOR) q.vm_page_compressor_count--;
  m.vmp_q_state = VM_PAGE_NOT_ON_Q;
}

/** vm_page_activate (vm_resident.c): to the global active queue. */
export function vm_page_activate(k: Xnu, m: VmPage): void {
  if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_Q || m.vmp_q_state === VM_PAGE_ON_ACTIVE_LOCAL_Q) return;
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_ON_ACTIVE_Q;
  k.pages.vm_page_active_count++;
  k.pages.active.add(m);
}

/** vm_page_deactivate (vm_resident.c): to the tail of the inactive queue, internal (anonymous) or external (file). */
export function vm_page_deactivate(k: Xnu, m: VmPage): void {
  if (m.vmp_q_state === VM_PAGE_IS_WIRED || m.vmp_q_state === VM_PAGE_USED_BY_COMPRESSOR) return;
  vm_page_queues_remove(k, m);
  m.vmp_q_state = m.vmp_object?.internal === false ? VM_PAGE_ON_INACTIVE_EXTERNAL_Q : VM_PAGE_ON_INACTIVE_INTERNAL_Q;
  k.pages.vm_page_inactive_count++;
  k.pages.inactive.add(m);
}

/** The per-CPU local active queue new COW and zero-fill pages go to (vm_fault_enqueue_page, checklist 43). */
export function vm_page_enqueue_local(k: Xnu, m: VmPage): void {
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_ON_ACTIVE_LOCAL_Q;
  k.pages.vm_page_local_count++;
  k.pages.localActive.add(m);
}

/** vm_page_wakeup_done (vm_page.h): clear busy (no waiters in the model: one thread per task). */
export function vm_page_wakeup_done(m: VmPage): void {
  m.busy = false;
}

/** vm_page_wire (vm_resident.c): off the paging queues onto the wired count. */
export function vm_page_wire(k: Xnu, m: VmPage): void {
  if (m.wire_count++ > 0) return;
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_IS_WIRED;
  k.pages.vm_page_wire_count++;
}

/** vm_page_unwire (vm_resident.c): the last unwiring puts the page back on the active queue. */
export function vm_page_unwire(k: Xnu, m: VmPage): void {
  if (m.wire_count === 0 || --m.wire_count > 0) return;
  vm_page_queues_remove(k, m);
  vm_page_activate(k, m);
}
