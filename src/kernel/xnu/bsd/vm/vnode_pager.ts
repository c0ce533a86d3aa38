// The vnode pager (bsd/vm/vnode_pager.c, bsd/vm/vm_unix.c; xnu-11417.121.6): a data request
// reads one page of the file from disk into a new page of the file's vm_object (vnode_pagein ->
// VNOP_PAGEIN -> cluster_pagein); a page that starts at or past EOF cannot be read (cluster_pagein
// aborts the UPL with UPL_ABORT_ERROR), so the page comes back marked in error and the fault
// fails with KERN_MEMORY_ERROR (SIGBUS); the tail of the EOF page reads zeros. vnode_pageout
// writes a dirty page back (not past EOF).
// Simplified: one page per request (no clustering, no read-ahead), synchronous I/O.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import type { DataRequestResult } from '../../osfmk/vm/memory_object.js';
import type { VmObject } from '../../osfmk/vm/vm_object.js';
import { vm_page_deactivate, vm_page_grab, vm_page_insert, type VmPage } from '../../osfmk/vm/vm_page.js';
import type { Vnode } from '../vfs/vfs_subr.js';

const FILE = 'bsd/vm/vnode_pager.c';

type PageinDecision = 'read-from-disk' | 'past-eof-error' | 'no-free-page';

/** vnode_pager_data_request -> vnode_pager_cluster_read -> vnode_pagein, for one page. */
export function vnode_pager_data_request(k: Xnu, vp: Vnode, object: VmObject, offset: number): DataRequestResult {
  enter(k, 'vnode_pager_data_request', FILE, k.trace.enabled ? { vnode: `vnode#${vp.v_id} '${vp.v_name}'`, offset: hex(offset), length: '0x1000' } : undefined);
  const m = vm_page_grab(k);
  if (m === null) {
    decide(k, 'vnode_pagein', 'no-free-page' satisfies PageinDecision);
    leave(k, 'vnode_pager_data_request', 'KERN_RESOURCE_SHORTAGE');
    return 'shortage';
  }
  vm_page_insert(k, m, object, offset);
  if (offset >= vp.size) {
    if (k.trace.enabled) decide(k, 'vnode_pagein', 'past-eof-error' satisfies PageinDecision, `offset ${hex(offset)} >= file size ${hex(vp.size)}: UPL_ABORT_ERROR`);
    m.error = true;
    leave(k, 'vnode_pager_data_request', 'KERN_SUCCESS');
    return 'error';
  }
  const n = Math.min(4096, vp.size - offset);
  if (k.trace.enabled) decide(k, 'vnode_pagein', 'read-from-disk' satisfies PageinDecision, `${n} byte(s) from '${vp.v_name}'${n < 4096 ? `, ${4096 - n} zero byte(s) past EOF` : ''}`);
  k.m.mem.zeroFrame(m.phys_page);
  const base = m.phys_page * 4096;
  const d = vp.data;
  for (let i = 0; i < n; i += 4) {
    const at = offset + i;
    const w = i + 4 <= n ? (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0
      : d.subarray(at, offset + n).reduceRight((acc, b) => ((acc << 8) | b) >>> 0, 0);
    if (w !== 0) k.m.mem.write32(base + i, w);
  }
  k.io.reads++;
  k.stats.pageins++; // the global vm_statistics pageins: counted at I/O completion (vm_pageout.c:6409)
  leave(k, 'vnode_pager_data_request', 'KERN_SUCCESS');
  return 'ok';
}

/** vnode_pageout (vnode_pager.c): write a dirty page (or one dirtied through a PTE) back to the file, never past EOF. */
export function vnode_pageout(k: Xnu, vp: Vnode, m: VmPage): boolean {
  if (!m.dirty) return false;
  const offset = m.vmp_offset;
  const n = Math.min(4096, vp.size - offset);
  enter(k, 'vnode_pageout', FILE, k.trace.enabled ? { vnode: `vnode#${vp.v_id} '${vp.v_name}'`, offset: hex(offset), bytes: String(Math.max(0, n)) } : undefined);
  const base = m.phys_page * 4096;
  for (let i = 0; i < n; i++) vp.data[offset + i] = k.m.mem.read8(base + i);
  m.dirty = false;
  k.io.writes++;
  k.stats.pageouts++;
  leave(k, 'vnode_pageout');
  return true;
}

/**
 * A read(2)/pread(2) of the file through the UBC (cluster_read, simplified to one page): the
 * cached page if resident, else a pagein into the file's object. Returns the bytes or an error.
 */
export function vnode_read(k: Xnu, vp: Vnode, object: VmObject, offset: number, size: number): bigint | 'shortage' | 'eof' {
  if (offset >= vp.size) return 'eof';
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) {
    const at = offset + i;
    if (at >= vp.size) {
      v <<= 8n;
      continue;
    }
    const page = at - (at % 4096);
    let m = object.memq.get(page);
    if (!m) {
      const r = vnode_pager_data_request(k, vp, object, page);
      if (r !== 'ok') return r === 'shortage' ? 'shortage' : 'eof';
      m = object.memq.get(page)!;
      m.busy = false;
      vm_page_deactivate(k, m); // read(2) pages are not mapped: they start on the inactive queue
    }
    v = (v << 8n) | BigInt(k.m.mem.read8(m.phys_page * 4096 + (at % 4096)));
  }
  return v;
}
