// Address-space syscalls of mm/mmap.c (5.19; 6.18 moves parts to mm/vma.c and names them
// do_vmi_munmap etc.): get_unmapped_area (x86 top-down, arch/x86/kernel/sys_x86_64.c), do_mmap,
// mmap_region, vm_mmap_pgoff (mm/util.c), __do_munmap, brk, expand_downwards, exit_mmap.
// Anonymous memory only: a file descriptor is never resolved (no MAP_ANONYMOUS → -EBADF).

import { free_pgd_range } from '../arch/x86/mm/pgtable.js';
import {
  PAGE_SIZE, TASK_SIZE_MAX, VM_ACCOUNT, VM_DATA_DEFAULT_FLAGS, VM_EXEC, VM_GROWSDOWN, VM_LOCKED,
  VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_NORESERVE, VM_READ, VM_SHARED, VM_SOFTDIRTY, VM_SYNC, VM_WRITE,
  type MmStruct, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { EACCES, EBADF, EEXIST, EINVAL, ENOMEM, EOVERFLOW, EPERM, EAGAIN } from '../include/uapi/asm-generic/errno-base.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_GROWSDOWN, MAP_LOCKED, MAP_NONBLOCK, MAP_NORESERVE, MAP_POPULATE,
  MAP_PRIVATE, MAP_SHARED, MAP_SYNC, MAP_TYPE, PROT_EXEC, PROT_READ, PROT_WRITE,
} from '../include/uapi/asm-generic/mman-common.js';
import type { Kernel } from '../types.js';
import { mm_populate } from './gup.js';
import { execute_only_pkey } from '../arch/x86/mm/pkeys.js';
import { tlb_finish_mmu, tlb_gather_mmu, unmap_page_range } from './memory_ranges.js';
import { mmglobals, rlimit } from './mm_init.js';
import { decision, enter, leave, srcOf } from './mmtrace.js';
import { anon_vma_prepare, unlink_anon_vmas } from './rmap.js';
import { shmem_vma_close, shmem_zero_setup } from './shmem.js';
import { fget, type LinuxFile } from '../fs/fs.js';
import {
  find_vma, find_vma_intersection, split_vma, vm_area_alloc, vm_get_page_prot, vm_start_gap, vma_is_accessible, vma_link,
  vma_merge, vma_next, vma_pages, vma_prev, vma_set_page_prot, vma_set_range, vma_unlink, vmas_of,
} from './vma.js';

const PAGE_ALIGN = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
const errName = (e: number): string => (e < 0 ? `-errno ${-e}` : '0x' + e.toString(16));

/** vm_stat_account: total_vm and the exec/stack/data split. */
export function vm_stat_account(mm: MmStruct, flags: number, npages: number): void {
  mm.total_vm += npages;
  if ((flags & (VM_EXEC | VM_WRITE)) === VM_EXEC) mm.exec_vm += npages;
  else if (flags & VM_GROWSDOWN) mm.stack_vm += npages;
  else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE) mm.data_vm += npages;
}

/** may_expand_vm: RLIMIT_AS on total_vm (RLIMIT_DATA on data_vm, warned but only enforced when finite). */
export function may_expand_vm(k: Kernel, mm: MmStruct, flags: number, npages: number): boolean {
  if (mm.total_vm + npages > rlimit(k, 'as') / PAGE_SIZE) return false;
  if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE && mm.data_vm + npages > rlimit(k, 'data') / PAGE_SIZE) return false;
  return true;
}

/** arch_get_unmapped_area_topdown → vm_unmapped_area: the highest gap below mmap_base that fits. */
export function get_unmapped_area(k: Kernel, mm: MmStruct, addr: number, len: number, flags: number): number {
  enter(k, 'get_unmapped_area', 'mm/mmap.c');
  const ret = get_area(k, mm, addr, len, flags);
  leave(k, 'get_unmapped_area', errName(ret));
  return ret;
}

function get_area(k: Kernel, mm: MmStruct, addr0: number, len: number, flags: number): number {
  const g = mmglobals(k);
  if (len > mm.task_size) return -ENOMEM;
  let addr = addr0;
  if (!(flags & MAP_FIXED)) {
    addr = topdown(k, mm, addr0, len);
    if (addr < 0) return addr;
  }
  if (addr > mm.task_size - len) return -ENOMEM;
  if (addr % PAGE_SIZE) return -EINVAL;
  if (addr < g.mmap_min_addr && !g.cap_sys_rawio) return -EPERM; // security_mmap_addr → cap_mmap_addr
  return addr;
}

function topdown(k: Kernel, mm: MmStruct, hint: number, len: number): number {
  if (hint) {
    const a = hint - (hint % PAGE_SIZE); // addr &= PAGE_MASK (mmap_address_hint_valid below)
    const vma = find_vma(k, mm, a);
    if (mm.task_size - len >= a && (!vma || a + len <= vm_start_gap(k, vma))) {
      decision(k, 'arch_get_unmapped_area_topdown', 'hint-free');
      return a;
    }
  }
  const low = Math.max(PAGE_SIZE, mmglobals(k).mmap_min_addr);
  const high = mm.mmap_base;
  // Walk the gaps downwards from mmap_base: [vm_end(prev), vm_start_gap(next)).
  let next = find_vma(k, mm, high);
  let prev = vma_prev(mm, next);
  for (;;) {
    const gapEnd = Math.min(high, next ? vm_start_gap(k, next) : high);
    const gapStart = prev ? prev.vm_end : 0;
    if (gapEnd >= len && gapEnd - len >= Math.max(gapStart, low)) {
      decision(k, 'unmapped_area_topdown', 'gap-found');
      return gapEnd - len;
    }
    if (!prev) break;
    next = prev;
    prev = vma_prev(mm, prev);
  }
  decision(k, 'unmapped_area_topdown', 'no-gap');
  return -ENOMEM; // FIXME: the bottom-up fallback (arch_get_unmapped_area) is not modelled
}

function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

function calc_vm_flag_bits(flags: number): number {
  return (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) | (flags & MAP_LOCKED ? VM_LOCKED : 0) | (flags & MAP_SYNC ? VM_SYNC : 0);
}

/** mlock_future_check: a VM_LOCKED mapping must fit RLIMIT_MEMLOCK (unless CAP_IPC_LOCK). */
export function mlock_future_check(k: Kernel, mm: MmStruct, flags: number, len: number): boolean {
  if (!(flags & VM_LOCKED) || k.mm_globals?.cap_ipc_lock !== false) return true;
  return mm.locked_vm + len / PAGE_SIZE <= rlimit(k, 'memlock') / PAGE_SIZE;
}

/** round_hint_to_min: a non-zero hint is rounded down to a page, and up to mmap_min_addr. */
function round_hint_to_min(k: Kernel, hint0: number): number {
  const hint = hint0 - (hint0 % PAGE_SIZE);
  const min = mmglobals(k).mmap_min_addr;
  return hint && hint < min ? PAGE_ALIGN(min) : hint;
}

export type DoMmapReason = 'len-zero' | 'len-overflow' | 'pgoff-overflow' | 'max-map-count' | 'get-unmapped-area-failed' |
  'fixed-noreplace-overlap' | 'mlock-limit' | 'shared-growsdown' | 'bad-map-type' | 'mapped' |
  'file-shared-write-not-opened-for-writing' | 'file-not-opened-for-reading' | 'file-growsdown';

/** do_mmap: validate, place, build vm_flags, then mmap_region. Returns the address or -errno; *populate via the result. */
export function do_mmap(k: Kernel, addr0: number, len0: number, prot: number, flags0: number, pgoff0: number, file: LinuxFile | null = null): { ret: number; populate: number } {
  const mm = k.current.mm!;
  enter(k, 'do_mmap', 'mm/mmap.c');
  const fail = (why: DoMmapReason, err: number): { ret: number; populate: number } => {
    decision(k, 'do_mmap', why);
    leave(k, 'do_mmap', errName(-err));
    return { ret: -err, populate: 0 };
  };
  let flags = flags0;
  let addr = addr0;
  if (!len0) return fail('len-zero', EINVAL);
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED)) addr = round_hint_to_min(k, addr);
  const len = PAGE_ALIGN(len0);
  if (!len || len > 2 ** 64 - PAGE_SIZE) return fail('len-overflow', ENOMEM);
  if (pgoff0 + len / PAGE_SIZE > 2 ** 64 / PAGE_SIZE) return fail('pgoff-overflow', EOVERFLOW);
  if (mm.map_count > mmglobals(k).sysctl_max_map_count) return fail('max-map-count', ENOMEM);
  addr = get_unmapped_area(k, mm, addr, len, flags);
  if (addr < 0) return fail('get-unmapped-area-failed', -addr);
  if (flags & MAP_FIXED_NOREPLACE && find_vma_intersection(k, mm, addr, addr + len)) return fail('fixed-noreplace-overlap', EEXIST);
  let vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (!mlock_future_check(k, mm, vm_flags, len)) return fail('mlock-limit', EAGAIN);
  let pgoff: number;
  const type = flags & MAP_TYPE;
  if (file) { // the file half of do_mmap (issue 5): open-mode rules; MAP_SHARED_VALIDATE is not modelled
    pgoff = pgoff0;
    if (type === MAP_SHARED) {
      if (prot & PROT_WRITE && !file.f_mode.write) return fail('file-shared-write-not-opened-for-writing', EACCES);
      vm_flags |= VM_SHARED | VM_MAYSHARE;
      if (!file.f_mode.write) vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) return fail('bad-map-type', EINVAL);
    if (!file.f_mode.read) return fail('file-not-opened-for-reading', EACCES);
    if (vm_flags & VM_GROWSDOWN) return fail('file-growsdown', EINVAL);
  } else if (type === MAP_SHARED) { // anonymous: MAP_SHARED_VALIDATE is not accepted (only files validate flags)
    if (vm_flags & VM_GROWSDOWN) return fail('shared-growsdown', EINVAL);
    pgoff = 0;
    vm_flags |= VM_SHARED | VM_MAYSHARE;
  } else if (type === MAP_PRIVATE) {
    pgoff = addr / PAGE_SIZE;
  } else {
    return fail('bad-map-type', EINVAL);
  }
  if (flags & MAP_NORESERVE) vm_flags |= VM_NORESERVE; // sysctl_overcommit_memory != OVERCOMMIT_NEVER
  const pkey = prot === PROT_EXEC ? Math.max(0, execute_only_pkey(k, mm)) : 0; // PROT_EXEC only: the execute-only pkey
  const ret = mmap_region(k, mm, addr, len, vm_flags, pgoff, file, pkey);
  const populate = ret >= 0 && ((vm_flags & VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE) ? len : 0;
  decision(k, 'do_mmap', 'mapped' satisfies DoMmapReason);
  leave(k, 'do_mmap', errName(ret));
  return { ret, populate };
}

/** mmap_region: unmap what is in the way (MAP_FIXED), merge with a neighbour or make a new VMA. */
export function mmap_region(k: Kernel, mm: MmStruct, addr: number, len: number, flags0: number, pgoff: number, file: LinuxFile | null = null, pkey = 0): number {
  enter(k, 'mmap_region', srcOf(k, 'mm/mmap.c', 'mm/vma.c'));
  let vm_flags = flags0;
  const end = addr + len;
  if (!may_expand_vm(k, mm, vm_flags, len / PAGE_SIZE)) {
    let overlap = 0;
    for (let v = find_vma_intersection(k, mm, addr, end); v && v.vm_start < end; v = vma_next(mm, v)) {
      overlap += (Math.min(end, v.vm_end) - Math.max(addr, v.vm_start)) / PAGE_SIZE;
    }
    if (!may_expand_vm(k, mm, vm_flags, len / PAGE_SIZE - overlap)) return ret(k, -ENOMEM);
  }
  if (find_vma_intersection(k, mm, addr, end) && do_munmap_locked(k, mm, addr, len) < 0) return ret(k, -ENOMEM);
  // accountable_mapping: private writable memory is charged (VM_ACCOUNT)
  if (!(vm_flags & VM_NORESERVE) && (vm_flags & (VM_SHARED | VM_WRITE)) === VM_WRITE) vm_flags |= VM_ACCOUNT;
  const next = find_vma(k, mm, addr);
  const prev = vma_prev(mm, next);
  let vma: VmAreaStruct | null = null;
  if (file || !(vm_flags & VM_SHARED)) vma = vma_merge(k, mm, prev, addr, end, { flags: vm_flags, pkey, anon_vma: null, file, pgoff });
  if (!vma) {
    vma = vm_area_alloc(mm, addr, end, vm_flags, pgoff);
    vma.vm_pkey = pkey;
    if (file) { // vma->vm_file = get_file(file); call_mmap → ext4_file_mmap (ext4_file_vm_ops) or shmem_mmap (shmem_vm_ops)
      vma.vm_file = file;
      vma.vm_ops = file.f_inode.tmpfs ? 'shmem' : 'filemap';
      file.mappers++;
    } else if (vm_flags & VM_SHARED) shmem_zero_setup(k, vma);
    vma_link(mm, vma);
  }
  vm_stat_account(mm, vm_flags, len / PAGE_SIZE);
  if (vm_flags & VM_LOCKED) mm.locked_vm += len / PAGE_SIZE;
  vma.vm_flags |= VM_SOFTDIRTY;
  vma_set_page_prot(vma);
  return ret(k, addr);
}

function ret(k: Kernel, v: number): number {
  leave(k, 'mmap_region', errName(v));
  return v;
}

/**
 * sys_mmap (arch/x86/kernel/sys_x86_64.c) → ksys_mmap_pgoff → vm_mmap_pgoff (mm/util.c): take the
 * mmap write lock, do_mmap, unlock, then mm_populate (MAP_POPULATE / VM_LOCKED; errors ignored).
 */
export function sys_mmap(k: Kernel, addr: number, len: number, prot: number, flags: number, fd: number, off: number): number {
  enter(k, 'ksys_mmap_pgoff', 'mm/mmap.c');
  let r: number;
  if (off % PAGE_SIZE) r = -EINVAL;
  else if (!(flags & MAP_ANONYMOUS) && !fget(k, fd)) r = -EBADF; // fget(fd) fails
  else {
    const file = flags & MAP_ANONYMOUS ? null : fget(k, fd); // fd is ignored for MAP_ANONYMOUS, as Linux does
    const mm = k.current.mm!;
    mmap_write_lock(k, mm);
    const { ret: res, populate } = do_mmap(k, addr, len, prot, flags, off / PAGE_SIZE, file);
    mmap_write_unlock(k, mm);
    if (populate) mm_populate(k, res, populate);
    r = res;
  }
  leave(k, 'ksys_mmap_pgoff', errName(r));
  return r;
}

// --- munmap ----------------------------------------------------------------------------------

/** __do_munmap (5.19) / do_vmi_munmap (6.x): split at the edges, detach, zap and free. 0 or -errno. */
export function do_munmap_locked(k: Kernel, mm: MmStruct, start: number, len0: number): number {
  const fn = k.version === '5.19' ? '__do_munmap' : 'do_vmi_munmap';
  enter(k, fn, srcOf(k, 'mm/mmap.c', 'mm/vma.c'));
  const done = (v: number, why: string): number => {
    decision(k, fn, why);
    leave(k, fn, errName(v));
    return v;
  };
  if (start % PAGE_SIZE || start > TASK_SIZE_MAX || len0 > TASK_SIZE_MAX - start) return done(-EINVAL, 'bad-range');
  const len = PAGE_ALIGN(len0);
  const end = start + len;
  if (end === start) return done(-EINVAL, 'len-zero');
  let vma = find_vma(k, mm, start);
  if (!vma || vma.vm_start >= end) return done(0, 'nothing-mapped');
  let prev = vma_prev(mm, vma);
  if (start > vma.vm_start) {
    if (end < vma.vm_end && mm.map_count >= mmglobals(k).sysctl_max_map_count) return done(-ENOMEM, 'max-map-count');
    const r = split_vma(k, mm, vma, start, false);
    if (typeof r === 'number') return done(r, 'split-failed');
    prev = vma;
  }
  const last = find_vma(k, mm, end);
  if (last && end > last.vm_start) {
    const r = split_vma(k, mm, last, end, true);
    if (typeof r === 'number') return done(r, 'split-failed');
  }
  vma = prev ? vma_next(mm, prev) : find_vma(k, mm, 0);
  // detach_vmas_to_be_unmapped
  const gone: VmAreaStruct[] = [];
  for (let v = vma; v && v.vm_start < end; v = vma_next(mm, v)) gone.push(v);
  for (const v of gone) vma_unlink(mm, v);
  const next = find_vma(k, mm, end);
  unmap_region(k, mm, gone, prev ? prev.vm_end : 0, next ? next.vm_start : 0, start, end);
  remove_vma_list(k, mm, gone);
  return done(0, 'unmapped');
}

/** unmap_region: zap the PTEs of the detached VMAs, free the page tables, flush, free the pages. */
function unmap_region(k: Kernel, mm: MmStruct, vmas: VmAreaStruct[], floor: number, ceiling: number, start: number, end: number): void {
  enter(k, 'unmap_region', srcOf(k, 'mm/mmap.c', 'mm/vma.c'));
  const tlb = tlb_gather_mmu(mm);
  for (const v of vmas) unmap_page_range(k, tlb, v, v.vm_start, v.vm_end);
  free_pgd_range(k, mm, start, end, floor, ceiling);
  tlb_finish_mmu(k, tlb);
  leave(k, 'unmap_region');
}

/** remove_vma_list: accounting for the removed VMAs, then free them. */
function remove_vma_list(k: Kernel, mm: MmStruct, vmas: VmAreaStruct[]): void {
  for (const v of vmas) {
    const n = vma_pages(v);
    vm_stat_account(mm, v.vm_flags, -n);
    if (v.vm_flags & VM_LOCKED) mm.locked_vm -= n;
    unlink_anon_vmas(k, v);
    if (v.vm_file) shmem_vma_close(k, v);
  }
}

/** sys_munmap → __vm_munmap: the write lock around do_munmap. */
export function sys_munmap(k: Kernel, addr: number, len: number): number {
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  const r = do_munmap_locked(k, mm, addr, len);
  mmap_write_unlock(k, mm);
  return r;
}

// --- brk ---------------------------------------------------------------------------------------

export type BrkReason = 'below-start-brk' | 'rlimit-data' | 'same-page' | 'shrink' | 'shrink-failed' | 'next-vma-in-the-way' | 'grow-failed' | 'grow';

/** sys_brk: the new break on success, the old one on failure (never -errno). */
export function sys_brk(k: Kernel, brk: number): number {
  const mm = k.current.mm!;
  enter(k, 'sys_brk', 'mm/mmap.c');
  mmap_write_lock(k, mm);
  const origbrk = mm.brk;
  const out = (why: BrkReason): number => {
    mmap_write_unlock(k, mm);
    decision(k, 'sys_brk', why);
    leave(k, 'sys_brk', '0x' + origbrk.toString(16));
    return origbrk;
  };
  if (brk < mm.start_brk) return out('below-start-brk');
  if (brk - mm.start_brk > rlimit(k, 'data')) return out('rlimit-data'); // check_data_rlimit (no data segment modelled)
  const newbrk = PAGE_ALIGN(brk);
  const oldbrk = PAGE_ALIGN(mm.brk);
  let why: BrkReason;
  if (oldbrk === newbrk) {
    why = 'same-page';
  } else if (brk <= mm.brk) {
    if (k.version !== '5.19') { // 6.x: there must be a brk VMA in [newbrk, oldbrk) to shrink
      const brkvma = find_vma(k, mm, newbrk);
      if (!brkvma || brkvma.vm_start >= oldbrk) return out('shrink-failed');
    }
    mm.brk = brk;
    if (do_munmap_locked(k, mm, newbrk, oldbrk - newbrk) < 0) {
      mm.brk = origbrk;
      return out('shrink-failed');
    }
    why = 'shrink';
  } else {
    const next = find_vma(k, mm, oldbrk);
    if (next && newbrk + PAGE_SIZE > vm_start_gap(k, next)) return out('next-vma-in-the-way');
    if (do_brk_flags(k, mm, oldbrk, newbrk - oldbrk) < 0) return out('grow-failed');
    why = 'grow';
  }
  mm.brk = brk;
  const populate = newbrk > oldbrk && (mm.def_flags & VM_LOCKED) !== 0;
  mmap_write_unlock(k, mm);
  if (populate) mm_populate(k, oldbrk, newbrk - oldbrk);
  decision(k, 'sys_brk', why);
  leave(k, 'sys_brk', '0x' + brk.toString(16));
  return brk;
}

/** do_brk_flags: extend the brk VMA (vma_merge) or make one: private anon, VM_DATA_DEFAULT_FLAGS|VM_ACCOUNT. */
function do_brk_flags(k: Kernel, mm: MmStruct, addr: number, len: number): number {
  enter(k, 'do_brk_flags', 'mm/mmap.c');
  const flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm.def_flags;
  let r = get_unmapped_area(k, mm, addr, len, MAP_FIXED);
  if (r >= 0 && find_vma_intersection(k, mm, addr, addr + len)) r = do_munmap_locked(k, mm, addr, len) < 0 ? -ENOMEM : r;
  if (r >= 0 && (!may_expand_vm(k, mm, flags, len / PAGE_SIZE) || mm.map_count > mmglobals(k).sysctl_max_map_count)) r = -ENOMEM;
  if (r < 0) {
    leave(k, 'do_brk_flags', errName(r));
    return r;
  }
  const next = find_vma(k, mm, addr);
  let vma = vma_merge(k, mm, vma_prev(mm, next), addr, addr + len, { flags, pkey: 0, anon_vma: null, file: null, pgoff: addr / PAGE_SIZE });
  if (!vma) {
    vma = vm_area_alloc(mm, addr, addr + len, flags, addr / PAGE_SIZE);
    vma.vm_page_prot = vm_get_page_prot(flags, 0);
    vma_link(mm, vma);
  }
  mm.total_vm += len / PAGE_SIZE;
  mm.data_vm += len / PAGE_SIZE;
  if (flags & VM_LOCKED) mm.locked_vm += len / PAGE_SIZE;
  vma.vm_flags |= VM_SOFTDIRTY;
  leave(k, 'do_brk_flags', '0');
  return 0;
}

// --- stack growth ------------------------------------------------------------------------------

export type ExpandReason = 'below-mmap-min-addr' | 'guard-gap' | 'not-growsdown' | 'pgoff-underflow' | 'rlimit-as' | 'rlimit-stack' | 'rlimit-memlock' | 'grown' | 'already-covered';

/**
 * expand_stack → expand_downwards (mm/mmap.c; 6.x expand_stack_locked, under the mmap write lock):
 * grow a GROWSDOWN VMA down to the page of `address` in one step, unless that would come within
 * stack_guard_gap of an accessible non-stack VMA, or break RLIMIT_STACK / RLIMIT_AS. 0 or -errno.
 */
export function expand_stack(k: Kernel, vma: VmAreaStruct, address: number): number {
  const fn = 'expand_downwards';
  enter(k, k.version === '5.19' ? 'expand_stack' : 'expand_stack_locked', 'mm/mmap.c');
  enter(k, fn, 'mm/mmap.c');
  const r = expand_downwards(k, vma, address);
  decision(k, fn, r.why);
  leave(k, fn, errName(r.err));
  leave(k, k.version === '5.19' ? 'expand_stack' : 'expand_stack_locked', errName(r.err));
  return r.err;
}

function expand_downwards(k: Kernel, vma: VmAreaStruct, address0: number): { err: number; why: ExpandReason } {
  const mm = vma.vm_mm;
  const g = mmglobals(k);
  const address = address0 - (address0 % PAGE_SIZE);
  if (!(vma.vm_flags & VM_GROWSDOWN)) return { err: -14, why: 'not-growsdown' }; // 6.x: -EFAULT
  if (address < g.mmap_min_addr) return { err: -EPERM, why: 'below-mmap-min-addr' };
  const prev = vma_prev(mm, vma);
  if (prev && !(prev.vm_flags & VM_GROWSDOWN) && vma_is_accessible(prev) && address - prev.vm_end < g.stack_guard_gap) {
    return { err: -ENOMEM, why: 'guard-gap' };
  }
  if (anon_vma_prepare(k, vma) !== 0) return { err: -ENOMEM, why: 'rlimit-as' };
  if (address >= vma.vm_start) return { err: 0, why: 'already-covered' };
  const size = vma.vm_end - address;
  const grow = (vma.vm_start - address) / PAGE_SIZE;
  if (grow > vma.vm_pgoff) return { err: -ENOMEM, why: 'pgoff-underflow' };
  // acct_stack_growth
  if (!may_expand_vm(k, mm, vma.vm_flags, grow)) return { err: -ENOMEM, why: 'rlimit-as' };
  if (size > rlimit(k, 'stack')) return { err: -ENOMEM, why: 'rlimit-stack' };
  if (vma.vm_flags & VM_LOCKED && g.cap_ipc_lock === false && mm.locked_vm + grow > rlimit(k, 'memlock') / PAGE_SIZE) {
    return { err: -EAGAIN, why: 'rlimit-memlock' };
  }
  if (vma.vm_flags & VM_LOCKED) mm.locked_vm += grow;
  vm_stat_account(mm, vma.vm_flags, grow);
  vma_set_range(mm, vma, address, vma.vm_end, vma.vm_pgoff - grow);
  return { err: 0, why: 'grown' };
}

// --- teardown ----------------------------------------------------------------------------------

/** exit_mmap: unmap every VMA (a full-mm gather), free all user page tables, drop the VMAs. */
export function exit_mmap(k: Kernel, mm: MmStruct): void {
  enter(k, 'exit_mmap', 'mm/mmap.c');
  const vmas = vmas_of(mm);
  const tlb = tlb_gather_mmu(mm, true);
  for (const v of vmas) unmap_page_range(k, tlb, v, v.vm_start, v.vm_end);
  if (vmas.length) free_pgd_range(k, mm, vmas[0]!.vm_start, vmas[vmas.length - 1]!.vm_end, 0, 0);
  tlb_finish_mmu(k, tlb);
  for (const v of vmas) vma_unlink(mm, v);
  remove_vma_list(k, mm, vmas);
  leave(k, 'exit_mmap');
}

