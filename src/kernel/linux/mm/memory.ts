// The generic fault path (mm/memory.c, 5.19 and 6.18): handle_mm_fault → __handle_mm_fault →
// handle_pte_fault, the anonymous, file and shmem handlers (write-protect ones: memory_wp.ts). 6.x names: do_pte_missing,
// folio_* rmap calls, wp_can_reuse_anon_folio; VM_FAULT_WRITE is gone (reuse/copy return 0).
// Simplified: THP=never (no PMD/PUD leaves), no swap, no userfaultfd, no NUMA migration, no memcg,
// no KSM; the PTL and pte_same re-checks are trivially true (one thread).

import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from '../arch/x86/include/asm/pgtable_types.js';
import {
  entry_pfn, pfn_hi, pfn_lo, pte_alloc, pte_modify, pte_none, pte_present, pte_protnone, pte_write, read_hi, read_lo, set_entry, walk_alloc,
} from '../arch/x86/mm/pgtable.js';
import { flush_tlb_page } from '../arch/x86/mm/tlb.js';
import {
  FAULT_FLAG_ORIG_PTE_VALID, FAULT_FLAG_TRIED, FAULT_FLAG_UNSHARE, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE,
  VM_FAULT_ERROR, VM_FAULT_FALLBACK, VM_FAULT_LOCKED, VM_FAULT_MAJOR, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY,
  VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_MAYWRITE, VM_SHARED, VM_WRITE, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { mmap_read_trylock, mmap_read_unlock } from '../include/linux/mmap_lock.js';
import { decision, enter, leave, vmFaultName } from './mmtrace.js';
import { PG_dirty, PG_shmem } from './page_alloc.js';
import { anon_vma_prepare, page_add_file_rmap, page_add_new_anon_rmap } from './rmap.js';
import { shmem_fault, shmem_find_page } from './shmem.js';
import { do_swap_page } from './swap_fault.js';
import { thp_pmd_fault } from './huge_memory.js';
import { fsglobals, is_regular_file, page_readahead } from '../fs/fs.js';
import { filemap_fault, page_mkwrite } from './filemap.js';
import { is_cow_mapping, vma_is_accessible, vma_is_anonymous } from './vma.js';
import { do_wp_page, vm_normal_page } from './memory_wp.js';

export { do_wp_page, vm_normal_page };

const SRC = 'mm/memory.c';

/** struct vm_fault, reduced: the VMA, the page-aligned address, the flags, the entries found. */
export interface VmFault {
  readonly vma: VmAreaStruct;
  readonly address: number;
  readonly real_address: number;
  flags: number;
  readonly pgoff: number;
  /** Physical address of the PMD entry. */
  readonly pmdPa: number;
  /** Physical address of the PTE, or -1 (vmf->pte == NULL). */
  ptePa: number;
  orig_lo: number;
  orig_hi: number;
}

export type HandlePteFaultReason = 'pte-missing' | 'swap-entry' | 'numa-hint' | 'write-protected' | 'spurious' | 'access-flags-updated';
export type AnonPageReason = 'shared-vma-sigbus' | 'pte-alloc-oom' | 'read-maps-zero-page' | 'anon-vma-oom' | 'page-alloc-oom' | 'new-anon-page';
export type WpPageReason = 'zero-page-copy' | 'shared-pfn' | 'anon-exclusive-reuse' | 'anon-refcount-reuse' | 'anon-shared-copy' | 'shared-reuse' | 'unshare-noop' |
  'page-cache-copy' | 'shared-page-mkwrite';
export type DoFaultReason = 'read' | 'cow' | 'shared';

/** handle_mm_fault: count, dispatch to __handle_mm_fault, account (mm_account_fault). regs null = GUP. */
export function handle_mm_fault(k: Kernel, vma: VmAreaStruct, address: number, flags: number, regs: object | null): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'handle_mm_fault', SRC, { address: '0x' + address.toString(16), flags: '0x' + flags.toString(16) });
  if (!k.features.pgfaultInAccount) k.vmstat.pgfault++; // 5.19: count_vm_event(PGFAULT) at entry
  let ret = k.features.pgfaultInAccount ? sanitize_fault_flags(k, vma, flags) : 0;
  if (ret === 0) ret = __handle_mm_fault(k, vma, address, flags);
  mm_account_fault(k, regs, flags, ret);
  if (tr) leave(k, 'handle_mm_fault', vmFaultName(ret));
  return ret;
}

/** sanitize_fault_flags (6.x): a write to a never-writable mapping, or FOLL_FORCE on a non-COW one, is a bug → SIGSEGV. */
function sanitize_fault_flags(k: Kernel, vma: VmAreaStruct, flags: number): number {
  if (!(flags & FAULT_FLAG_WRITE) || (flags & FAULT_FLAG_UNSHARE)) return 0;
  if (!(vma.vm_flags & VM_MAYWRITE) || (!(vma.vm_flags & VM_WRITE) && !is_cow_mapping(vma.vm_flags))) {
    decision(k, 'sanitize_fault_flags', 'write-to-unwritable');
    return VM_FAULT_SIGSEGV;
  }
  return 0;
}

/**
 * mm_account_fault: errors and retries count nothing; a completed fault is major if the handler
 * said so or it was retried (FAULT_FLAG_TRIED). GUP (regs null) skips the perf events. 6.x
 * counts vmstat PGFAULT here, for every non-retry outcome.
 */
function mm_account_fault(k: Kernel, regs: object | null, flags: number, ret: number): void {
  if (ret & VM_FAULT_RETRY) return;
  if (k.features.pgfaultInAccount) k.vmstat.pgfault++;
  if (ret & VM_FAULT_ERROR) return;
  const major = (ret & VM_FAULT_MAJOR) !== 0 || (flags & FAULT_FLAG_TRIED) !== 0;
  if (major) k.current.maj_flt++;
  else k.current.min_flt++;
  if (k.machine.trace.enabled) decision(k, 'mm_account_fault', major ? 'major' : 'minor', regs ? undefined : 'gup: no perf event');
  if (regs === null) return;
  if (major) k.perf.page_faults_maj++;
  else k.perf.page_faults_min++;
}

/** __handle_mm_fault: allocate the upper tables (p4d/pud/pmd_alloc; THP=never) and go to the PTE level. */
function __handle_mm_fault(k: Kernel, vma: VmAreaStruct, address: number, flags: number): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, '__handle_mm_fault', SRC);
  const pmdPa = walk_alloc(k, vma.vm_mm, address, 2);
  let ret: number;
  if (pmdPa < 0) ret = VM_FAULT_OOM;
  else if ((ret = thp_pmd_fault(k, vma, address, flags, pmdPa)) !== VM_FAULT_FALLBACK) {
    // create_huge_pmd / wp_huge_pmd / huge_pmd_set_accessed handled it (mm/huge_memory.c)
  } else {
    const addr = address - (address % 4096);
    const vmf: VmFault = {
      vma, address: addr, real_address: address, flags, pgoff: vma.vm_pgoff + (addr - vma.vm_start) / 4096, pmdPa,
      ptePa: -1, orig_lo: 0, orig_hi: 0,
    };
    ret = handle_pte_fault(k, vmf);
  }
  if (tr) leave(k, '__handle_mm_fault', vmFaultName(ret));
  return ret;
}

/** handle_pte_fault: only dispatches (missing / swap / NUMA / write-protect / access flags). */
function handle_pte_fault(k: Kernel, vmf: VmFault): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'handle_pte_fault', SRC);
  const mem = k.machine.mem;
  const pmdLo = mem.read32(vmf.pmdPa);
  if (pmdLo & _PAGE_PRESENT) {
    const pa = entry_pfn(pmdLo, mem.read32(vmf.pmdPa + 4)) * 4096 + ((vmf.address / 4096) & 511) * 8;
    const lo = mem.read32(pa);
    const hi = mem.read32(pa + 4);
    vmf.flags |= FAULT_FLAG_ORIG_PTE_VALID;
    if (!pte_none(lo, hi)) {
      vmf.ptePa = pa;
      vmf.orig_lo = lo;
      vmf.orig_hi = hi;
    }
  }
  let ret: number;
  if (vmf.ptePa < 0) {
    if (tr) decision(k, 'handle_pte_fault', 'pte-missing' satisfies HandlePteFaultReason);
    ret = k.features.folios ? do_pte_missing(k, vmf) : vma_is_anonymous(vmf.vma) ? do_anonymous_page(k, vmf) : do_fault(k, vmf);
  } else if (!pte_present(vmf.orig_lo)) {
    if (tr) decision(k, 'handle_pte_fault', 'swap-entry' satisfies HandlePteFaultReason);
    ret = do_swap_page(k, vmf);
  } else if (pte_protnone(vmf.orig_lo) && vma_is_accessible(vmf.vma)) {
    if (tr) decision(k, 'handle_pte_fault', 'numa-hint' satisfies HandlePteFaultReason);
    ret = do_numa_page(k, vmf);
  } else if ((vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pte_write(vmf.orig_lo)) {
    if (tr) decision(k, 'handle_pte_fault', 'write-protected' satisfies HandlePteFaultReason);
    ret = do_wp_page(k, vmf);
  } else {
    ret = pte_set_access_flags(k, vmf);
  }
  if (tr) leave(k, 'handle_pte_fault', vmFaultName(ret));
  return ret;
}

/** The tail of handle_pte_fault: mkyoung (and mkdirty for a write); ptep_set_access_flags; a spurious fault changes nothing. */
function pte_set_access_flags(k: Kernel, vmf: VmFault): number {
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  const lo = (vmf.orig_lo | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)) >>> 0; // unsigned, as read32 returns
  const changed = lo !== vmf.orig_lo;
  decision(k, 'handle_pte_fault', (changed ? 'access-flags-updated' : 'spurious') satisfies HandlePteFaultReason);
  // x86 ptep_set_access_flags stores only when changed and dirty (a write).
  if (changed && write) set_entry(k, 'pt', vmf.ptePa, lo, vmf.orig_hi, vmf.address);
  else if (!changed && write && !(vmf.flags & FAULT_FLAG_TRIED)) flush_tlb_page(k, vmf.vma, vmf.address); // flush_tlb_fix_spurious_fault
  return 0;
}

/** do_pte_missing (6.x): anonymous → do_anonymous_page, else do_fault. */
function do_pte_missing(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_pte_missing', SRC);
  const ret = vma_is_anonymous(vmf.vma) ? do_anonymous_page(k, vmf) : do_fault(k, vmf);
  leave(k, 'do_pte_missing', vmFaultName(ret));
  return ret;
}

/** pte_mkyoung(mk_pte(pfn, prot)) [+ mkwrite/mkdirty]: the new PTE's words. */
export function mk_pte_lo(pfn: number, protLo: number, writeDirty: boolean): number {
  return (pfn_lo(pfn) | protLo | (writeDirty ? _PAGE_RW | _PAGE_DIRTY : 0)) >>> 0;
}

/** do_anonymous_page: a read maps the shared zero page (special, read-only); a write gets a zeroed page of its own. */
export function do_anonymous_page(k: Kernel, vmf: VmFault): number {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'do_anonymous_page', SRC);
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  let why: AnonPageReason;
  let ret = 0;
  if (vma.vm_flags & VM_SHARED) {
    why = 'shared-vma-sigbus';
    ret = VM_FAULT_SIGBUS;
  } else if ((vmf.ptePa = pte_alloc(k, vmf.pmdPa, vmf.address)) < 0) {
    why = 'pte-alloc-oom';
    ret = VM_FAULT_OOM;
  } else if (!(vmf.flags & FAULT_FLAG_WRITE)) {
    why = 'read-maps-zero-page';
    const prot = vma.vm_page_prot;
    set_entry(k, 'pt', vmf.ptePa, (pfn_lo(k.zero_pfn) | prot.lo | _PAGE_SPECIAL) >>> 0, pfn_hi(k.zero_pfn) | prot.hi, vmf.address);
  } else if ((ret = vmf_anon_prepare(k, vmf)) !== 0) {
    why = 'anon-vma-oom';
  } else {
    const pfn = k.memmap.alloc_page(k, k.features.folios ? 'alloc_anon_folio' : 'alloc_zeroed_user_highpage_movable');
    if (pfn < 0) {
      why = 'page-alloc-oom';
      ret = VM_FAULT_OOM;
    } else {
      why = 'new-anon-page';
      const prot = vma.vm_page_prot;
      mm.rss_stat.anon++; // inc_mm_counter_fast(MM_ANONPAGES)
      page_add_new_anon_rmap(k, pfn, vma);
      set_entry(k, 'pt', vmf.ptePa, mk_pte_lo(pfn, prot.lo, (vma.vm_flags & VM_WRITE) !== 0), pfn_hi(pfn) | prot.hi, vmf.address);
    }
  }
  if (tr) {
    decision(k, 'do_anonymous_page', why);
    leave(k, 'do_anonymous_page', vmFaultName(ret));
  }
  return ret;
}

/**
 * __vmf_anon_prepare (6.10+, mm/memory.c) / anon_vma_prepare (5.19): a VMA's first anon page needs
 * an anon_vma; under the per-VMA lock that takes mmap_lock for reading (trylock, else RETRY) around
 * __anon_vma_prepare. (6.8 returned RETRY at once; 6.18 has the trylock.)
 */
export function vmf_anon_prepare(k: Kernel, vmf: VmFault): number {
  const vma = vmf.vma;
  if (vma.anon_vma) return 0;
  // (no enter/leave of its own: the golden traces show its effects, the mmap_lock calls)
  const vmaLock = (vmf.flags & FAULT_FLAG_VMA_LOCK) !== 0;
  if (vmaLock && !mmap_read_trylock(k, vma.vm_mm)) return VM_FAULT_RETRY;
  const ret = anon_vma_prepare(k, vma) !== 0 ? VM_FAULT_OOM : 0;
  if (vmaLock) mmap_read_unlock(k, vma.vm_mm);
  return ret;
}

/** do_numa_page: a PROTNONE PTE in an accessible VMA gets its VMA protection back (no migration modelled). */
function do_numa_page(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_numa_page', SRC);
  const { lo, hi } = pte_modify(vmf.orig_lo, vmf.orig_hi, vmf.vma.vm_page_prot);
  set_entry(k, 'pt', vmf.ptePa, lo, hi, vmf.address);
  leave(k, 'do_numa_page', '0');
  return 0;
}

// --- shmem (a VMA with vm_ops) ---------------------------------------------------------------

/** fault_around_bytes (debugfs; default 64 KiB = 16 pages), kept in the fs globals. Below 2 pages there is no fault-around. */
const fault_around_pages = (k: Kernel): number => fsglobals(k).fault_around_bytes >> 12;

/** do_fault: read → do_read_fault; private write → do_cow_fault; shared write → do_shared_fault. */
function do_fault(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_fault', SRC);
  let ret: number;
  const why: DoFaultReason = !(vmf.flags & FAULT_FLAG_WRITE) ? 'read' : !(vmf.vma.vm_flags & VM_SHARED) ? 'cow' : 'shared';
  if (k.machine.trace.enabled) decision(k, 'do_fault', why);
  if (why === 'read') ret = do_read_fault(k, vmf);
  else if (why === 'cow') ret = do_cow_fault(k, vmf);
  else ret = do_shared_fault(k, vmf);
  leave(k, 'do_fault', vmFaultName(ret));
  return ret;
}

/**
 * __do_fault: vm_ops->fault (filemap_fault for a disk file, shmem_fault for shmem). The page, with a
 * reference for the caller, or -1 with the VM_FAULT bits that end the fault (errors, RETRY).
 */
function __do_fault(k: Kernel, vmf: VmFault): { ret: number; pfn: number } {
  const file = vmf.vma.vm_file!;
  if (is_regular_file(file)) return filemap_fault(k, vmf.vma, file, vmf.pgoff, vmf.flags);
  const pfn = shmem_fault(k, file, vmf.pgoff);
  return pfn === -1 ? { ret: VM_FAULT_OOM, pfn } : pfn === -2 ? { ret: VM_FAULT_SIGBUS, pfn } : { ret: 0, pfn };
}

/**
 * do_cow_fault: a write to a not-present page of a private file mapping: anon_vma_prepare, a new
 * page, __do_fault for the file page, copy it, map the copy writable and dirty as an anon page
 * (MM_ANONPAGES); the page-cache page is released, the file is not touched. No fault-around.
 */
function do_cow_fault(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_cow_fault', SRC);
  const vma = vmf.vma;
  let ret = vmf_anon_prepare(k, vmf);
  if (ret === 0) {
    const cow = k.memmap.alloc_page(k, k.features.folios ? 'folio_prealloc' : 'alloc_page_vma');
    if (cow < 0) ret = VM_FAULT_OOM;
    else {
      const f = __do_fault(k, vmf);
      ret = f.ret & ~VM_FAULT_LOCKED;
      if (f.pfn < 0) k.memmap.put_page(k, cow, 'do_cow_fault');
      else if ((vmf.ptePa = pte_alloc(k, vmf.pmdPa, vmf.address)) < 0) {
        k.memmap.put_page(k, cow, 'do_cow_fault');
        k.memmap.put_page(k, f.pfn, 'do_cow_fault');
        ret = VM_FAULT_OOM;
      } else {
        k.machine.mem.copyFrame(f.pfn, cow); // copy_user_highpage
        k.memmap.put_page(k, f.pfn, 'do_cow_fault'); // put_page(vmf->page): the cache keeps its own
        // finish_fault → do_set_pte with write && !VM_SHARED: the anon copy
        vma.vm_mm.rss_stat.anon++;
        page_add_new_anon_rmap(k, cow, vma);
        const prot = vma.vm_page_prot;
        set_entry(k, 'pt', vmf.ptePa, mk_pte_lo(cow, prot.lo, (vma.vm_flags & VM_WRITE) !== 0), pfn_hi(cow) | prot.hi, vmf.address);
      }
    }
  }
  leave(k, 'do_cow_fault', vmFaultName(ret));
  return ret;
}

/** do_read_fault: fault-around first (maps cached neighbours, maybe the target); else __do_fault + finish_fault. */
function do_read_fault(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_read_fault', SRC);
  let ret = fault_around_pages(k) > 1 ? do_fault_around(k, vmf) : 0; // should_fault_around
  if (ret === 0) ret = __do_fault_finish(k, vmf, false);
  leave(k, 'do_read_fault', vmFaultName(ret));
  return ret;
}

/** do_shared_fault: __do_fault; page_mkwrite (a disk file; shmem has none); finish_fault; fault_dirty_shared_page. */
function do_shared_fault(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_shared_fault', SRC);
  const ret = __do_fault_finish(k, vmf, true);
  leave(k, 'do_shared_fault', vmFaultName(ret));
  return ret;
}

function __do_fault_finish(k: Kernel, vmf: VmFault, write: boolean): number {
  const file = vmf.vma.vm_file!;
  const f = __do_fault(k, vmf);
  const pfn = f.pfn;
  if (pfn < 0) return f.ret;
  if (write && is_regular_file(file)) { // do_page_mkwrite
    const m = page_mkwrite(k, file, vmf.pgoff, pfn);
    if (m & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
      k.memmap.put_page(k, pfn);
      return m;
    }
  }
  if ((vmf.ptePa = pte_alloc(k, vmf.pmdPa, vmf.address)) < 0) {
    k.memmap.put_page(k, pfn);
    return VM_FAULT_OOM;
  }
  do_set_pte(k, vmf, pfn, vmf.address, write);
  if (write) k.memmap.flags[pfn]! |= PG_dirty; // fault_dirty_shared_page → set_page_dirty
  return f.ret & VM_FAULT_MAJOR; // (VM_FAULT_LOCKED is consumed by finish_fault's unlock_page)
}

/** do_set_pte (finish_fault): map a page-cache page; mm_counter_file (MM_SHMEMPAGES or MM_FILEPAGES)++; page_add_file_rmap. The caller holds a reference. */
function do_set_pte(k: Kernel, vmf: VmFault, pfn: number, addr: number, write: boolean): void {
  const vma = vmf.vma;
  const prot = vma.vm_page_prot;
  const pa = vmf.ptePa + ((addr - vmf.address) / 4096) * 8;
  let lo = (pfn_lo(pfn) | prot.lo) >>> 0;
  if (write) lo |= _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0);
  if (k.memmap.flags[pfn]! & PG_shmem) vma.vm_mm.rss_stat.shmem++;
  else vma.vm_mm.rss_stat.file++;
  page_add_file_rmap(k, pfn);
  set_entry(k, 'pt', pa, lo >>> 0, pfn_hi(pfn) | prot.hi, addr);
}

/** do_fault_around → filemap_map_pages: map cached pages of the 64 KiB window into empty PTEs. NOPAGE if the target got mapped. */
function do_fault_around(k: Kernel, vmf: VmFault): number {
  enter(k, 'do_fault_around', SRC);
  const vma = vmf.vma;
  const file = vma.vm_file!;
  const nr = fault_around_pages(k);
  const start = Math.max(vmf.address - (vmf.address % (nr * 4096)), vma.vm_start);
  const tableEnd = vmf.address - (vmf.address % 0x200000) + 0x200000;
  const end = Math.min(tableEnd, vma.vm_end, start + nr * 4096);
  let ret = 0;
  const base = pte_alloc(k, vmf.pmdPa, vmf.address);
  if (base < 0) {
    leave(k, 'do_fault_around', vmFaultName(VM_FAULT_OOM));
    return VM_FAULT_OOM;
  }
  vmf.ptePa = base;
  for (let a = start; a < end; a += 4096) {
    const pgoff = vma.vm_pgoff + (a - vma.vm_start) / 4096;
    if (pgoff >= file.size) break; // filemap_map_pages: nothing at or past EOF (i_size)
    const pfn = shmem_find_page(file, pgoff);
    if (pfn < 0 || page_readahead(file, pgoff)) continue; // next_uptodate_folio skips the readahead mark
    const pa = base + ((a - vmf.address) / 4096) * 8;
    if (!pte_none(read_lo(k, pa), read_hi(k, pa))) continue;
    k.memmap.get_page(pfn);
    do_set_pte(k, vmf, pfn, a, false);
    if (a === vmf.address) ret = VM_FAULT_NOPAGE;
  }
  decision(k, 'do_fault_around', ret ? 'target-mapped' : 'target-not-mapped'); // not cached, PG_readahead, or past EOF
  leave(k, 'do_fault_around', vmFaultName(ret));
  return ret;
}

// The 6.x lock helpers live in mm/mmap_lock.c (6.18); the arch fault path imports them from here too.
export { lock_mm_and_find_vma, lock_vma_under_rcu, vma_end_read } from './mmap_lock.js';
/** follow_pte is in mm/memory.c; the model keeps the page-table code in arch/x86/mm/pgtable.ts. */
export { follow_pte } from '../arch/x86/mm/pgtable.js';
