// The VMA set of an mm and its edits. 5.19 (mm/mmap.c): an rbtree keyed by vm_start, the sorted
// vm_next/vm_prev list and the per-thread vmacache; 6.x (mm/mmap.c, 6.12+ mm/vma.c): the maple
// tree alone. Here: find_vma, vma_lookup, find_vma_intersection, link/unlink, vm_area_alloc/dup,
// vma_set_page_prot, vma_merge (5.19's eight cases) and split_vma.

import {
  VM_ACCESS_FLAGS, VM_GROWSDOWN, VM_IGNORE_MERGE, VM_MAYWRITE, VM_SHARED, VM_WRITE, type AnonVma, type MmStruct, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { protection_map, type Pgprot } from '../arch/x86/include/asm/pgtable_types.js';
import { mt_entries, mt_find, mt_prev, mtree_erase, mtree_insert_range } from '../lib/maple_tree.js';
import { rb_erase, rb_insert_color, rb_link_node, rb_new_node, type RbNode } from '../lib/rbtree.js';
import { decision, enter, leave, srcOf } from './mmtrace.js';
import type { Kernel } from '../types.js';
import { ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import { mmglobals } from './mm_init.js';
import { anon_vma_clone, unlink_anon_vmas } from './rmap.js';
import { shmem_vma_close } from './shmem.js';

const VMACACHE_SIZE = 4;

// --- lookup ----------------------------------------------------------------------------------

/** vmacache_find (mm/vmacache.c, 5.19): a hit if one of the 4 cached VMAs contains addr. */
function vmacache_find(mm: MmStruct, addr: number): VmAreaStruct | null {
  if (mm.vmacache_seq !== mm.vmacache_seqnum) {
    mm.vmacache_seq = mm.vmacache_seqnum;
    mm.vmacache.fill(null);
    return null;
  }
  for (let i = 0; i < VMACACHE_SIZE; i++) {
    const v = mm.vmacache[i]!;
    if (v !== null && v.vm_start <= addr && v.vm_end > addr) return v;
  }
  return null;
}

/** find_vma (mm/mmap.c): the lowest VMA with vm_end > addr (it may start above addr), or null. */
export function find_vma(k: Kernel, mm: MmStruct, addr: number): VmAreaStruct | null {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'find_vma', 'mm/mmap.c');
  let vma: VmAreaStruct | null;
  if (mm.mm_mt) {
    vma = mt_find(mm.mm_mt, addr, Number.MAX_SAFE_INTEGER); // mt_find(&mm->mm_mt, &index, ULONG_MAX)
  } else {
    vma = vmacache_find(mm, addr);
    if (vma !== null) {
      if (tr) decision(k, 'find_vma', 'vmacache-hit');
    } else {
      let n = mm.mm_rb!.rb_node;
      while (n) {
        const t = n.value;
        if (t.vm_end > addr) {
          vma = t;
          if (t.vm_start <= addr) break;
          n = n.left;
        } else n = n.right;
      }
      if (vma) mm.vmacache[Math.floor(addr / 4096) & (VMACACHE_SIZE - 1)] = vma; // vmacache_update
    }
  }
  if (tr) leave(k, 'find_vma', vma ? `[${vma.vm_start.toString(16)}, ${vma.vm_end.toString(16)})` : 'NULL');
  return vma;
}

/** vma_lookup: the VMA containing addr, or null. */
export function vma_lookup(k: Kernel, mm: MmStruct, addr: number): VmAreaStruct | null {
  const vma = find_vma(k, mm, addr);
  return vma && vma.vm_start <= addr ? vma : null;
}

/** find_vma_intersection: the first VMA overlapping [start, end). */
export function find_vma_intersection(k: Kernel, mm: MmStruct, start: number, end: number): VmAreaStruct | null {
  const vma = find_vma(k, mm, start);
  return vma && vma.vm_start < end ? vma : null;
}

/** The VMA after `vma` (5.19 vm_next; 6.x vma_next / mas_find). */
export function vma_next(mm: MmStruct, vma: VmAreaStruct): VmAreaStruct | null {
  return mm.mm_mt ? mt_find(mm.mm_mt, vma.vm_end, Number.MAX_SAFE_INTEGER) : vma.vm_next;
}

/** The VMA before `vma`, or the last VMA when `vma` is null (5.19 vm_prev; 6.x mas_prev). */
export function vma_prev(mm: MmStruct, vma: VmAreaStruct | null): VmAreaStruct | null {
  if (mm.mm_mt) return mt_prev(mm.mm_mt, vma ? vma.vm_start : Number.MAX_SAFE_INTEGER);
  if (vma) return vma.vm_prev;
  let v = mm.mmap;
  while (v && v.vm_next) v = v.vm_next;
  return v;
}

/** for_each_vma: every VMA in address order (a snapshot, safe against edits). */
export function vmas_of(mm: MmStruct): VmAreaStruct[] {
  if (mm.mm_mt) return mt_entries(mm.mm_mt);
  const out: VmAreaStruct[] = [];
  for (let v = mm.mmap; v; v = v.vm_next) out.push(v);
  return out;
}

// --- link / unlink -----------------------------------------------------------------------------

/** vma_link: insert into the tree (and 5.19's list); map_count++. */
export function vma_link(mm: MmStruct, vma: VmAreaStruct): void {
  tree_insert(mm, vma);
  mm.map_count++;
}

function tree_insert(mm: MmStruct, vma: VmAreaStruct): void {
  if (mm.mm_mt) {
    mtree_insert_range(mm.mm_mt, vma.vm_start, vma.vm_end - 1, vma);
    return;
  }
  // __vma_link_rb: find the rb position by vm_start; __vma_link_list: splice after the predecessor.
  const root = mm.mm_rb!;
  let parent: RbNode<VmAreaStruct> | null = null;
  let left = false;
  let prev: VmAreaStruct | null = null;
  let n = root.rb_node;
  while (n) {
    parent = n;
    if (vma.vm_start < n.value.vm_start) { left = true; n = n.left; } else { prev = n.value; left = false; n = n.right; }
  }
  const node = rb_new_node(vma);
  vma.vm_rb = node;
  rb_link_node(root, node, parent, left);
  rb_insert_color(root, node);
  const next = prev ? prev.vm_next : mm.mmap;
  vma.vm_prev = prev;
  vma.vm_next = next;
  if (prev) prev.vm_next = vma;
  else mm.mmap = vma;
  if (next) next.vm_prev = vma;
}

function tree_remove(mm: MmStruct, vma: VmAreaStruct): void {
  if (mm.mm_mt) {
    if (mtree_erase(mm.mm_mt, vma.vm_start) !== vma) throw new Error('tree_remove: VMA not in the maple tree');
    return;
  }
  rb_erase(mm.mm_rb!, vma.vm_rb!);
  vma.vm_rb = null;
  if (vma.vm_prev) vma.vm_prev.vm_next = vma.vm_next;
  else mm.mmap = vma.vm_next;
  if (vma.vm_next) vma.vm_next.vm_prev = vma.vm_prev;
  vma.vm_next = vma.vm_prev = null;
  mm.vmacache_seqnum++; // vmacache_invalidate
}

/** Detach a VMA from the mm (its pages must already be zapped); map_count--. */
export function vma_unlink(mm: MmStruct, vma: VmAreaStruct): void {
  tree_remove(mm, vma);
  mm.map_count--;
}

/** Change a linked VMA's range in place (the tree is re-keyed: 5.19 __vma_adjust, 6.x vma_iter_store). */
export function vma_set_range(mm: MmStruct, vma: VmAreaStruct, start: number, end: number, pgoff: number): void {
  tree_remove(mm, vma);
  vma.vm_start = start;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
  tree_insert(mm, vma);
}

// --- construction ----------------------------------------------------------------------------

/** vm_area_alloc (kernel/fork.c). */
export function vm_area_alloc(mm: MmStruct, start: number, end: number, flags: number, pgoff: number): VmAreaStruct {
  return {
    vm_start: start, vm_end: end, vm_flags: flags, vm_pkey: 0, vm_page_prot: protection_map[flags & 0xf]!, vm_pgoff: pgoff,
    anon_vma: null, anon_vma_chain: [], vm_ops: null, vm_file: null, vm_mm: mm, vm_next: null, vm_prev: null, vm_rb: null,
    vm_lock_readers: 0, vm_lock_seq: -1,
  };
}

/** vm_area_dup (kernel/fork.c): a copy for `mm` (anon_vma chain left to anon_vma_clone / anon_vma_fork). */
export function vm_area_dup(vma: VmAreaStruct, mm: MmStruct = vma.vm_mm): VmAreaStruct {
  const n = vm_area_alloc(mm, vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_pgoff);
  n.vm_pkey = vma.vm_pkey;
  n.vm_page_prot = vma.vm_page_prot;
  n.vm_ops = vma.vm_ops;
  n.vm_file = vma.vm_file;
  if (n.vm_file) n.vm_file.mappers++;
  return n;
}

/** vm_get_page_prot + arch_vm_get_page_prot: protection_map plus the pkey bits. */
export function vm_get_page_prot(flags: number, pkey: number): Pgprot {
  const p = protection_map[flags & 0xf]!;
  return pkey ? { lo: p.lo, hi: p.hi | (pkey << 27) } : p;
}

/**
 * vma_wants_writenotify: a shared writable mapping of a disk file (its vm_ops has page_mkwrite);
 * never anonymous or shmem VMAs (no page_mkwrite, no writeback; VM_SOFTDIRTY is set).
 */
export function vma_wants_writenotify(vma: VmAreaStruct): boolean {
  return (vma.vm_flags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED) && vma.vm_ops === 'filemap';
}

/** vma_set_page_prot (mm/mmap.c): vm_page_prot from vm_flags (the private protection if writenotify). */
export function vma_set_page_prot(vma: VmAreaStruct): void {
  const flags = vma_wants_writenotify(vma) ? vma.vm_flags & ~VM_SHARED : vma.vm_flags;
  vma.vm_page_prot = vm_get_page_prot(flags, vma.vm_pkey);
}

export const vma_is_anonymous = (vma: VmAreaStruct): boolean => vma.vm_ops === null;
export const vma_is_accessible = (vma: VmAreaStruct): boolean => (vma.vm_flags & VM_ACCESS_FLAGS) !== 0;
export const vma_pages = (vma: VmAreaStruct): number => (vma.vm_end - vma.vm_start) / 4096;
/** is_cow_mapping: private and may become writable. */
export const is_cow_mapping = (flags: number): boolean => (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;

/** vm_start_gap: a GROWSDOWN VMA keeps stack_guard_gap free below it. */
export function vm_start_gap(k: Kernel, vma: VmAreaStruct): number {
  let start = vma.vm_start;
  if (vma.vm_flags & VM_GROWSDOWN) {
    start -= mmglobals(k).stack_guard_gap;
    if (start > vma.vm_start) start = 0;
  }
  return start < 0 ? 0 : start;
}

// --- merge -------------------------------------------------------------------------------------

/** is_mergeable_anon_vma: either side without an anon_vma merges if the VMA's chain is not shared by a fork. */
function is_mergeable_anon_vma(a1: AnonVma | null, a2: AnonVma | null, vma: VmAreaStruct | null): boolean {
  if ((!a1 || !a2) && (!vma || vma.anon_vma_chain.length <= 1)) return true;
  return a1 === a2;
}

function is_mergeable_vma(vma: VmAreaStruct, flags: number, file: unknown, pkey: number): boolean {
  return ((vma.vm_flags ^ flags) & ~VM_IGNORE_MERGE) === 0 && vma.vm_file === file && vma.vm_pkey === pkey;
}

/** The description of a range that wants to join its neighbours. */
export interface MergeCand {
  flags: number;
  pkey: number;
  anon_vma: AnonVma | null;
  file: VmAreaStruct['vm_file'];
  pgoff: number;
}

function can_merge_after(prev: VmAreaStruct, c: MergeCand): boolean {
  return is_mergeable_vma(prev, c.flags, c.file, c.pkey) && is_mergeable_anon_vma(c.anon_vma, prev.anon_vma, prev) &&
    prev.vm_pgoff + vma_pages(prev) === c.pgoff;
}

function can_merge_before(next: VmAreaStruct, c: MergeCand, pglen: number): boolean {
  return is_mergeable_vma(next, c.flags, c.file, c.pkey) && is_mergeable_anon_vma(c.anon_vma, next.anon_vma, next) &&
    next.vm_pgoff === c.pgoff + pglen;
}

/** Remove `gone`, which `keep` has absorbed (the tail of __vma_adjust's remove_next). */
function absorb(k: Kernel, mm: MmStruct, keep: VmAreaStruct, gone: VmAreaStruct): void {
  vma_unlink(mm, gone);
  if (!keep.anon_vma && gone.anon_vma) { // the importer takes the anon_vma
    keep.anon_vma = gone.anon_vma;
    keep.anon_vma_chain = gone.anon_vma_chain;
    gone.anon_vma_chain = [];
    gone.anon_vma = null;
  } else {
    unlink_anon_vmas(k, gone);
  }
  if (gone.vm_file) shmem_vma_close(k, gone);
}

type MergeCase = 'no-merge' | 'merge-prev' | 'merge-prev-next' | 'merge-next' | 'shrink-prev-into-next';

/**
 * vma_merge (5.19 mm/mmap.c; 6.18 vma_merge_new_range / vma_modify in mm/vma.c): can
 * [addr, end) with these properties join `prev` (the VMA ending at or before addr) and/or the VMA
 * at `end`? Returns the VMA that now covers the range, or null. The range [addr, end) is either
 * unmapped (a new mapping) or lies inside `prev`'s successor (mprotect/madvise/mlock on part of it).
 */
export function vma_merge(k: Kernel, mm: MmStruct, prev: VmAreaStruct | null, addr: number, end: number, c: MergeCand, existing = false): VmAreaStruct | null {
  const fn = k.version === '5.19' ? 'vma_merge' : existing ? 'vma_merge_existing_range' : 'vma_merge_new_range';
  enter(k, fn, srcOf(k, 'mm/mmap.c', 'mm/vma.c'));
  const pglen = (end - addr) / 4096;
  let next = prev ? vma_next(mm, prev) : (mm.mm_mt ? mt_find(mm.mm_mt, 0, Number.MAX_SAFE_INTEGER) : mm.mmap);
  const area = next;
  if (area && area.vm_end === end) next = vma_next(mm, area); // cases 6, 7, 8: the range is all of `area`
  let how: MergeCase = 'no-merge';
  let ret: VmAreaStruct | null = null;
  if (prev && prev.vm_end === addr && can_merge_after(prev, c)) {
    if (next && end === next.vm_start && can_merge_before(next, c, pglen) && is_mergeable_anon_vma(prev.anon_vma, next.anon_vma, null)) {
      how = 'merge-prev-next';
      const nend = next.vm_end;
      if (area && area !== next && area.vm_start >= addr && area.vm_end <= end) absorb(k, mm, prev, area);
      absorb(k, mm, prev, next);
      vma_set_range(mm, prev, prev.vm_start, nend, prev.vm_pgoff);
    } else {
      how = 'merge-prev';
      if (area && area.vm_start >= addr && area.vm_end === end && area !== prev) absorb(k, mm, prev, area);
      else if (area && area.vm_start === addr && area.vm_end > end) vma_set_range(mm, area, end, area.vm_end, area.vm_pgoff + pglen);
      vma_set_range(mm, prev, prev.vm_start, end, prev.vm_pgoff);
    }
    ret = prev;
  } else if (next && end === next.vm_start && can_merge_before(next, c, pglen)) {
    if (prev && addr < prev.vm_end) {
      how = 'shrink-prev-into-next'; // case 4
      vma_set_range(mm, prev, prev.vm_start, addr, prev.vm_pgoff);
      vma_set_range(mm, next, addr, next.vm_end, next.vm_pgoff - pglen);
      if (!next.anon_vma && prev.anon_vma) anon_vma_clone(next, prev);
      ret = next;
    } else {
      how = 'merge-next'; // cases 3, 8
      if (area && area !== next && area.vm_start === addr && area.vm_end === end) absorb(k, mm, next, area);
      vma_set_range(mm, next, addr, next.vm_end, next.vm_pgoff - pglen);
      ret = next;
    }
  }
  decision(k, fn, how);
  leave(k, fn, ret ? 'vma' : 'NULL');
  return ret;
}

/**
 * __split_vma (mm/mmap.c; 6.18 mm/vma.c): cut `vma` at addr; the new VMA takes the part below
 * (new_below) or above. Returns the new VMA, or -ENOMEM past max_map_count.
 */
export function split_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct, addr: number, new_below: boolean): VmAreaStruct | number {
  enter(k, '__split_vma', srcOf(k, 'mm/mmap.c', 'mm/vma.c'));
  if (mm.map_count >= mmglobals(k).sysctl_max_map_count) {
    decision(k, '__split_vma', 'max-map-count');
    leave(k, '__split_vma', '-ENOMEM');
    return -ENOMEM;
  }
  const n = vm_area_dup(vma);
  anon_vma_clone(n, vma);
  const off = (addr - vma.vm_start) / 4096;
  if (new_below) {
    n.vm_end = addr;
    vma_set_range(mm, vma, addr, vma.vm_end, vma.vm_pgoff + off);
  } else {
    n.vm_start = addr;
    n.vm_pgoff = vma.vm_pgoff + off;
    vma_set_range(mm, vma, vma.vm_start, addr, vma.vm_pgoff);
  }
  vma_link(mm, n);
  leave(k, '__split_vma', '0');
  return n;
}


/**
 * The merge-or-split step shared by mprotect_fixup, mlock_fixup and madvise_update_vma (6.18:
 * vma_modify_flags): returns the VMA that covers exactly [start, end) of `vma` (or more, if it merged
 * with a neighbour of equal flags), or -ENOMEM. The caller then sets the new flags on it.
 */
export function vma_modify_flags(k: Kernel, mm: MmStruct, prev: VmAreaStruct | null, vma: VmAreaStruct, start: number, end: number, newflags: number, pkey = vma.vm_pkey): VmAreaStruct | number {
  const six = k.version !== '5.19';
  if (six) enter(k, 'vma_modify_flags', 'mm/vma.c');
  const pgoff = vma.vm_pgoff + (start - vma.vm_start) / 4096;
  const merged = vma_merge(k, mm, prev, start, end, { flags: newflags, pkey, anon_vma: vma.anon_vma, file: vma.vm_file, pgoff }, true);
  let ret: VmAreaStruct | number = merged ?? vma;
  if (!merged && start !== vma.vm_start) {
    const r = split_vma(k, mm, vma, start, true);
    if (typeof r === 'number') ret = r;
  }
  if (!merged && typeof ret !== 'number' && end !== vma.vm_end) {
    const r = split_vma(k, mm, vma, end, false);
    if (typeof r === 'number') ret = r;
  }
  if (six) leave(k, 'vma_modify_flags', typeof ret === 'number' ? String(ret) : 'vma');
  return ret;
}
