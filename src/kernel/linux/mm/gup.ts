// Populating memory through GUP (mm/gup.c, 5.19 and 6.18): __mm_populate →
// populate_vma_page_range → __get_user_pages → faultin_page → handle_mm_fault(regs = NULL), so the
// faults count in the task's min_flt but raise no perf events. FOLL_WRITE iff the VMA is private
// and writable (real pages, no zero page); VM_LOCKONFAULT VMAs are skipped. Simplified:
// follow_page_mask is a PTE lookup (present, and writable when FOLL_WRITE).

import { _PAGE_PRESENT, _PAGE_RW } from '../arch/x86/include/asm/pgtable_types.js';
import { PTE_OFFSET_HUGE, pte_offset, walk_existing } from '../arch/x86/mm/pgtable.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_KILLABLE, FAULT_FLAG_WRITE, VM_IO, VM_LOCKONFAULT, VM_MAYREAD,
  VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { EFAULT, ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import type { Kernel } from '../types.js';
import { handle_mm_fault } from './memory.js';
import { decision, enter, leave } from './mmtrace.js';
import { find_vma, vma_is_accessible } from './vma.js';
import { VM_FAULT_ERROR, VM_FAULT_OOM } from '../include/linux/mm_types.js';

/** check_vma_flags: may GUP touch this VMA this way? */
function check_vma_flags(vma: VmAreaStruct, write: boolean, force: boolean): boolean {
  const f = vma.vm_flags;
  if (write) {
    if (!(f & VM_WRITE)) {
      if (!force || !(f & VM_MAYWRITE) || (f & VM_SHARED)) return false;
    }
  } else if (!(f & VM_READ)) {
    if (!force || !(f & VM_MAYREAD)) return false;
  }
  return true;
}

/** follow_page_mask, reduced: is the page mapped well enough for this access already? */
function follow_page(k: Kernel, vma: VmAreaStruct, addr: number, write: boolean): boolean {
  const pa = pte_offset(k, vma.vm_mm, addr);
  if (pa === PTE_OFFSET_HUGE) return follow_huge_pmd(k, vma, addr, write);
  if (pa < 0) return false;
  const lo = k.machine.mem.read32(pa);
  return (lo & _PAGE_PRESENT) !== 0 && (!write || (lo & _PAGE_RW) !== 0);
}

/** follow_huge_pmd: a THP's PMD leaf is present; writable if the access needs it. */
function follow_huge_pmd(k: Kernel, vma: VmAreaStruct, addr: number, write: boolean): boolean {
  const lo = k.machine.mem.read32(walk_existing(k, vma.vm_mm, addr, 2));
  return !write || (lo & _PAGE_RW) !== 0;
}

/** populate_vma_page_range: fault in [start, end) of one VMA. Pages done, or -errno. */
export function populate_vma_page_range(k: Kernel, vma: VmAreaStruct, start: number, end: number): number {
  enter(k, 'populate_vma_page_range', 'mm/gup.c');
  const nr = (end - start) / 4096;
  if (vma.vm_flags & VM_LOCKONFAULT) {
    decision(k, 'populate_vma_page_range', 'lockonfault-skip');
    leave(k, 'populate_vma_page_range', String(nr));
    return nr;
  }
  const write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) === VM_WRITE; // FOLL_WRITE
  // 5.19: FOLL_FORCE if accessible (PROT_NONE then fails check_vma_flags); 6.x: FOLL_FORCE unless
  // FOLL_WRITE, and "we've never faulted in PROT_NONE pages": -EFAULT up front. Same outcome.
  const force = k.version === '5.19' ? vma_is_accessible(vma) : !write;
  let ret = nr;
  if (k.version !== '5.19' && !vma_is_accessible(vma)) {
    decision(k, 'populate_vma_page_range', 'prot-none');
    ret = -EFAULT;
  } else if (!check_vma_flags(vma, write, force)) {
    decision(k, 'populate_vma_page_range', 'check-vma-flags');
    ret = -EFAULT;
  } else {
    for (let a = start; a < end && ret > 0; a += 4096) {
      while (!follow_page(k, vma, a, write)) {
        const r = faultin_page(k, vma, a, write);
        if (r < 0) { ret = r; break; }
      }
    }
  }
  if (k.machine.trace.enabled) leave(k, 'populate_vma_page_range', String(ret));
  return ret;
}

/** faultin_page: handle_mm_fault with regs = NULL (GUP); an error becomes -errno. */
function faultin_page(k: Kernel, vma: VmAreaStruct, addr: number, write: boolean): number {
  enter(k, 'faultin_page', 'mm/gup.c');
  const flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | (write ? FAULT_FLAG_WRITE : 0);
  const ret = handle_mm_fault(k, vma, addr, flags, null);
  const err = ret & VM_FAULT_ERROR ? (ret & VM_FAULT_OOM ? -ENOMEM : -EFAULT) : 0;
  if (k.machine.trace.enabled) leave(k, 'faultin_page', String(err));
  return err;
}

/** __mm_populate: populate every VMA in [start, start+len); errors stop it unless ignored. 0 or -errno. */
export function __mm_populate(k: Kernel, start: number, len: number, ignore_errors: boolean): number {
  enter(k, '__mm_populate', 'mm/gup.c');
  const mm = k.current.mm!;
  const end = start + len;
  let ret = 0;
  for (let nstart = start; nstart < end;) {
    const vma = find_vma(k, mm, nstart);
    if (!vma || vma.vm_start >= end) break;
    const nend = Math.min(end, vma.vm_end);
    if (vma.vm_flags & (VM_IO | VM_PFNMAP)) { nstart = nend; continue; }
    const from = Math.max(nstart, vma.vm_start);
    const r = populate_vma_page_range(k, vma, from, nend);
    if (r < 0 && !ignore_errors) { ret = r; break; }
    nstart = nend;
  }
  leave(k, '__mm_populate', String(ret));
  return ret;
}

/** mm_populate: __mm_populate with errors ignored (mmap MAP_POPULATE / MAP_LOCKED, brk). */
export function mm_populate(k: Kernel, start: number, len: number): void {
  __mm_populate(k, start, len, true);
}


/**
 * faultin_vma_page_range (MADV_POPULATE_READ/WRITE): like populate_vma_page_range but without
 * FOLL_FORCE, so a non-readable (READ) or non-writable (WRITE) VMA is -EINVAL. Pages or -errno.
 */
export function faultin_vma_page_range(k: Kernel, vma: VmAreaStruct, start: number, end: number, write: boolean): number {
  enter(k, 'faultin_vma_page_range', 'mm/gup.c');
  let ret = (end - start) / 4096;
  if (!check_vma_flags(vma, write, false)) ret = -22;
  else {
    for (let a = start; a < end && ret > 0; a += 4096) {
      while (!follow_page(k, vma, a, write)) {
        const r = faultin_page(k, vma, a, write);
        if (r < 0) { ret = r; break; }
      }
    }
  }
  if (k.machine.trace.enabled) leave(k, 'faultin_vma_page_range', String(ret));
  return ret;
}
