// The page cache side of file faults (mm/filemap.c, 5.19 and 6.18): filemap_fault (a cached page
// is a minor fault; a missing one is read from the disk by the synchronous mmap readahead, counted
// PGMAJFAULT and VM_FAULT_MAJOR, and the fault is retried with the lock dropped), the page_mkwrite
// of a disk file (ext4_page_mkwrite, fs/ext4/inode.c: the page is dirtied), filemap_read (pread)
// and MADV_WILLNEED. 5.19 reaches it through ext4_filemap_fault; 6.18 calls filemap_fault directly.
// Simplified: no page locks (one thread), no large folios, no writeback.

import { type LinuxFile } from '../fs/fs.js';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, VM_FAULT_LOCKED,
  VM_FAULT_MAJOR, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_RAND_READ, VM_SEQ_READ, type VmAreaStruct,
} from '../include/linux/mm_types.js';
import { mmap_read_unlock } from '../include/linux/mmap_lock.js';
import type { Kernel } from '../types.js';
import { vma_end_read } from './mmap_lock.js';
import { decision, enter, leave, vmFaultName } from './mmtrace.js';
import { PG_dirty } from './page_alloc.js';
import { force_page_cache_ra, page_cache_async_ra, page_cache_ra_unbounded, page_cache_sync_ra } from './readahead.js';

const SRC = 'mm/filemap.c';
/** MMAP_LOTSAMISS: past this many mmap misses, read-around stops (only the faulting page is read). */
export const MMAP_LOTSAMISS = 100;

export type FilemapFaultReason = 'beyond-eof' | 'page-cache-hit' | 'page-cache-miss';
export type SyncMmapRaReason = 'random-no-readahead' | 'sequential' | 'too-many-misses' | 'read-around';

/** The result of vm_ops->fault: VM_FAULT_* bits and, unless an error or RETRY, the page (a reference taken). */
export interface FaultPage {
  ret: number;
  pfn: number;
}

/** fault_flag_allow_retry_first: may this fault drop the lock for I/O (and then return RETRY)? */
function fault_flag_allow_retry_first(flags: number): boolean {
  return (flags & FAULT_FLAG_ALLOW_RETRY) !== 0 && (flags & FAULT_FLAG_TRIED) === 0;
}

/**
 * maybe_unlock_mmap_for_io: before waiting for I/O on a first attempt, pin the file and drop the
 * fault's lock (release_fault_lock: the VMA lock in 6.x, else mmap_lock). True if dropped.
 * The model's GUP (regs = NULL) keeps its lock, and counts the same: its RETRY would be major too.
 */
function maybe_unlock_mmap_for_io(k: Kernel, vma: VmAreaStruct, flags: number): boolean {
  if (!fault_flag_allow_retry_first(flags) || flags & FAULT_FLAG_RETRY_NOWAIT || !(flags & FAULT_FLAG_USER)) return false;
  if (flags & FAULT_FLAG_VMA_LOCK) vma_end_read(k, vma);
  else mmap_read_unlock(k, vma.vm_mm);
  return true;
}

/**
 * do_sync_mmap_readahead: on a miss, MADV_RANDOM reads nothing ahead (only the page, later);
 * MADV_SEQUENTIAL reads ra_pages from the page on (page_cache_sync_ra, first-read case); otherwise
 * read-around: ra_pages centred on the page (start = pgoff - ra_pages/2), unless there were more
 * than MMAP_LOTSAMISS misses. Returns whether the lock was dropped (fpin).
 */
function do_sync_mmap_readahead(k: Kernel, vma: VmAreaStruct, file: LinuxFile, pgoff: number, flags: number): boolean {
  enter(k, 'do_sync_mmap_readahead', SRC);
  const ra = file.f_ra;
  let why: SyncMmapRaReason;
  let fpin = false;
  if (vma.vm_flags & VM_RAND_READ || !ra.ra_pages) {
    why = 'random-no-readahead';
  } else if (vma.vm_flags & VM_SEQ_READ) {
    why = 'sequential';
    fpin = maybe_unlock_mmap_for_io(k, vma, flags);
    // page_cache_sync_ra(ra_pages): a first read (index 0) starts a window with a lookahead mark;
    // elsewhere, with no history, do_page_cache_ra(ra_pages, 0) reads ahead without one
    ra.start = pgoff;
    ra.size = ra.ra_pages;
    ra.async_size = pgoff === 0 ? ra.ra_pages >> 1 : 0;
    page_cache_ra_unbounded(k, file.f_inode, pgoff, ra.ra_pages, ra.async_size);
  } else {
    if (ra.mmap_miss < MMAP_LOTSAMISS * 10) ra.mmap_miss++;
    if (ra.mmap_miss > MMAP_LOTSAMISS) {
      why = 'too-many-misses';
    } else {
      why = 'read-around';
      fpin = maybe_unlock_mmap_for_io(k, vma, flags);
      ra.start = Math.max(0, pgoff - (ra.ra_pages >> 1));
      ra.size = ra.ra_pages;
      ra.async_size = ra.ra_pages >> 2;
      page_cache_ra_unbounded(k, file.f_inode, ra.start, ra.size, ra.async_size);
    }
  }
  if (k.machine.trace.enabled) decision(k, 'do_sync_mmap_readahead', why, fpin ? 'the fault lock is dropped for the I/O' : undefined);
  leave(k, 'do_sync_mmap_readahead');
  return fpin;
}

/**
 * do_async_mmap_readahead: on a hit, the miss count decays; a hit on the PG_readahead page starts
 * the next window (the lock is dropped for it: the fault then returns RETRY, not MAJOR). Returns
 * whether the lock was dropped.
 */
function do_async_mmap_readahead(k: Kernel, vma: VmAreaStruct, file: LinuxFile, pgoff: number, flags: number): boolean {
  const ra = file.f_ra;
  if (vma.vm_flags & VM_RAND_READ || !ra.ra_pages) return false;
  if (ra.mmap_miss > 0) ra.mmap_miss--;
  if (!file.f_inode.i_mapping.readahead.has(pgoff)) return false;
  enter(k, 'do_async_mmap_readahead', SRC);
  const fpin = maybe_unlock_mmap_for_io(k, vma, flags);
  page_cache_async_ra(k, file, pgoff);
  leave(k, 'do_async_mmap_readahead', fpin ? 'the fault lock was dropped' : undefined);
  return fpin;
}

/**
 * filemap_fault: the page at pgoff from the page cache. Past EOF → SIGBUS. A hit is minor (an
 * async readahead from the PG_readahead page returns RETRY: 5.19 then counts the fault major). A
 * miss counts PGMAJFAULT and VM_FAULT_MAJOR, runs the sync readahead, and reads the page itself if
 * readahead did not; if the lock was dropped for the I/O the fault returns RETRY (the caller
 * retries with FAULT_FLAG_TRIED and finds the page cached).
 */
export function filemap_fault(k: Kernel, vma: VmAreaStruct, file: LinuxFile, pgoff: number, flags: number): FaultPage {
  if (k.version !== '5.19') return __filemap_fault(k, vma, file, pgoff, flags);
  // 5.19: ext4_file_vm_ops.fault is ext4_filemap_fault (fs/ext4/inode.c), which takes the
  // invalidate lock shared around filemap_fault; 6.x ext4 points .fault at filemap_fault itself.
  enter(k, 'ext4_filemap_fault', 'fs/ext4/inode.c');
  const r = __filemap_fault(k, vma, file, pgoff, flags);
  leave(k, 'ext4_filemap_fault', vmFaultName(r.ret));
  return r;
}

function __filemap_fault(k: Kernel, vma: VmAreaStruct, file: LinuxFile, pgoff: number, flags: number): FaultPage {
  const tr = k.machine.trace.enabled;
  if (tr) enter(k, 'filemap_fault', SRC, { pgoff: String(pgoff) });
  const done = (why: FilemapFaultReason, ret: number, pfn: number): FaultPage => {
    if (tr) {
      decision(k, 'filemap_fault', why);
      leave(k, 'filemap_fault', vmFaultName(ret));
    }
    return { ret, pfn };
  };
  const inode = file.f_inode;
  const maxIdx = Math.ceil(inode.i_size / 4096);
  if (pgoff >= maxIdx) return done('beyond-eof', VM_FAULT_SIGBUS, -1);
  let ret = 0;
  let pfn = inode.i_mapping.i_pages.get(pgoff);
  let why: FilemapFaultReason;
  let fpin = false;
  if (pfn !== undefined) {
    why = 'page-cache-hit';
    if (!(flags & FAULT_FLAG_TRIED)) fpin = do_async_mmap_readahead(k, vma, file, pgoff, flags);
  } else {
    why = 'page-cache-miss';
    k.vmstat.pgmajfault++; // count_vm_event(PGMAJFAULT)
    ret = VM_FAULT_MAJOR;
    fpin = do_sync_mmap_readahead(k, vma, file, pgoff, flags);
    pfn = inode.i_mapping.i_pages.get(pgoff);
    if (pfn === undefined) {
      // __filemap_get_folio(FGP_CREAT) then page_not_uptodate: read this one page
      if (!fpin) fpin = maybe_unlock_mmap_for_io(k, vma, flags);
      page_cache_ra_unbounded(k, inode, pgoff, 1);
      pfn = inode.i_mapping.i_pages.get(pgoff);
      if (pfn === undefined) return done(why, VM_FAULT_OOM, -1);
    }
  }
  if (fpin) return done(why, ret | VM_FAULT_RETRY, -1); // out_retry: the page stays cached
  k.memmap.get_page(pfn);
  return done(why, ret | VM_FAULT_LOCKED, pfn);
}

/**
 * ext4_page_mkwrite (fs/ext4/inode.c; generic filemap_page_mkwrite is the same for this model):
 * a page truncated away or past EOF → NOPAGE (refault); else dirty it (set_page_dirty,
 * file_update_time) and return it locked.
 */
export function page_mkwrite(k: Kernel, file: LinuxFile, pgoff: number, pfn: number): number {
  enter(k, 'ext4_page_mkwrite', 'fs/ext4/inode.c');
  let ret: number;
  if (file.f_inode.i_mapping.i_pages.get(pgoff) !== pfn || pgoff * 4096 >= file.f_inode.i_size) {
    decision(k, 'ext4_page_mkwrite', 'page-gone');
    ret = VM_FAULT_NOPAGE;
  } else {
    k.memmap.flags[pfn]! |= PG_dirty;
    decision(k, 'ext4_page_mkwrite', 'page-dirtied');
    ret = VM_FAULT_LOCKED;
  }
  leave(k, 'ext4_page_mkwrite', vmFaultName(ret));
  return ret;
}

/**
 * filemap_read (pread(2) through generic_file_read_iter): `size` bytes at `pos` from the page
 * cache, reading missing pages from the disk first (page_cache_sync_ra); 0 bytes at or past EOF.
 * The model opens a fresh struct file for each pread, so its readahead state is new each time.
 * Returns the bytes (little-endian value) and how many were read.
 */
export function filemap_read(k: Kernel, file: LinuxFile, pos: number, size: number): { value: bigint; n: number } {
  enter(k, 'filemap_read', SRC);
  const inode = file.f_inode;
  const n = Math.max(0, Math.min(size, inode.i_size - pos));
  let value = 0n;
  for (let i = n - 1; i >= 0; i--) {
    const off = pos + i;
    const index = Math.floor(off / 4096);
    let pfn = inode.i_mapping.i_pages.get(index);
    if (pfn === undefined) {
      page_cache_sync_ra(k, file, index, Math.ceil((pos + n) / 4096) - Math.floor(pos / 4096));
      pfn = inode.i_mapping.i_pages.get(index);
    }
    const b = pfn === undefined ? 0 : k.machine.mem.read8(pfn * 4096 + (off % 4096));
    value = (value << 8n) | BigInt(b);
  }
  leave(k, 'filemap_read', String(n));
  return { value, n };
}

/** madvise_willneed on a file VMA → vfs_fadvise(POSIX_FADV_WILLNEED): read the range into the cache now. */
export function filemap_willneed(k: Kernel, file: LinuxFile, pgoff: number, pages: number): void {
  enter(k, 'generic_fadvise', 'mm/fadvise.c');
  force_page_cache_ra(k, file.f_inode, pgoff, pages);
  leave(k, 'generic_fadvise', '0');
}
