// The pageout daemon (osfmk/vm/vm_pageout.c vm_pageout_scan, vm_pageout_compress_page;
// osfmk/vm/vm_resident.c vm_page_wait; xnu-11417.121.6). When free pages fall below
// vm_page_free_min, vm_page_grab wakes the daemon; it moves the oldest active pages to the
// inactive queue (clearing their reference bits) until the inactive queue is half of the pageable
// pages, then takes inactive pages oldest first: a referenced one gets a second chance
// (reactivated), a clean one is freed, a dirty file page is written back to its vnode and freed,
// and a dirty anonymous page is compressed (vm_compressor_pager_put) and freed; volatile
// purgeable objects are emptied before any of that (vm_purgeable.ts). When nothing can
// be freed the faulting thread's vm_page_wait asks memorystatus to kill the largest process.
// Simplified: the daemon runs synchronously at the next safe point (the end of the fault, or in
// vm_page_wait) instead of as a thread; no speculative, throttled, cleaned or secluded queues,
// no laundry (writes are synchronous), fixed targets (vm_page_free_target = RAM/50).

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, KERN_SUCCESS, type Xnu } from '../../xnu.js';
import { memorystatus_kill_on_VM_page_shortage } from '../../bsd/kern/kern_memorystatus.js';
import { vnode_pageout } from '../../bsd/vm/vnode_pager.js';
import { pmap_clear_refmod, pmap_disconnect, pmap_get_refmod, VM_MEM_MODIFIED, VM_MEM_REFERENCED } from '../x86_64/pmap.js';
import { vm_compressor_pager_put } from './vm_compressor_pager.js';
import { vm_purgeable_object_purge_one } from './vm_purgeable.js';
import { vm_page_activate, vm_page_deactivate, vm_page_free, vm_page_queues_remove, VM_PAGE_FREE_RESERVED, type VmPage } from './vm_page.js';

const FILE = 'osfmk/vm/vm_pageout.c';

type ScanDecision =
  | 'referenced-reactivate' | 'clean-reclaim' | 'reusable-discard' | 'file-dirty-pageout' | 'anon-compress' | 'compressor-full-reactivate'
  | 'inactive-empty' | 'target-reached' | 'busy-skip' | 'purge-volatile-object';

/** The oldest page of a queue (a Set iterates in insertion order). */
function head(q: Set<VmPage>): VmPage | null {
  for (const m of q) return m;
  return null;
}

/** vm_page_reactivate_local: the per-CPU local active queues are drained into the global one. */
function vm_page_reactivate_local(k: Xnu): void {
  for (const m of [...k.pages.localActive]) {
    vm_page_queues_remove(k, m);
    vm_page_activate(k, m);
  }
}

/** Age: move the oldest active pages to the inactive queue until it is half of both (VM_PAGE_INACTIVE_TARGET). */
function vm_pageout_balance(k: Xnu): void {
  const q = k.pages;
  while (q.inactive.size < (q.active.size + q.inactive.size) / 2) {
    const m = head(q.active);
    if (m === null) return;
    if (m.pmapped) pmap_clear_refmod(k, m.phys_page, false);
    vm_page_deactivate(k, m);
  }
}

/** One inactive page: reactivate, free, write back or compress it. Returns what was done. */
function vm_pageout_page(k: Xnu, m: VmPage, compressorFull: boolean): ScanDecision {
  const o = m.vmp_object;
  if (m.busy || o === null) {
    vm_page_activate(k, m);
    return 'busy-skip';
  }
  const refmod = m.pmapped ? pmap_get_refmod(k, m.phys_page) : 0;
  if (m.reusable && refmod & VM_MEM_MODIFIED) m.reusable = false; // written since MADV_FREE_REUSABLE: reused
  if (refmod & VM_MEM_REFERENCED && !m.reusable) {
    pmap_clear_refmod(k, m.phys_page, false);
    vm_page_activate(k, m);
    k.stats.reactivations++;
    return 'referenced-reactivate';
  }
  if (refmod & VM_MEM_MODIFIED) m.dirty = true;
  if (o.internal && m.dirty && !m.reusable && compressorFull) {
    vm_page_activate(k, m);
    return 'compressor-full-reactivate';
  }
  if (m.pmapped) pmap_disconnect(k, m.phys_page);
  let why: ScanDecision;
  if (m.reusable) why = 'reusable-discard';
  else if (!m.dirty) why = 'clean-reclaim';
  else if (!o.internal && o.pager?.kind === 'vnode') {
    vnode_pageout(k, o.pager.vnode, m);
    why = 'file-dirty-pageout';
  } else if (vm_compressor_pager_put(k, o, m.vmp_offset, m.phys_page) === KERN_SUCCESS) {
    k.stats.compressions++;
    why = 'anon-compress';
  } else {
    m.dirty = true;
    vm_page_activate(k, m);
    return 'compressor-full-reactivate';
  }
  if (why === 'clean-reclaim' || why === 'reusable-discard') k.stats.reclaimed++;
  vm_page_free(k, m);
  return why;
}

/**
 * vm_pageout_scan (vm_pageout.c): free pages until vm_page_free_target is reached or the
 * inactive queue has nothing more to give. Each page it handles is one decision in the trace.
 */
export function vm_pageout_scan(k: Xnu): void {
  if (k.pageoutRunning) return;
  k.pageoutRunning = true;
  const q = k.pages;
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_pageout_scan', src: `${FILE}:vm_pageout_scan (xnu-11417)`, args: { free: String(q.vm_page_free_count), free_target: String(q.vm_page_free_target), active: String(q.active.size + q.localActive.size), inactive: String(q.inactive.size) } });
  vm_page_reactivate_local(k);
  let budget = 2 * (q.active.size + q.inactive.size) + 8;
  let compressorFull = false;
  let end: ScanDecision = 'target-reached';
  while (q.vm_page_free_count < q.vm_page_free_target) {
    if (k.purgeableQueue.size > 0) { // volatile purgeable memory goes first: dropped, not saved
      decide(k, 'vm_pageout_scan', 'purge-volatile-object' satisfies ScanDecision);
      vm_purgeable_object_purge_one(k);
      continue;
    }
    vm_pageout_balance(k);
    const m = head(q.inactive);
    if (m === null || budget-- <= 0) {
      end = 'inactive-empty';
      break;
    }
    const why = vm_pageout_page(k, m, compressorFull);
    if (why === 'compressor-full-reactivate') compressorFull = true;
    if (k.trace.enabled) decide(k, 'vm_pageout_scan', why, `pn ${hex(m.phys_page)}`);
  }
  decide(k, 'vm_pageout_scan', end, `free ${q.vm_page_free_count}`);
  k.pageoutWanted = false;
  k.pageoutRunning = false;
  leave(k, 'vm_pageout_scan');
}

type WaitDecision = 'pages-freed' | 'jetsam-freed' | 'current-task-killed' | 'nothing-to-free';

/**
 * vm_page_wait (vm_resident.c:4582): block until pages are free. Here the daemon runs first;
 * if it freed nothing, memorystatus kills the largest process. False (THREAD_INTERRUPTED, so
 * the fault returns KERN_ABORTED) when the waiting thread's own process is the one killed.
 */
export function vm_page_wait(k: Xnu): boolean {
  enter(k, 'vm_page_wait', 'osfmk/vm/vm_resident.c');
  vm_pageout_scan(k);
  let why: WaitDecision = 'pages-freed';
  if (k.pages.vm_page_free_count <= VM_PAGE_FREE_RESERVED) {
    const victim = memorystatus_kill_on_VM_page_shortage(k);
    why = victim === null ? 'nothing-to-free' : victim === k.current ? 'current-task-killed' : 'jetsam-freed';
  }
  decide(k, 'vm_page_wait', why, `vm_page_free_count ${k.pages.vm_page_free_count}`);
  const ok = why === 'pages-freed' || (why === 'jetsam-freed' && k.pages.vm_page_free_count > VM_PAGE_FREE_RESERVED);
  leave(k, 'vm_page_wait', ok ? 'THREAD_AWAKENED' : 'THREAD_INTERRUPTED');
  return ok;
}
