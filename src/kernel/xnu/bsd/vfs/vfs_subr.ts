// The simulated file system under the vnode pager (bsd/vfs/vfs_subr.c, bsd/kern/ubc_subr.c;
// xnu-11417.121.6): a vnode is a regular file with a size and its bytes on "disk" (the backing
// store), and the vm_object that caches its pages (ubc_info->ui_control, made by ubc_info_init
// with the vnode pager and the COPY_DELAY strategy). `vfs_purge` is what `purge(8)` runs: every
// file's cached pages are written back if dirty, unmapped and freed.
// Simplified: one flat namespace, no directories, no buffer cache besides the vm_object (the UBC
// *is* the page cache, as on macOS), no file locks, no F_NOCACHE.

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import { vm_object_allocate, MEMORY_OBJECT_COPY_DELAY, type VmObject } from '../../osfmk/vm/vm_object.js';
import { pmap_disconnect, pmap_get_refmod, VM_MEM_MODIFIED } from '../../osfmk/x86_64/pmap.js';
import { vm_page_free } from '../../osfmk/vm/vm_page.js';
import { vnode_pageout } from '../vm/vnode_pager.js';

const FILE = 'bsd/vfs/vfs_subr.c';

export interface Vnode {
  readonly v_id: number;
  readonly v_name: string;
  /** ubc_info->ui_size: the file size in bytes. */
  size: number;
  /** The file's bytes on disk. */
  data: Uint8Array;
  /** ubc_info->ui_control's object: the page cache of this file (created at the first mapping or read). */
  object: VmObject | null;
}

/** Create or replace a regular file (the scenario's `file:` step; vn_create + write, simplified). */
export function vnode_create(k: Xnu, name: string, data: Uint8Array): Vnode {
  enter(k, 'vnode_create', FILE, k.trace.enabled ? { name, size: hex(data.length) } : undefined);
  const old = k.vnodes.get(name);
  if (old?.object) vnode_drop_pages(k, old);
  const vp: Vnode = { v_id: k.vnodes.size + 1, v_name: name, size: data.length, data, object: null };
  k.vnodes.set(name, vp);
  leave(k, 'vnode_create', `vnode#${vp.v_id}`);
  return vp;
}

/**
 * ubc_getobject / ubc_info_init (ubc_subr.c): the file's vm_object, made on first use: external
 * (not internal), COPY_DELAY, with the vnode pager; UBC holds one reference for the vnode.
 */
export function ubc_getobject(k: Xnu, vp: Vnode): VmObject {
  if (vp.object) return vp.object;
  const o = vm_object_allocate(k, Math.ceil(vp.size / 4096) * 4096);
  o.internal = false;
  o.copy_strategy = MEMORY_OBJECT_COPY_DELAY;
  o.pager = { kind: 'vnode', vnode: vp };
  o.pager_created = true;
  decide(k, 'ubc_info_init', 'vnode-object-created', `vnode#${vp.v_id} '${vp.v_name}' -> object#${o.id} (external, COPY_DELAY, vnode pager)`);
  vp.object = o;
  return o;
}

/** Unmap every cached page, write it back if dirty, and free it. */
function vnode_drop_pages(k: Xnu, vp: Vnode): number {
  const o = vp.object;
  if (!o) return 0;
  let n = 0;
  for (const m of [...o.memq.values()]) {
    if (m.pmapped && pmap_get_refmod(k, m.phys_page) & VM_MEM_MODIFIED) m.dirty = true; // written through a PTE
    if (m.pmapped) pmap_disconnect(k, m.phys_page);
    vnode_pageout(k, vp, m);
    vm_page_free(k, m);
    n++;
  }
  return n;
}

type PurgeDecision = 'pages-dropped';

/**
 * vfs_purge (vfs_subr.c, the `purge` command; the scenario's `drop_caches`): ubc_msync with
 * UBC_PUSHALL|UBC_INVALIDATE on every vnode, so dirty pages go to disk and every cached page is
 * unmapped and freed; the next access to the file is a pagein again.
 */
export function vfs_purge(k: Xnu): number {
  enter(k, 'vfs_purge', FILE);
  let n = 0;
  for (const vp of k.vnodes.values()) n += vnode_drop_pages(k, vp);
  decide(k, 'vfs_purge', 'pages-dropped' satisfies PurgeDecision, `${n} page(s)`);
  leave(k, 'vfs_purge', String(n));
  return n;
}
