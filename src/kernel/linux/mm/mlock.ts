// mlock, mlock2, munlock, mlockall, munlockall (mm/mlock.c, 5.19 and 6.18): set or clear
// VM_LOCKED (and VM_LOCKONFAULT) on the VMAs of a range (mlock_fixup merges or splits like
// mprotect), account locked_vm, then populate (__mm_populate; VM_LOCKONFAULT VMAs are skipped).
// RLIMIT_MEMLOCK applies only without CAP_IPC_LOCK (mmglobals(k).cap_ipc_lock). Simplified: pages
// are not marked PG_mlocked and there is no unevictable LRU.

import {
  VM_DONTEXPAND, VM_HUGETLB, VM_IO, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, VM_MIXEDMAP, VM_PFNMAP, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { EAGAIN, EFAULT, EINVAL, ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT } from '../include/uapi/asm-generic/mman-common.js';
import type { Kernel } from '../types.js';
import { __mm_populate, mm_populate } from './gup.js';
import { mmglobals, rlimit } from './mm_init.js';
import { decision, enter, leave } from './mmtrace.js';
import { find_vma, vma_modify_flags, vma_next, vma_prev, vmas_of } from './vma.js';

const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

/** mlock_fixup: lock or unlock [start, end) of one VMA and account locked_vm. The VMA (new prev), or -errno. */
function mlock_fixup(k: Kernel, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, newflags: number): VmAreaStruct | number {
  const old = vma.vm_flags;
  if (newflags === old || old & (VM_SPECIAL | VM_HUGETLB)) return vma;
  const r = vma_modify_flags(k, vma.vm_mm, prev, vma, start, end, newflags);
  if (typeof r === 'number') return r;
  let nr = (end - start) / 4096;
  if (!(newflags & VM_LOCKED)) nr = -nr;
  else if (old & VM_LOCKED) nr = 0;
  vma.vm_mm.locked_vm += nr;
  r.vm_flags = newflags;
  return r;
}

/** apply_vma_lock_flags: mlock_fixup over the VMAs of [start, start+len); a hole → -ENOMEM. */
function apply_vma_lock_flags(k: Kernel, start: number, len: number, flags: number): number {
  const end = start + len;
  if (end === start) return 0;
  const mm = k.current.mm!;
  let vma = find_vma(k, mm, start);
  if (!vma || vma.vm_start > start) return -ENOMEM;
  let prev = start > vma.vm_start ? vma : vma_prev(mm, vma);
  for (let nstart = start; ;) {
    const newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | flags;
    const tmp = Math.min(vma.vm_end, end);
    const r = mlock_fixup(k, vma, prev, nstart, tmp, newflags);
    if (typeof r === 'number') return r;
    prev = r;
    nstart = tmp;
    if (nstart < prev.vm_end) nstart = prev.vm_end;
    if (nstart >= end) return 0;
    const next = vma_next(mm, prev);
    if (!next || next.vm_start !== nstart) return -ENOMEM;
    vma = next;
  }
}

/** __mlock_posix_error_return: GUP's -EFAULT → -ENOMEM, -ENOMEM → -EAGAIN. */
const posix = (e: number): number => (e === -EFAULT ? -ENOMEM : e === -ENOMEM ? -EAGAIN : e);

/** do_mlock: check RLIMIT_MEMLOCK, set the flags, populate. */
function do_mlock(k: Kernel, start0: number, len0: number, flags: number): number {
  enter(k, 'do_mlock', 'mm/mlock.c');
  const off = start0 % 4096;
  const len = Math.ceil((len0 + off) / 4096) * 4096;
  const start = start0 - off;
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  let err: number;
  if (!mmglobals(k).cap_ipc_lock && mm.locked_vm + len / 4096 > rlimit(k, 'memlock') / 4096) {
    decision(k, 'do_mlock', 'rlimit-memlock');
    err = -ENOMEM;
  } else {
    err = apply_vma_lock_flags(k, start, len, flags);
  }
  mmap_write_unlock(k, mm);
  if (!err) err = posix(__mm_populate(k, start, len, false));
  leave(k, 'do_mlock', String(err));
  return err;
}

export function sys_mlock(k: Kernel, start: number, len: number): number {
  return do_mlock(k, start, len, VM_LOCKED);
}

export function sys_mlock2(k: Kernel, start: number, len: number, flags: number): number {
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  return do_mlock(k, start, len, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

export function sys_munlock(k: Kernel, start0: number, len0: number): number {
  enter(k, 'sys_munlock', 'mm/mlock.c');
  const off = start0 % 4096;
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  const err = apply_vma_lock_flags(k, start0 - off, Math.ceil((len0 + off) / 4096) * 4096, 0);
  mmap_write_unlock(k, mm);
  leave(k, 'sys_munlock', String(err));
  return err;
}

/** apply_mlockall_flags: def_flags for MCL_FUTURE, and every VMA for MCL_CURRENT (errors ignored). */
function apply_mlockall_flags(k: Kernel, flags: number): number {
  const mm = k.current.mm!;
  mm.def_flags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.def_flags |= VM_LOCKED | (flags & MCL_ONFAULT ? VM_LOCKONFAULT : 0);
    if (!(flags & MCL_CURRENT)) return 0;
  }
  const to_add = flags & MCL_CURRENT ? VM_LOCKED | (flags & MCL_ONFAULT ? VM_LOCKONFAULT : 0) : 0;
  let prev: VmAreaStruct | null = null;
  for (const vma of vmas_of(mm)) {
    if (vma.vm_start < (prev?.vm_end ?? 0)) continue; // merged into prev
    const r = mlock_fixup(k, vma, prev, vma.vm_start, vma.vm_end, (vma.vm_flags & ~VM_LOCKED_MASK) | to_add);
    prev = typeof r === 'number' ? vma : r;
  }
  return 0;
}

export function sys_mlockall(k: Kernel, flags: number): number {
  enter(k, 'sys_mlockall', 'mm/mlock.c');
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) {
    leave(k, 'sys_mlockall', String(-EINVAL));
    return -EINVAL;
  }
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  let ret = -ENOMEM;
  if (!(flags & MCL_CURRENT) || mm.total_vm <= rlimit(k, 'memlock') / 4096 || mmglobals(k).cap_ipc_lock) ret = apply_mlockall_flags(k, flags);
  mmap_write_unlock(k, mm);
  if (!ret && flags & MCL_CURRENT) mm_populate(k, 0, mm.task_size);
  leave(k, 'sys_mlockall', String(ret));
  return ret;
}

export function sys_munlockall(k: Kernel): number {
  enter(k, 'sys_munlockall', 'mm/mlock.c');
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  const ret = apply_mlockall_flags(k, 0);
  mmap_write_unlock(k, mm);
  leave(k, 'sys_munlockall', String(ret));
  return ret;
}
