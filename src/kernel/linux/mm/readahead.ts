// Readahead (mm/readahead.c, 5.19 and 6.18): reading a window of a file's pages from the disk into
// the page cache. A window of `size` pages leaves the PG_readahead mark on the page `async_size`
// from its end; a hit on that page starts the next window (page_cache_async_ra). Where the mark
// goes differs: 5.19 (do_page_cache_ra → page_cache_ra_unbounded) counts from the end of the
// window clipped at EOF; 6.18's ext4 has large folios, so page_cache_ra_order counts from the
// unclipped window (a mark past EOF is never set). Simplified: synchronous I/O (a page read is
// uptodate at once); order-0 pages only; no context readahead for read(2) beyond a cached run.

import type { Inode, LinuxFile } from '../fs/fs.js';
import { add_to_page_cache, fill_page, fsglobals } from '../fs/fs.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave } from './mmtrace.js';

/**
 * page_cache_ra_unbounded (reached through do_page_cache_ra, which clips the window at EOF, or
 * 6.18's page_cache_ra_order): allocate and read every page of [index, index+nr) that is not
 * cached yet; the newly read page at the lookahead mark gets PG_readahead. Returns the pages read.
 */
export function page_cache_ra_unbounded(k: Kernel, inode: Inode, index: number, nr: number, lookahead = 0): number {
  const fn = 'page_cache_ra_unbounded';
  enter(k, fn, 'mm/readahead.c', { index: String(index), nr_to_read: String(nr) });
  const endIndex = Math.ceil(inode.i_size / 4096); // do_page_cache_ra: nothing at or past EOF
  const last = Math.min(index + nr, endIndex);
  const clipped = last - index;
  const mark = k.version === '5.19'
    ? (lookahead > 0 && lookahead <= clipped ? last - lookahead : -1)
    : (lookahead > 0 && lookahead <= nr ? index + nr - lookahead : -1);
  let read = 0;
  for (let i = Math.max(0, index); i < last; i++) {
    if (inode.i_mapping.i_pages.has(i)) continue; // already cached: read_pages of the batch so far, skip
    const pfn = k.memmap.alloc_page(k, k.features.folios ? 'ractl_alloc_folio' : '__page_cache_alloc');
    if (pfn < 0) break; // out of memory: read what we have
    fill_page(k, inode, i, pfn); // read_pages → ->readahead (ext4_readahead → block I/O)
    add_to_page_cache(k, inode, i, pfn);
    if (i === mark) inode.i_mapping.readahead.add(i); // folio_set_readahead
    read++;
  }
  fsglobals(k).disk_reads += read;
  if (k.machine.trace.enabled) {
    const marked = mark >= 0 && inode.i_mapping.readahead.has(mark) ? `, PG_readahead on ${mark}` : '';
    decision(k, fn, read ? 'pages-read-from-disk' : 'all-cached', `[${index}, ${last}): ${read} pages read${marked}`);
  }
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
  ra.async_size = size > req ? size - req : size >> 1;
  const n = page_cache_ra_unbounded(k, file.f_inode, index, size, ra.async_size);
  leave(k, 'page_cache_sync_ra', String(n));
  return n;
}

/** get_next_ra_size: the next window: 4x a small one, 2x a medium one, else the maximum. */
export function get_next_ra_size(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/**
 * page_cache_async_ra: a hit on the page marked PG_readahead (`index`) clears the mark and reads
 * the next window ahead of the reader: right after the current one if the mark is where the window
 * put it, else (a marked page without its window) from the first page not cached after it.
 */
export function page_cache_async_ra(k: Kernel, file: LinuxFile, index: number, req = 1): number {
  enter(k, 'page_cache_async_ra', 'mm/readahead.c');
  const ra = file.f_ra;
  const max = Math.max(ra.ra_pages, 1);
  const pages = file.f_inode.i_mapping;
  pages.readahead.delete(index); // folio_clear_readahead
  if (index === ra.start + ra.size - ra.async_size) {
    decision(k, 'page_cache_async_ra', 'ramp-up', `window [${ra.start + ra.size}, +${get_next_ra_size(ra.size, max)})`);
    ra.start += ra.size;
    ra.size = Math.max(ra.size, get_next_ra_size(ra.size, max));
    ra.async_size = ra.size;
  } else {
    let next = index + 1; // page_cache_next_miss
    while (next - index <= max && pages.i_pages.has(next)) next++;
    if (next - index > max) {
      decision(k, 'page_cache_async_ra', 'no-window');
      leave(k, 'page_cache_async_ra', '0');
      return 0;
    }
    decision(k, 'page_cache_async_ra', 'marked-without-window');
    ra.start = next;
    ra.size = get_next_ra_size(next - index + req, max);
    ra.async_size = ra.size;
  }
  const n = page_cache_ra_unbounded(k, file.f_inode, ra.start, ra.size, ra.async_size);
  leave(k, 'page_cache_async_ra', String(n));
  return n;
}
