// struct vm_page and the page queues (osfmk/vm/vm_page.h:233, osfmk/vm/vm_resident.c;
// xnu-11417.121.6). Physical frames are handed out by vm_page_grab from the free queue; a page
// lives in at most one object (hashed by object and offset: here the object's `memq` Map).
// Simplified: one free queue (no colours, no per-CPU magazines), no reserve for privileged
// threads, no pageout daemon, no compressor; pages are created lazily the first time a frame
// is handed out, so a large RAM costs nothing until used.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import type { VmObject } from './vm_object.js';

const FILE = 'osfmk/vm/vm_resident.c';

/** vmp_q_state values (vm_page.h:202-217). */
export const VM_PAGE_NOT_ON_Q = 0;
export const VM_PAGE_IS_WIRED = 1;
export const VM_PAGE_ON_FREE_Q = 3;
export const VM_PAGE_ON_ACTIVE_LOCAL_Q = 9;
export const VM_PAGE_ON_ACTIVE_Q = 10;
export const VM_PAGE_ON_INACTIVE_INTERNAL_Q = 11;

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
  /** Frames given to page tables (pmap pages). */
  pmap_pages = 0;
  /** The vm_page of each frame handed out at least once. */
  readonly byPfn = new Map<number, VmPage>();

  constructor(firstPfn: number, lastPfn: number) {
    this.nextFresh = firstPfn;
    this.lastPfn = lastPfn;
    this.vm_page_free_count = lastPfn - firstPfn;
  }
}

function newPage(phys: number): VmPage {
  return {
    phys_page: phys, vmp_object: null, vmp_offset: 0, vmp_q_state: VM_PAGE_ON_FREE_Q, busy: false, tabled: false,
    pmapped: false, wpmapped: false, xpmapped: false, absent: false, dirty: false, wire_count: 0,
  };
}

/**
 * vm_page_grab_options (vm_resident.c:4264, body l.4028): take a page off the free queue, or
 * null when none is left (the caller then waits or fails with MEMORY_SHORTAGE).
 */
export function vm_page_grab(k: Xnu): VmPage | null {
  const q = k.pages;
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
  m.vmp_q_state = VM_PAGE_NOT_ON_Q;
  m.busy = true;
  if (k.trace.enabled) k.trace.emit({ ev: 'frame', what: 'alloc', pfn: hex(m.phys_page), why: 'vm_page_grab' });
  return m;
}

/** A page-table page for the pmap (pmap_alloc_PML4/PDPT/PD/PT use vm_page_grab too). */
export function vm_page_grab_for_pmap(k: Xnu): number {
  const m = vm_page_grab(k);
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
  m.pmapped = m.wpmapped = m.xpmapped = m.dirty = m.absent = false;
  m.wire_count = 0;
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
  if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_Q) q.vm_page_active_count--;
  else if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_LOCAL_Q) q.vm_page_local_count--;
  else if (m.vmp_q_state === VM_PAGE_ON_INACTIVE_INTERNAL_Q) q.vm_page_inactive_count--;
  else if (m.vmp_q_state === VM_PAGE_IS_WIRED) q.vm_page_wire_count--;
  m.vmp_q_state = VM_PAGE_NOT_ON_Q;
}

/** vm_page_activate (vm_resident.c): to the global active queue. */
export function vm_page_activate(k: Xnu, m: VmPage): void {
  if (m.vmp_q_state === VM_PAGE_ON_ACTIVE_Q || m.vmp_q_state === VM_PAGE_ON_ACTIVE_LOCAL_Q) return;
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_ON_ACTIVE_Q;
  k.pages.vm_page_active_count++;
}

/** vm_page_deactivate (vm_resident.c): to the inactive (internal) queue. */
export function vm_page_deactivate(k: Xnu, m: VmPage): void {
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_ON_INACTIVE_INTERNAL_Q;
  k.pages.vm_page_inactive_count++;
}

/** The per-CPU local active queue new COW and zero-fill pages go to (vm_fault_enqueue_page, checklist 43). */
export function vm_page_enqueue_local(k: Xnu, m: VmPage): void {
  vm_page_queues_remove(k, m);
  m.vmp_q_state = VM_PAGE_ON_ACTIVE_LOCAL_Q;
  k.pages.vm_page_local_count++;
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
  m.vmp_q_state = VM_PAGE_ON_ACTIVE_Q;
  k.pages.vm_page_active_count++;
}
