// Readahead (mm/readahead.c, 5.19 and 6.18): reading a window of a file's pages from the disk into
// the page cache. Simplified: synchronous I/O (a page read is in the cache and uptodate at once);
// no PG_readahead marker and so no asynchronous readahead (page_cache_async_ra); no large folios
// (6.18 page_cache_ra_order falls back to order-0 pages here); no context readahead.

import type { Inode, LinuxFile } from '../fs/fs.js';
import { add_to_page_cache, fill_page, fsglobals } from '../fs/fs.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave } from './mmtrace.js';

/**
 * page_cache_ra_unbounded (reached through do_page_cache_ra, which clips the window at EOF):
 * allocate and read every page of [index, index+nr) that is not cached yet. Returns the pages read.
 */
export function page_cache_ra_unbounded(k: Kernel, inode: Inode, index: number, nr: number): number {
  const fn = 'page_cache_ra_unbounded';
  enter(k, fn, 'mm/readahead.c', { index: String(index), nr_to_read: String(nr) });
  const endIndex = Math.ceil(inode.i_size / 4096); // do_page_cache_ra: nothing at or past EOF
  const last = Math.min(index + nr, endIndex);
  let read = 0;
  for (let i = Math.max(0, index); i < last; i++) {
    if (inode.i_mapping.i_pages.has(i)) continue; // already cached: read_pages of the batch so far, skip
    const pfn = k.memmap.alloc_page(k, k.features.folios ? 'ractl_alloc_folio' : '__page_cache_alloc');
    if (pfn < 0) break; // out of memory: read what we have
    fill_page(k, inode, i, pfn); // read_pages → ->readahead (ext4_readahead → block I/O)
    add_to_page_cache(k, inode, i, pfn);
    read++;
  }
  fsglobals(k).disk_reads += read;
  if (k.machine.trace.enabled) decision(k, fn, read ? 'pages-read-from-disk' : 'all-cached', `[${index}, ${last}): ${read} pages read`);
  leave(k, fn, String(read));
  return read;
}

/**
 * force_page_cache_ra (MADV_WILLNEED / POSIX_FADV_WILLNEED, and a read with no readahead state):
 * read [index, index+nr) in chunks of at most 2 MiB, ignoring the readahead window.
 */
export function force_page_cache_ra(k: Kernel, inode: Inode, index: number, nr: number): number {
  enter(k, 'force_page_cache_ra', 'mm/readahead.c');
  const n = page_cache_ra_unbounded(k, inode, index, nr);
  leave(k, 'force_page_cache_ra', String(n));
  return n;
}

/**
 * get_init_ra_size: the first window for a read of req pages: a small request is read ahead 4x
 * (or 2x) of its power-of-two size, up to max.
 */
export function get_init_ra_size(req: number, max: number): number {
  let size = 2 ** Math.ceil(Math.log2(Math.max(1, req)));
  if (size <= max / 32) size *= 4;
  else if (size <= max / 4) size *= 2;
  else size = max;
  return size;
}

/**
 * page_cache_sync_ra (read(2) missing a page): the first read of a file (index 0) or one right
 * after the previous (index - prev <= 1) starts a window of get_init_ra_size; otherwise, with no
 * sequential history in the cache (page_cache_prev_miss), only the requested pages are read; a
 * cached run just before the index (a stream) reads min(run + req, ra_pages).
 */
export function page_cache_sync_ra(k: Kernel, file: LinuxFile, index: number, req: number): number {
  enter(k, 'page_cache_sync_ra', 'mm/readahead.c');
  const ra = file.f_ra;
  const max = Math.max(ra.ra_pages, 1);
  const prev = ra.start + ra.size - 1; // the model keeps no prev_pos: the end of the last window
  let size: number;
  if (index === 0 || (ra.size > 0 && index - prev <= 1) || req > max) {
    size = get_init_ra_size(req, max);
  } else {
    let run = 0;
    while (run < max && index - run - 1 >= 0 && file.f_inode.i_mapping.i_pages.has(index - run - 1)) run++;
    size = run <= req ? req : Math.min(run + req, max);
  }
  ra.start = index;
  ra.size = size;
  const n = page_cache_ra_unbounded(k, file.f_inode, index, size);
  leave(k, 'page_cache_sync_ra', String(n));
  return n;
}
