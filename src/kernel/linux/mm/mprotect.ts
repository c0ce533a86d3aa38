// mprotect (mm/mprotect.c, 5.19 and 6.18): do_mprotect_pkey walks the VMAs of the range,
// mprotect_fixup merges or splits each and sets its flags, change_protection rewrites every
// present PTE with pte_modify. 6.0+: exclusive anon pages of a private writable VMA are made
// writable at once (MM_CP_TRY_CHANGE_WRITABLE, can_change_pte_writable); 5.19 leaves them
// read-only (the next write is a reuse fault). 5.19 flushes the whole range if any PTE changed;
// 6.x flushes the PTEs where pte_needs_flush.

import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_HI_NX, _PAGE_HI_PKEY_MASK, _PAGE_PCD, _PAGE_PRESENT, _PAGE_PSE, _PAGE_PWT, _PAGE_RW,
  _PAGE_USER, PTE_PFN_HI_MASK,
} from '../arch/x86/include/asm/pgtable_types.js';
import { for_each_pte, pte_modify, pte_present, pte_protnone, read_hi, read_lo, set_entry } from '../arch/x86/mm/pgtable.js';
import { flush_tlb_range } from '../arch/x86/mm/tlb.js';
import {
  VM_ACCESS_FLAGS, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_HUGETLB, VM_LOCKED, VM_NORESERVE, VM_READ, VM_SHARED, VM_WRITE,
  type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { EACCES, EINVAL, ENOMEM } from '../include/uapi/asm-generic/errno-base.js';
import { PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE } from '../include/uapi/asm-generic/mman-common.js';
import type { Kernel } from '../types.js';
import { populate_vma_page_range } from './gup.js';
import { vm_normal_page } from './memory.js';
import { may_expand_vm, vm_stat_account } from './mmap.js';
import { decision, enter, leave } from './mmtrace.js';
import { PG_anon, PG_anon_exclusive } from './page_alloc.js';
import { arch_override_mprotect_pkey, mm_pkey_is_allocated } from '../arch/x86/mm/pkeys.js';
import { find_vma, vma_modify_flags, vma_next, vma_prev, vma_set_page_prot, vma_wants_writenotify } from './vma.js';

export type MprotectReason = 'grows-both' | 'unaligned' | 'len-zero' | 'wraps' | 'bad-prot' | 'no-vma' | 'hole' | 'beyond-vm-may' |
  'not-growsdown' | 'fixup-failed' | 'pkey-not-allocated' | 'done';

/** sys_mprotect → do_mprotect_pkey(start, len, prot, -1). 0 or -errno. */
export function sys_mprotect(k: Kernel, start: number, len0: number, prot0: number): number {
  enter(k, 'do_mprotect_pkey', 'mm/mprotect.c');
  const r = do_mprotect_pkey(k, start, len0, prot0);
  decision(k, 'do_mprotect_pkey', r.why);
  leave(k, 'do_mprotect_pkey', String(r.err));
  return r.err;
}

/** sys_pkey_mprotect → do_mprotect_pkey(start, len, prot, pkey): pkey must be allocated (-1 keeps each VMA's key). */
export function sys_pkey_mprotect(k: Kernel, start: number, len0: number, prot0: number, pkey: number): number {
  enter(k, 'do_mprotect_pkey', 'mm/mprotect.c');
  const r = do_mprotect_pkey(k, start, len0, prot0, pkey);
  decision(k, 'do_mprotect_pkey', r.why);
  leave(k, 'do_mprotect_pkey', String(r.err));
  return r.err;
}

function do_mprotect_pkey(k: Kernel, start0: number, len0: number, prot0: number, pkey = -1): { err: number; why: MprotectReason } {
  const grows = prot0 & (PROT_GROWSDOWN | PROT_GROWSUP);
  const prot = prot0 & ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return { err: -EINVAL, why: 'grows-both' };
  if (start0 % 4096) return { err: -EINVAL, why: 'unaligned' };
  if (!len0) return { err: 0, why: 'len-zero' };
  const len = Math.ceil(len0 / 4096) * 4096;
  let start = start0;
  const end = start + len;
  if (end <= start || end > 2 ** 64) return { err: -ENOMEM, why: 'wraps' };
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return { err: -EINVAL, why: 'bad-prot' };
  const mm = k.current.mm!;
  mmap_write_lock(k, mm);
  const out = (err: number, why: MprotectReason): { err: number; why: MprotectReason } => {
    mmap_write_unlock(k, mm);
    return { err, why };
  };
  if (pkey !== -1 && !mm_pkey_is_allocated(mm, pkey)) return out(-EINVAL, 'pkey-not-allocated');
  let vma = find_vma(k, mm, start);
  if (!vma) return out(-ENOMEM, 'no-vma');
  if (grows & PROT_GROWSDOWN) {
    if (vma.vm_start >= end) return out(-ENOMEM, 'no-vma');
    start = vma.vm_start;
    if (!(vma.vm_flags & VM_GROWSDOWN)) return out(-EINVAL, 'not-growsdown');
  } else if (vma.vm_start > start) {
    return out(-ENOMEM, 'hole');
  }
  let prev = start > vma.vm_start ? vma : vma_prev(mm, vma);
  const vmProt = (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
  for (let nstart = start; ;) {
    const newflags = vmProt | (vma.vm_flags & ~VM_ACCESS_FLAGS);
    // newflags >> 4 puts VM_MAY* where VM_* are: asking for more than VM_MAY* allows is EACCES.
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) return out(-EACCES, 'beyond-vm-may');
    const tmp = Math.min(vma.vm_end, end);
    const r = mprotect_fixup(k, vma, prev, nstart, tmp, newflags, arch_override_mprotect_pkey(k, vma, prot, pkey));
    if (typeof r === 'number') return out(r, 'fixup-failed');
    prev = r;
    nstart = tmp;
    if (nstart < prev.vm_end) nstart = prev.vm_end;
    if (nstart >= end) return out(0, 'done');
    const next = vma_next(mm, prev);
    if (!next || next.vm_start !== nstart) return out(-ENOMEM, 'hole');
    vma = next;
  }
}

/** mprotect_fixup: merge or split so that [start, end) is one VMA, set its flags, rewrite its PTEs. The VMA, or -errno. */
export function mprotect_fixup(k: Kernel, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, newflags0: number, pkey = vma.vm_pkey): VmAreaStruct | number {
  enter(k, 'mprotect_fixup', 'mm/mprotect.c');
  const mm = vma.vm_mm;
  const oldflags = vma.vm_flags;
  let newflags = newflags0;
  if (newflags === oldflags && pkey === vma.vm_pkey) { // (Linux keeps the pkey in vm_flags: one comparison)
    decision(k, 'mprotect_fixup', 'unchanged');
    leave(k, 'mprotect_fixup', '0');
    return vma;
  }
  const nrpages = (end - start) / 4096;
  if (newflags & VM_WRITE) {
    if (!may_expand_vm(k, mm, newflags, nrpages) && may_expand_vm(k, mm, oldflags, nrpages)) {
      leave(k, 'mprotect_fixup', '-ENOMEM');
      return -ENOMEM;
    }
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) newflags |= VM_ACCOUNT;
  } else if (k.version !== '5.19' && oldflags & VM_ACCOUNT && vma.vm_ops === null && !vma.anon_vma) {
    newflags &= ~VM_ACCOUNT; // 6.x: an unfaulted private anon VMA made read-only is no longer charged
  }
  const r = vma_modify_flags(k, mm, prev, vma, start, end, newflags, pkey);
  if (typeof r === 'number') {
    leave(k, 'mprotect_fixup', String(r));
    return r;
  }
  const v = r;
  v.vm_flags = newflags;
  v.vm_pkey = pkey;
  vma_set_page_prot(v);
  // Shared and write-notified: dirty PTEs regain RW in both versions (5.19 MM_CP_DIRTY_ACCT, 6.x
  // can_change_pte_writable); private: 6.x only (MM_CP_TRY_CHANGE_WRITABLE).
  const tryWritable = v.vm_flags & VM_SHARED ? vma_wants_writenotify(v) : k.features.mprotectChangeWritable && (v.vm_flags & VM_WRITE) !== 0;
  change_protection(k, v, start, end, tryWritable);
  if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && (newflags & VM_WRITE)) populate_vma_page_range(k, v, start, end);
  vm_stat_account(mm, oldflags, -nrpages);
  vm_stat_account(mm, newflags, nrpages);
  leave(k, 'mprotect_fixup', '0');
  return v;
}

/** change_protection → change_pte_range: pte_modify every present PTE; flush what got weaker. */
function change_protection(k: Kernel, vma: VmAreaStruct, start: number, end: number, tryWritable: boolean): void {
  enter(k, 'change_protection', 'mm/mprotect.c');
  const prot = vma.vm_page_prot;
  let changed = 0;
  let flushStart = Infinity;
  let flushEnd = 0;
  for_each_pte(k, vma.vm_mm, start, end, (pa, addr) => {
    const lo = read_lo(k, pa);
    const hi = read_hi(k, pa);
    if (!pte_present(lo)) return;
    const n = pte_modify(lo, hi, prot);
    if (tryWritable && !(n.lo & _PAGE_RW) && can_change_pte_writable(k, vma, n.lo, n.hi)) n.lo = (n.lo | _PAGE_RW) >>> 0;
    set_entry(k, 'pt', pa, n.lo, n.hi, addr);
    changed++;
    if (k.version === '5.19' || pte_needs_flush(lo, hi, n.lo, n.hi)) {
      flushStart = Math.min(flushStart, addr);
      flushEnd = Math.max(flushEnd, addr + 4096);
    }
  });
  if (k.machine.trace.enabled) decision(k, 'change_protection', changed ? 'ptes-changed' : 'no-ptes', `${changed} PTEs`);
  if (flushEnd > flushStart) flush_tlb_range(k, vma, k.version === '5.19' ? start : flushStart, k.version === '5.19' ? end : flushEnd);
  leave(k, 'change_protection', String(changed));
}

/**
 * pte_needs_flush (6.x, arch/x86/include/asm/tlbflush.h): only a present old PTE can be cached;
 * flush when the PFN moves, when D/P are cleared, or when RW, USER, caching, G, NX or the pkey
 * change in either direction (so a RO→RW upgrade is flushed too: no spurious write fault).
 */
function pte_needs_flush(oldLo: number, oldHi: number, newLo: number, newHi: number): boolean {
  if (!(oldLo & _PAGE_PRESENT)) return false;
  if ((oldLo ^ newLo) & 0xfffff000 || (oldHi ^ newHi) & PTE_PFN_HI_MASK) return true;
  const diff = (oldLo ^ newLo) & ~_PAGE_ACCESSED;
  if (diff & oldLo & (_PAGE_DIRTY | _PAGE_PRESENT)) return true;
  if (diff & (_PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL)) return true;
  return ((oldHi ^ newHi) & (_PAGE_HI_NX | _PAGE_HI_PKEY_MASK)) !== 0;
}

/** can_change_pte_writable (6.0+): a private VMA's exclusive anon page, not PROT_NONE. */
function can_change_pte_writable(k: Kernel, vma: VmAreaStruct, lo: number, hi: number): boolean {
  if (!(vma.vm_flags & VM_WRITE) || pte_protnone(lo)) return false;
  if (vma.vm_flags & VM_SHARED) return (lo & _PAGE_DIRTY) !== 0;
  const page = vm_normal_page(lo, hi);
  return page >= 0 && (k.memmap.flags[page]! & (PG_anon | PG_anon_exclusive)) === (PG_anon | PG_anon_exclusive);
}

