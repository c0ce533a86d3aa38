// The fault handler (osfmk/vm/vm_fault.c; xnu-11417.121.6): vm_fault -> vm_fault_internal with
// its fast path over the shadow chain (soft fault, copy-on-write, zero fill) and the slow path
// vm_fault_page (placeholder page in the top object, copy-object push), then vm_fault_enter to
// the pmap. Decision tree and line numbers: xnu.md §5.
// Pagers: a compressed page of an internal object is decompressed in the fast path (V8 d) or in
// vm_fault_page; a page of a file's object is requested from the vnode pager in vm_fault_page
// (P3: one memory_object_data_request per page; the type becomes PAGEINV, task pageins++).
// Simplified: no busy pages from other threads (one thread per task, so checklist 40's sleep
// never happens), no code signing, no throttling, no KDBG, no swapped-out c_segments (so
// COMPRESSOR_SWAPIN never happens), no resilient media.

import { hex } from '../../../../trace/events.js';
import {
  decide, enter, krName, leave, protName, KERN_ABORTED, KERN_FAILURE, KERN_INVALID_ADDRESS, KERN_MEMORY_ERROR, KERN_MEMORY_FAILURE, KERN_SUCCESS,
  VM_PROT_COPY, VM_PROT_EXECUTE, VM_PROT_WRITE, type Xnu,
} from '../../xnu.js';
import { memory_object_data_request } from './memory_object.js';
import { vm_compressor_pager_get, vm_compressor_pager_state_get } from './vm_compressor_pager.js';
import { vm_page_wait, vm_pageout_scan } from './vm_pageout.js';
import { VM_PURGABLE_EMPTY } from './vm_purgeable.js';
import { pmap_disconnect, pmap_enter_options, type Pmap } from '../x86_64/pmap.js';
import type { VmMap } from './vm_map.js';
import { vm_map_lookup_and_lock_object } from './vm_map_lookup.js';
import { MEMORY_OBJECT_COPY_DELAY, MEMORY_OBJECT_COPY_DELAY_FORK, vm_object_collapse, type VmObject } from './vm_object.js';
import {
  vm_page_activate, vm_page_copy, vm_page_enqueue_local, vm_page_free, vm_page_grab, vm_page_insert, vm_page_lookup, vm_page_wakeup_done,
  vm_page_wire, vm_page_zero_fill, type VmPage,
} from './vm_page.js';

const FILE = 'osfmk/vm/vm_fault.c';

/** type_of_fault values (bsd/sys/kdebug.h:415-425). */
export const DBG_ZERO_FILL_FAULT = 1;
export const DBG_PAGEIN_FAULT = 2;
export const DBG_COW_FAULT = 3;
export const DBG_CACHE_HIT_FAULT = 4;
export const DBG_NZF_PAGE_FAULT = 5;
export const DBG_PAGEINV_FAULT = 7;
export const DBG_PAGEIND_FAULT = 8;
export const DBG_COMPRESSOR_FAULT = 9;
export const DBG_COMPRESSOR_SWAPIN_FAULT = 0xa;
const FAULT_TYPE_NAMES: Record<number, string> = {
  1: 'DBG_ZERO_FILL_FAULT', 2: 'DBG_PAGEIN_FAULT', 3: 'DBG_COW_FAULT', 4: 'DBG_CACHE_HIT_FAULT', 5: 'DBG_NZF_PAGE_FAULT', 6: 'DBG_GUARD_FAULT',
  7: 'DBG_PAGEINV_FAULT', 8: 'DBG_PAGEIND_FAULT', 9: 'DBG_COMPRESSOR_FAULT', 10: 'DBG_COMPRESSOR_SWAPIN_FAULT',
};
export function faultTypeName(t: number): string {
  return FAULT_TYPE_NAMES[t] ?? String(t);
}

/** vm_fault_return_t (osfmk/vm/vm_fault.h:77-84). */
const VM_FAULT_SUCCESS = 0;
const VM_FAULT_RETRY = 1;
const VM_FAULT_MEMORY_SHORTAGE = 3;
const VM_FAULT_MEMORY_ERROR = 5;

/** The state vm_fault_internal carries between its phases. */
interface FaultCtx {
  map: VmMap;
  pmap: Pmap;
  vaddr: number;
  faultType: number;
  object: VmObject;
  offset: number;
  prot: number;
  wired: boolean;
  version: number;
  type: number;
  needCollapse: boolean;
  /** A wiring fault (vm_fault_wire): the page is wired instead of queued. */
  changeWiring: boolean;
}

/**
 * vm_fault (vm_fault.c:4103): fault_info {interruptible, no change of wiring}, then
 * vm_fault_internal. Called as vm_fault(map, vaddr, prot, FALSE, VM_KERN_MEMORY_NONE,
 * interruptible, NULL, 0) by user_trap and kernel_trap (checklist 13).
 */
export function vm_fault(k: Xnu, map: VmMap, vaddr: number, faultType: number, changeWiring: boolean, interruptible: 'THREAD_ABORTSAFE' | 'THREAD_UNINT'): number {
  if (k.trace.enabled) {
    k.trace.emit({ ev: 'enter', fn: 'vm_fault', src: `${FILE}:vm_fault (xnu-11417)`, args: { map: 'thread->map', vaddr: hex(vaddr), fault_type: protName(faultType), change_wiring: String(changeWiring), wire_tag: 'VM_KERN_MEMORY_NONE', interruptible, caller_pmap: 'NULL', caller_pmap_addr: '0' } });
  }
  const kr = vm_fault_internal(k, map, vaddr, faultType, changeWiring);
  leave(k, 'vm_fault', krName(kr));
  return kr;
}

/** vm_fault_internal (vm_fault.c): pre-checks, counters (V4, checklist 20), RetryFault loop. */
export function vm_fault_internal(k: Xnu, map: VmMap, vaddr0: number, faultType: number, changeWiring = false): number {
  enter(k, 'vm_fault_internal', FILE);
  if (map.never_faults) {
    decide(k, 'vm_fault_internal', 'map-never-faults');
    leave(k, 'vm_fault_internal', 'KERN_INVALID_ADDRESS');
    return KERN_INVALID_ADDRESS;
  }
  const vaddr = vaddr0 - (vaddr0 % 4096);
  if (k.current?.thread.vm_faults_disabled) {
    decide(k, 'vm_fault_internal', 'faults-disabled');
    leave(k, 'vm_fault_internal', 'KERN_FAILURE');
    return KERN_FAILURE;
  }
  k.stats.faults++;
  if (k.current) k.current.faults++;
  if (k.pageoutWanted) vm_pageout_scan(k); // the daemon, woken by an earlier vm_page_grab, ran before this fault
  const needCopy = (faultType & VM_PROT_WRITE) !== 0;
  let kr: number;
  for (let retry = 0; ; retry++) {
    if (retry > 8) throw new Error('model bug: vm_fault_internal retried 8 times');
    const lr = vm_map_lookup_and_lock_object(k, map, vaddr, faultType | (needCopy ? VM_PROT_COPY : 0));
    if (lr.kr !== KERN_SUCCESS || !('object' in lr)) {
      kr = lr.kr;
      break;
    }
    const ctx: FaultCtx = {
      map, pmap: map.pmap, vaddr, faultType: lr.wired ? lr.prot | VM_PROT_WRITE : faultType, object: lr.object, offset: lr.offset,
      prot: lr.prot, wired: lr.wired, version: lr.version, type: DBG_CACHE_HIT_FAULT, needCollapse: false, changeWiring,
    };
    const delayCopy = (ctx.object.copy_strategy === MEMORY_OBJECT_COPY_DELAY || ctx.object.copy_strategy === MEMORY_OBJECT_COPY_DELAY_FORK)
      && ctx.object.vo_copy !== null && (ctx.faultType & VM_PROT_WRITE) !== 0;
    if (delayCopy) decide(k, 'vm_fault_internal', 'copy-delay-write-slow-path', `object#${ctx.object.id} has copy object#${ctx.object.vo_copy!.id}`);
    const fast = delayCopy ? -1 : vm_fault_fast(k, ctx);
    const r = fast >= 0 ? fast : vm_fault_slow(k, ctx);
    if (r === VM_FAULT_RETRY_KR) continue;
    kr = r;
    if (kr === KERN_SUCCESS) k.lastFaultType = ctx.type;
    if (kr === KERN_SUCCESS && k.trace.enabled) k.trace.emit({ ev: 'decision', fn: 'vm_fault_internal', reason: 'done', detail: `type_of_fault = ${faultTypeName(ctx.type)}` });
    break;
  }
  leave(k, 'vm_fault_internal', krName(kr));
  return kr;
}

/** Internal marker: go around RetryFault again. */
const VM_FAULT_RETRY_KR = -2;

type FastDecision =
  | 'resident-in-top-soft-fault' | 'read-maps-page-readonly' | 'write-top-has-copy-object-slow' | 'cow-into-top-object'
  | 'no-free-page-slow' | 'zero-fill-in-top-object' | 'descend-to-shadow' | 'page-absent-slow' | 'object-severed' | 'external-object-slow'
  | 'page-error-slow' | 'object-purged-empty';

/** The fast path (vm_fault.c V8, l.4696-5968). Returns a kern_return_t, or -1 for the slow path. */
function vm_fault_fast(k: Xnu, ctx: FaultCtx): number {
  let cur = ctx.object;
  let curOffset = ctx.offset;
  for (;;) {
    const m = vm_page_lookup(cur, curOffset);
    if (m !== null) {
      if (m.absent || m.busy || m.error) {
        noteFast(k, m.error ? 'page-error-slow' : 'page-absent-slow');
        return -1;
      }
      if (cur === ctx.object && ctx.object.vo_copy === null) {
        noteFast(k, 'resident-in-top-soft-fault');
        return fastPmapEnter(k, ctx, m, null);
      }
      if (!(ctx.faultType & VM_PROT_WRITE)) {
        noteFast(k, 'read-maps-page-readonly');
        ctx.prot &= ~VM_PROT_WRITE;
        return fastPmapEnter(k, ctx, m, null);
      }
      if (cur === ctx.object) {
        noteFast(k, 'write-top-has-copy-object-slow');
        return -1;
      }
      return fastCow(k, ctx, m);
    }
    if (cur.pager?.kind === 'vnode') {
      noteFast(k, 'external-object-slow'); // a file page not in the cache: vm_fault_page asks the vnode pager
      return -1;
    }
    if (vm_compressor_pager_state_get(cur, curOffset) === 'VM_EXTERNAL_STATE_EXISTS') return fastDecompress(k, ctx, cur, curOffset);
    if (cur.shadow === null) return fastZeroFill(k, ctx, cur);
    if (k.trace.enabled) k.trace.emit({ ev: 'decision', fn: 'vm_fault_internal', reason: 'descend-to-shadow', detail: `object#${cur.id} -> object#${cur.shadow.id}, offset += ${hex(cur.vo_shadow_offset)}` });
    curOffset += cur.vo_shadow_offset;
    cur = cur.shadow;
  }
}

/** The fast path's decision event (a function, not a closure: the untraced fault path allocates none). */
function noteFast(k: Xnu, why: FastDecision): void {
  decide(k, 'vm_fault_internal', why);
}

/** V8(c)(iv): copy the backing object's page into a new page of the top object (checklist 30, 31). */
function fastCow(k: Xnu, ctx: FaultCtx, curM: VmPage): number {
  const m = vm_page_grab(k);
  if (m === null) {
    decide(k, 'vm_fault_internal', 'no-free-page-slow');
    return -1;
  }
  decide(k, 'vm_fault_internal', 'cow-into-top-object');
  vm_page_copy(k, curM, m);
  vm_page_insert(k, m, ctx.object, ctx.offset);
  m.dirty = true;
  if (ctx.object.ref_count > 1 && curM.pmapped) pmap_disconnect(k, curM.phys_page);
  ctx.needCollapse = true;
  ctx.type = DBG_COW_FAULT;
  k.stats.cow_faults++;
  if (k.current) k.current.cow_faults++;
  return fastPmapEnter(k, ctx, m, null);
}

/**
 * V8(d) compressor (l.5351-5474): the page is in the compressor. Decompress into a new page of
 * `cur` (a read, or a write at the top), or, for a write below the top, into a new page of the
 * top object keeping the compressed copy for the other sharers (C_KEEP). The page is dirty.
 * DBG_COMPRESSOR_FAULT, decompressions++ (checklist 35).
 */
function fastDecompress(k: Xnu, ctx: FaultCtx, cur: VmObject, curOffset: number): number {
  const m = vm_page_grab(k);
  if (m === null) {
    decide(k, 'vm_fault_internal', 'no-free-page-slow');
    return -1;
  }
  const cow = cur !== ctx.object && (ctx.faultType & VM_PROT_WRITE) !== 0;
  if (k.trace.enabled) decide(k, 'vm_fault_internal', cow ? 'decompress-c-keep-into-top' : 'decompress', `object#${cur.id} offset ${hex(curOffset)}`);
  const kr = vm_compressor_pager_get(k, cur, curOffset, m.phys_page, cow);
  if (kr !== KERN_SUCCESS) {
    vm_page_free(k, m);
    return kr; // KERN_MEMORY_FAILURE is returned as is (checklist 36)
  }
  vm_page_insert(k, m, cow ? ctx.object : cur, cow ? ctx.offset : curOffset);
  m.dirty = true;
  if (cur !== ctx.object && !cow) ctx.prot &= ~VM_PROT_WRITE;
  ctx.type = DBG_COMPRESSOR_FAULT;
  vm_stat_decompressions(k);
  return fastPmapEnter(k, ctx, m, null);
}

/** VM_STAT_DECOMPRESSIONS (vm_fault.c:209): the global and the thread's count. */
function vm_stat_decompressions(k: Xnu): void {
  k.stats.decompressions++;
  if (k.current) k.current.decompressions++;
}

/** V8(d) zero fill (l.5623): a new zeroed page in the TOP object (checklist 32, 33). */
function fastZeroFill(k: Xnu, ctx: FaultCtx, bottom: VmObject): number {
  if (bottom.shadow_severed || !bottom.alive || bottom.purgable === VM_PURGABLE_EMPTY) {
    decide(k, 'vm_fault_internal', bottom.purgable === VM_PURGABLE_EMPTY ? 'object-purged-empty' : 'object-severed'); // checklist 38
    return KERN_MEMORY_ERROR;
  }
  const m = vm_page_grab(k);
  if (m === null) {
    decide(k, 'vm_fault_internal', 'no-free-page-slow');
    return -1;
  }
  decide(k, 'vm_fault_internal', 'zero-fill-in-top-object');
  vm_page_insert(k, m, ctx.object, ctx.offset);
  if (!(ctx.faultType & VM_PROT_WRITE) && ctx.object.vo_copy !== null) ctx.prot &= ~VM_PROT_WRITE;
  ctx.type = ctx.map.no_zero_fill ? DBG_NZF_PAGE_FAULT : DBG_ZERO_FILL_FAULT;
  vm_page_zero_fill(k, m);
  k.stats.zero_fill_count++;
  return fastPmapEnter(k, ctx, m, null);
}

/** FastPmapEnter (l.5033): vm_fault_enter, then vm_fault_complete (collapse, wake the page). */
function fastPmapEnter(k: Xnu, ctx: FaultCtx, m: VmPage, topPage: VmPage | null): number {
  vm_fault_enter(k, m, ctx.pmap, ctx.vaddr, ctx.prot, ctx.faultType, ctx.wired, ctx.type, ctx.changeWiring);
  vm_page_wakeup_done(m);
  if (topPage) vm_page_free(k, topPage);
  if (ctx.needCollapse) vm_object_collapse(k, ctx.object);
  return KERN_SUCCESS;
}

/**
 * vm_fault_enter (l.3975) with vm_fault_enter_prepare (l.3799): a read fault on a page never
 * mapped writable maps it read-only (checklist 28); set pmapped/wpmapped; pmap_enter_options;
 * new COW and zero-fill pages go to the local active queue (checklist 43).
 */
function vm_fault_enter(k: Xnu, m: VmPage, pmap: Pmap, vaddr: number, prot0: number, faultType: number, wired: boolean, type: number, changeWiring: boolean): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_fault_enter', src: `${FILE}:vm_fault_enter (xnu-11417)`, args: { pn: hex(m.phys_page), vaddr: hex(vaddr), prot: protName(prot0), type_of_fault: faultTypeName(type) } });
  let prot = prot0;
  if (!(faultType & VM_PROT_WRITE) && !wired && !m.wpmapped && type !== DBG_ZERO_FILL_FAULT && prot & VM_PROT_WRITE) {
    decide(k, 'vm_fault_enter_prepare', 'read-fault-never-wpmapped-strip-write');
    prot &= ~VM_PROT_WRITE;
  }
  m.pmapped = true;
  if (prot & VM_PROT_EXECUTE) m.xpmapped = true;
  if (faultType & VM_PROT_WRITE) m.wpmapped = true;
  pmap_enter_options(k, pmap, vaddr, m.phys_page, prot, wired);
  if (changeWiring) vm_page_wire(k, m); // vm_fault_enqueue_page: a wiring fault wires
  else if (type === DBG_COW_FAULT || type === DBG_ZERO_FILL_FAULT) vm_page_enqueue_local(k, m);
  else vm_page_activate(k, m);
  leave(k, 'vm_fault_enter');
}

/** The slow path (handle_copy_delay, l.6018): vm_fault_page, error handling (V10), revalidation (V11). */
function vm_fault_slow(k: Xnu, ctx: FaultCtx): number {
  const r = vm_fault_page(k, ctx.object, ctx.offset, ctx.faultType, ctx.map.no_zero_fill, ctx.prot);
  if (r.result === VM_FAULT_MEMORY_SHORTAGE) {
    const ok = vm_page_wait(k);
    decide(k, 'vm_fault_internal', ok ? 'memory-shortage-retry' : 'memory-shortage-aborted');
    return ok ? VM_FAULT_RETRY_KR : KERN_ABORTED;
  }
  if (r.result === VM_FAULT_RETRY) return VM_FAULT_RETRY_KR;
  if (r.result === VM_FAULT_MEMORY_ERROR) return r.errorCode ?? KERN_MEMORY_ERROR;
  if (ctx.map.timestamp !== ctx.version) {
    decide(k, 'vm_fault_internal', 'map-changed-relookup');
    const again = vm_map_lookup_and_lock_object(k, ctx.map, ctx.vaddr, ctx.faultType & ~VM_PROT_WRITE);
    if (again.kr !== KERN_SUCCESS || !('object' in again) || again.object !== ctx.object || again.offset !== ctx.offset) {
      if (r.topPage) vm_page_free(k, r.topPage);
      vm_page_wakeup_done(r.m!);
      return VM_FAULT_RETRY_KR;
    }
    r.prot &= again.prot;
  }
  ctx.prot = r.prot;
  ctx.type = r.type;
  return fastPmapEnter(k, ctx, r.m!, r.topPage);
}

interface FaultPageResult {
  result: number;
  m: VmPage | null;
  topPage: VmPage | null;
  prot: number;
  type: number;
  /** error_code: KERN_MEMORY_FAILURE for a failed decompression, else KERN_MEMORY_ERROR. */
  errorCode?: number;
}

type FaultPageDecision = 'object-dead' | 'found-resident' | 'placeholder-in-top' | 'descend' | 'zero-fill-placeholder' | 'no-page-shortage'
  | 'cow-copy-into-top' | 'read-lower-page-readonly' | 'copy-object-push' | 'copy-object-has-page' | 'read-with-copy-object-readonly'
  | 'compressor-get' | 'decompression-failed' | 'data-request' | 'pager-error' | 'page-error' | 'purged-object-memory-error';

/**
 * vm_fault_page (vm_fault.c:1053): walk the chain holding a busy placeholder in the top object;
 * zero-fill it at the bottom, or copy a lower page up on a write (COW), and push the old contents
 * into the copy object before a write to a COPY_DELAY object's page (P6).
 */
function vm_fault_page(k: Xnu, first: VmObject, firstOffset: number, faultType: number, noZeroFill: boolean, prot0: number): FaultPageResult {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'vm_fault_page', src: `${FILE}:vm_fault_page (xnu-11417)`, args: { first_object: `object#${first.id}`, first_offset: hex(firstOffset), fault_type: protName(faultType) } });
  const out: FaultPageResult = { result: VM_FAULT_SUCCESS, m: null, topPage: null, prot: prot0, type: DBG_CACHE_HIT_FAULT };
  const note = (why: FaultPageDecision, detail?: string): void => decide(k, 'vm_fault_page', why, detail);
  const finish = (result: number): FaultPageResult => {
    out.result = result;
    leave(k, 'vm_fault_page', result === VM_FAULT_SUCCESS ? 'VM_FAULT_SUCCESS' : String(result));
    return out;
  };
  if (!first.alive) {
    note('object-dead');
    return finish(VM_FAULT_MEMORY_ERROR);
  }
  let object = first;
  let offset = firstOffset;
  let firstM: VmPage | null = null;
  let m: VmPage | null;
  for (;;) {
    m = vm_page_lookup(object, offset);
    if (m !== null && m.error) {
      note('page-error', `object#${object.id}: the pager could not supply it`);
      vm_page_free(k, m);
      if (firstM !== null && firstM !== m) vm_page_free(k, firstM);
      out.errorCode = KERN_MEMORY_ERROR;
      return finish(VM_FAULT_MEMORY_ERROR);
    }
    if (m !== null && !m.absent) {
      note('found-resident', `object#${object.id}`);
      break;
    }
    if (object === first && firstM === null) {
      firstM = vm_page_grab(k);
      if (firstM === null) {
        note('no-page-shortage');
        return finish(VM_FAULT_MEMORY_SHORTAGE);
      }
      vm_page_insert(k, firstM, first, firstOffset);
      firstM.absent = true;
      note('placeholder-in-top');
    }
    const paged = vm_fault_page_pager(k, object, offset, object === first ? firstM : null, out, note);
    if (object === first && object.pager?.kind === 'vnode') firstM = null; // the pagein freed the placeholder
    if (paged === 'found') {
      if (object === first) firstM = null; // the placeholder became the page (compressor) or was replaced (pagein)
      m = vm_page_lookup(object, offset)!;
      break;
    }
    if (paged !== 'absent') {
      if (firstM !== null) vm_page_free(k, firstM);
      return finish(paged === 'shortage' ? VM_FAULT_MEMORY_SHORTAGE : VM_FAULT_MEMORY_ERROR);
    }
    if (object.shadow === null && object.purgable === VM_PURGABLE_EMPTY) { // vm_fault_check (l.818)
      note('purged-object-memory-error');
      if (firstM !== null) vm_page_free(k, firstM);
      out.errorCode = KERN_MEMORY_ERROR;
      return finish(VM_FAULT_MEMORY_ERROR);
    }
    if (object.shadow === null) {
      note('zero-fill-placeholder');
      m = vm_fault_zero_page(k, firstM!, noZeroFill, out);
      object = first;
      break;
    }
    note('descend', `object#${object.id} -> object#${object.shadow.id}`);
    offset += object.vo_shadow_offset;
    object = object.shadow;
  }
  if (out.type === DBG_PAGEIN_FAULT) {
    // done: (l.2531) VM_PAGE_COUNT_AS_PAGEIN, and the type says where it came from (checklist 37)
    if (k.current) k.current.pageins++;
    out.type = object.internal ? DBG_PAGEIND_FAULT : DBG_PAGEINV_FAULT;
  }
  if (object !== first) {
    if (faultType & VM_PROT_WRITE) {
      const copyM = vm_page_grab(k);
      if (copyM === null) {
        vm_page_free(k, firstM!);
        note('no-page-shortage');
        return finish(VM_FAULT_MEMORY_SHORTAGE);
      }
      note('cow-copy-into-top');
      vm_page_copy(k, m, copyM);
      if (m.pmapped) pmap_disconnect(k, m.phys_page);
      if (m.busy) { // a page just paged in or decompressed below the top: it stays there, cached
        vm_page_wakeup_done(m);
        vm_page_activate(k, m);
      }
      out.type = DBG_COW_FAULT;
      k.stats.cow_faults++;
      if (k.current) k.current.cow_faults++;
      vm_page_free(k, firstM!);
      vm_page_insert(k, copyM, first, firstOffset);
      copyM.dirty = true;
      m = copyM;
      object = first;
      vm_object_collapse(k, first);
    } else {
      note('read-lower-page-readonly');
      out.prot &= ~VM_PROT_WRITE;
      out.topPage = firstM;
    }
  }
  if (object === first && first.vo_copy !== null && !copyObjectPush(k, first, firstOffset, m, faultType, out, note)) {
    if (m.busy) { // keep the page (just paged in or decompressed) cached; the retry finds it
      vm_page_wakeup_done(m);
      vm_page_activate(k, m);
    }
    note('no-page-shortage');
    return finish(VM_FAULT_MEMORY_SHORTAGE);
  }
  out.m = m;
  return finish(out.result);
}

/**
 * P3 (l.1700-1990): no resident page at this level; ask the pager if there is one that has it.
 * Internal: vm_compressor_pager_get into the placeholder (or a new page of this object), dirty,
 * DBG_COMPRESSOR_FAULT; a corrupt slot is KERN_MEMORY_FAILURE. External: the placeholder is
 * freed and memory_object_data_request pages the data in (type DBG_PAGEIN_FAULT for now).
 */
function vm_fault_page_pager(k: Xnu, object: VmObject, offset: number, placeholder: VmPage | null, out: FaultPageResult, note: (w: FaultPageDecision, d?: string) => void): 'found' | 'absent' | 'shortage' | 'error' {
  if (object.pager === null) return 'absent';
  if (object.pager.kind === 'compressor') {
    if (vm_compressor_pager_state_get(object, offset) !== 'VM_EXTERNAL_STATE_EXISTS') return 'absent';
    const m = placeholder ?? vm_page_grab(k);
    if (m === null) return 'shortage';
    note('compressor-get', `object#${object.id} offset ${hex(offset)}`);
    const kr = vm_compressor_pager_get(k, object, offset, m.phys_page, false);
    if (kr !== KERN_SUCCESS) {
      note('decompression-failed');
      if (placeholder === null) vm_page_free(k, m);
      out.errorCode = KERN_MEMORY_FAILURE;
      return 'error';
    }
    if (placeholder === null) vm_page_insert(k, m, object, offset);
    m.absent = false;
    m.dirty = true;
    out.type = DBG_COMPRESSOR_FAULT;
    vm_stat_decompressions(k);
    return 'found';
  }
  if (placeholder !== null) vm_page_free(k, placeholder);
  note('data-request', `object#${object.id} offset ${hex(offset)}`);
  const r = memory_object_data_request(k, object, offset);
  if (r === 'shortage') return 'shortage';
  if (r === 'error') {
    const m = vm_page_lookup(object, offset);
    note('pager-error');
    if (m) vm_page_free(k, m);
    out.errorCode = KERN_MEMORY_ERROR;
    return 'error';
  }
  out.type = DBG_PAGEIN_FAULT;
  return 'found';
}

/** P6 (l.2300): before the first write to a page of an object with a copy object, give the copy the old data. */
function copyObjectPush(k: Xnu, first: VmObject, offset: number, m: VmPage, faultType: number, out: FaultPageResult, note: (w: FaultPageDecision, d?: string) => void): boolean {
  if (!(faultType & VM_PROT_WRITE)) {
    note('read-with-copy-object-readonly');
    out.prot &= ~VM_PROT_WRITE;
    return true;
  }
  const copy = first.vo_copy!;
  const copyOffset = offset - copy.vo_shadow_offset;
  if (vm_page_lookup(copy, copyOffset) !== null || vm_compressor_pager_state_get(copy, copyOffset) === 'VM_EXTERNAL_STATE_EXISTS') {
    note('copy-object-has-page');
    return true;
  }
  const copyM = vm_page_grab(k);
  if (copyM === null) return false; // VM_FAULT_MEMORY_SHORTAGE: wait for pages and retry
  note('copy-object-push', `object#${first.id} page -> copy object#${copy.id}`);
  vm_page_copy(k, m, copyM);
  vm_page_insert(k, copyM, copy, copyOffset);
  if (m.pmapped) pmap_disconnect(k, m.phys_page);
  copyM.dirty = true;
  vm_page_activate(k, copyM);
  vm_page_wakeup_done(copyM);
  return true;
}

/** vm_fault_zero_page (l.915): the placeholder becomes a zeroed page; zero_fill_count++ (l.951). */
function vm_fault_zero_page(k: Xnu, m: VmPage, noZeroFill: boolean, out: FaultPageResult): VmPage {
  m.absent = false;
  m.pmapped = true;
  if (!noZeroFill) vm_page_zero_fill(k, m);
  k.stats.zero_fill_count++;
  out.type = noZeroFill ? DBG_NZF_PAGE_FAULT : DBG_ZERO_FILL_FAULT;
  return m;
}
