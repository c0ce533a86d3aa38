// fork's address-space copy (kernel/fork.c dup_mm / dup_mmap, 5.19 and 6.18): every VMA is
// duplicated except VM_DONTCOPY ones; VM_WIPEONFORK VMAs are copied without PTEs or anon_vma;
// the others join the parent's anon_vmas (anon_vma_fork) and, if vma_needs_copy, get their PTEs
// copied (copy_page_range, which write-protects COW pages in both). VM_LOCKED is not inherited.
// The parent's TLB is flushed at the end (flush_tlb_mm), for the PTEs made read-only.

import { flush_tlb_mm } from '../arch/x86/mm/tlb.js';
import { VM_LOCKED, VM_LOCKONFAULT, VM_DONTCOPY, VM_WIPEONFORK, type MmStruct } from '../include/linux/mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { copy_page_range } from '../mm/memory_ranges.js';
import { vm_stat_account } from '../mm/mmap.js';
import { mm_alloc } from '../mm/mm_init.js';
import { arch_dup_pkeys } from '../arch/x86/mm/pkeys.js';
import { decision, enter, leave } from '../mm/mmtrace.js';
import { anon_vma_fork } from '../mm/rmap.js';
import { vm_area_dup, vma_link, vma_pages, vmas_of } from '../mm/vma.js';
import type { Kernel } from '../types.js';

/** dup_mmap: copy oldmm's VMAs (and PTEs where needed) into the fresh newmm. 0 or -ENOMEM. */
export function dup_mmap(k: Kernel, oldmm: MmStruct, newmm: MmStruct): number {
  enter(k, 'dup_mmap', 'kernel/fork.c');
  mmap_write_lock(k, oldmm);
  mmap_write_lock(k, newmm);
  newmm.total_vm = oldmm.total_vm;
  newmm.data_vm = oldmm.data_vm;
  newmm.exec_vm = oldmm.exec_vm;
  newmm.stack_vm = oldmm.stack_vm;
  let retval = 0;
  for (const mpnt of vmas_of(oldmm)) {
    if (mpnt.vm_flags & VM_DONTCOPY) {
      if (k.machine.trace.enabled) decision(k, 'dup_mmap', 'dontcopy-skipped', `[${mpnt.vm_start.toString(16)}, ${mpnt.vm_end.toString(16)})`);
      vm_stat_account(newmm, mpnt.vm_flags, -vma_pages(mpnt));
      continue;
    }
    const tmp = vm_area_dup(mpnt, newmm);
    if (mpnt.vm_flags & VM_WIPEONFORK) {
      decision(k, 'dup_mmap', 'wipeonfork-no-ptes');
    } else {
      anon_vma_fork(k, tmp, mpnt);
    }
    tmp.vm_flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    vma_link(newmm, tmp);
    if (!(tmp.vm_flags & VM_WIPEONFORK)) retval = copy_page_range(k, tmp, mpnt);
    if (retval) break;
  }
  mmap_write_unlock(k, newmm);
  flush_tlb_mm(k, oldmm);
  mmap_write_unlock(k, oldmm);
  leave(k, 'dup_mmap', String(retval));
  return retval;
}

/** dup_mm: a new mm for the child (mm_alloc), the parent's layout fields, then dup_mmap. Null on failure. */
export function dup_mm(k: Kernel, oldmm: MmStruct): MmStruct | null {
  enter(k, 'dup_mm', 'kernel/fork.c');
  const mm = mm_alloc(k);
  if (mm) {
    mm.mmap_base = oldmm.mmap_base;
    mm.task_size = oldmm.task_size;
    mm.start_brk = oldmm.start_brk;
    mm.brk = oldmm.brk;
    mm.start_stack = oldmm.start_stack;
    arch_dup_pkeys(oldmm, mm);
    if (dup_mmap(k, oldmm, mm) !== 0) {
      leave(k, 'dup_mm', 'NULL');
      return null; // FIXME: the partial child mm is not torn down
    }
  }
  leave(k, 'dup_mm', mm ? 'mm' : 'NULL');
  return mm;
}
