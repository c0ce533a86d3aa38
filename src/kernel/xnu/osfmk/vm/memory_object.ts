// Memory objects (pagers) and the request the fault path sends them (osfmk/vm/memory_object.c,
// osfmk/mach/memory_object_types.h; xnu-11417.121.6). Two pagers exist in the model: the vnode
// pager of a file's object (bsd/vm/vnode_pager.c) and the compressor pager an internal object
// gets at its first compression (osfmk/vm/vm_compressor_pager.c).
// Simplified: no Mach ports, no pager_control, no cluster (one page per request), no swap pager.

import type { Vnode } from '../../bsd/vfs/vfs_subr.js';
import { vnode_pager_data_request } from '../../bsd/vm/vnode_pager.js';
import type { Xnu } from '../../xnu.js';
import type { CSlot } from './vm_compressor.js';
import type { VmObject } from './vm_object.js';

/** A vnode pager (vnode_pager_t) or a compressor pager (compressor_pager_t, its slot table by offset). */
export type MemoryObject = { kind: 'vnode'; vnode: Vnode } | { kind: 'compressor'; slots: Map<number, CSlot> };

/** What a data request returned: the page is in the object now, the pager failed (an I/O error or past EOF), or no page was free. */
export type DataRequestResult = 'ok' | 'error' | 'shortage';

/**
 * memory_object_data_request (memory_object.c) as vm_fault_page sends it for one page of an
 * external object (vm_fault.c:1947): the pager fills the page and inserts it into `object`.
 */
export function memory_object_data_request(k: Xnu, object: VmObject, offset: number): DataRequestResult {
  const pager = object.pager;
  if (pager === null || pager.kind !== 'vnode') throw new Error('model bug: memory_object_data_request on an object without a vnode pager');
  return vnode_pager_data_request(k, pager.vnode, object, offset);
}
