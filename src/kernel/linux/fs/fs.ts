// A simulated file system for the Linux model (issue 5): inodes whose data lives on a disk outside
// RAM (or, for tmpfs files, only in their page cache), each with its page cache (struct address_space, the i_pages xarray reduced to a Map from
// page index to PFN), struct file with its open mode and readahead state, a per-task descriptor
// table, and drop_caches (fs/drop_caches.c). The file system behaves like ext4 on a block device:
// its files have a page_mkwrite (so shared writable mappings are write-notified) and reading a
// page that is not cached is disk I/O. Simplified: one directory of names, no permissions beyond
// the open mode, no writeback (dirty pages stay in the cache; the disk copy is what the file held
// when created), no truncate. A tmpfs file is a shmem inode: mapped with shmem's vm_ops (no
// page_mkwrite, so no writenotify; shmem_fault, never a major fault), and drop_caches leaves it.

import type { ShmemFile } from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { decision, enter, leave } from '../mm/mmtrace.js';
import { PG_dirty, PG_lru, PG_shmem, PG_swapbacked, PG_uptodate } from '../mm/page_alloc.js';

/** struct address_space, reduced: the cached pages of one inode. */
export interface AddressSpace {
  /** i_pages: page index -> PFN. The cache holds one reference on each page. */
  readonly i_pages: Map<number, number>;
  /** Page indexes whose page is PageReadahead (the lookahead mark of a readahead window). */
  readonly readahead: Set<number>;
}

/** struct inode of a regular file. */
export interface Inode {
  readonly i_ino: number;
  readonly name: string;
  /** i_size in bytes. */
  i_size: number;
  /** The blocks on the disk: the file's data as written at creation (no writeback modelled). */
  readonly disk: Uint8Array;
  readonly i_mapping: AddressSpace;
  /** A tmpfs (shmem) file: its pages are swap-backed, not clean page cache over a disk. */
  readonly tmpfs: boolean;
}

/** struct file_ra_state (include/linux/fs.h): the per-open-file readahead window. */
export interface FileRaState {
  start: number;
  size: number;
  async_size: number;
  /** ra_pages: the maximum window, from the backing device (bdi->ra_pages). */
  ra_pages: number;
  /** mmap_miss: page-cache misses of mmap faults (read-around stops past MMAP_LOTSAMISS). */
  mmap_miss: number;
}

/**
 * struct file. Shaped like the model's ShmemFile (name, size in pages, the page cache, mappers)
 * so a VMA's vm_file can hold either; vm_ops tells them apart ('filemap' here).
 */
export interface LinuxFile extends ShmemFile {
  readonly f_inode: Inode;
  /** FMODE_READ / FMODE_WRITE from the open flags. */
  readonly f_mode: { read: boolean; write: boolean };
  readonly f_ra: FileRaState;
}

/** The file system of one Linux machine (one per Kernel, created on first use). */
export interface FsGlobals {
  readonly inodes: Map<string, Inode>;
  /** Descriptor tables by pid (struct files_struct). */
  readonly fdt: Map<number, Map<number, LinuxFile>>;
  last_ino: number;
  /** Pages read from the disk (block I/O submitted by readahead or a read). */
  disk_reads: number;
  /** VM_READAHEAD_PAGES: 128 KiB = 32 pages (the default bdi->ra_pages; the host's disk may say more). */
  ra_pages: number;
  /**
   * fault_around_bytes (mm/memory.c, debugfs; rounded down to a power of two, at most a PTE
   * table): 64 KiB. Kept here with the other page-cache knobs; 4096 turns fault-around off.
   */
  fault_around_bytes: number;
}

const FS_KEY = Symbol('linux fs');
type WithFs = Kernel & { [FS_KEY]?: FsGlobals };

/** The machine's file system. */
export function fsglobals(k: Kernel): FsGlobals {
  const kk = k as WithFs;
  let g = kk[FS_KEY];
  if (!g) {
    g = { inodes: new Map(), fdt: new Map(), last_ino: 11, disk_reads: 0, ra_pages: 32, fault_around_bytes: 65536 };
    kk[FS_KEY] = g;
  }
  return g;
}

/**
 * Create a regular file (open(O_CREAT|O_TRUNC) + write + fsync, as the conformance probe does):
 * the data goes to the disk and, as write(2) leaves it, into the page cache, clean and uptodate.
 * When RAM runs out the rest of the file stays uncached.
 */
export function create_file(k: Kernel, name: string, data: Uint8Array, tmpfs = false): Inode {
  const fn = tmpfs ? 'shmem_create' : 'ext4_create';
  enter(k, fn, tmpfs ? 'mm/shmem.c' : 'fs/ext4/namei.c');
  const g = fsglobals(k);
  const old = g.inodes.get(name);
  if (old) evict_inode(k, old);
  const inode: Inode = { i_ino: ++g.last_ino, name, i_size: data.length, disk: data, i_mapping: { i_pages: new Map(), readahead: new Set() }, tmpfs };
  g.inodes.set(name, inode);
  const pages = Math.ceil(data.length / 4096);
  for (let i = 0; i < pages; i++) {
    const pfn = k.memmap.alloc_page(k, tmpfs ? 'shmem_alloc_folio' : 'generic_perform_write');
    if (pfn < 0) break;
    fill_page(k, inode, i, pfn);
    add_to_page_cache(k, inode, i, pfn);
    if (tmpfs) k.memmap.flags[pfn]! |= PG_shmem | PG_swapbacked | PG_dirty;
  }
  if (k.machine.trace.enabled) decision(k, fn, 'written-and-cached', `${name}: ${data.length} bytes, ${inode.i_mapping.i_pages.size} pages cached`);
  leave(k, fn, `ino ${inode.i_ino}`);
  return inode;
}

/** The page's bytes from the disk (zeros past i_size: the tail of the EOF page). The frame is zeroed. */
export function fill_page(k: Kernel, inode: Inode, index: number, pfn: number): void {
  const mem = k.machine.mem;
  const from = index * 4096;
  const to = Math.min(inode.i_size, from + 4096);
  const d = inode.disk;
  for (let off = from; off < to; off += 4) {
    const v = (d[off] ?? 0) | ((d[off + 1] ?? 0) << 8) | ((d[off + 2] ?? 0) << 16) | ((d[off + 3] ?? 0) << 24);
    if (v !== 0) mem.write32(pfn * 4096 + (off - from), v >>> 0);
  }
}

/** __filemap_add_folio: the page joins the cache (uptodate, on the LRU, one reference held by the cache). */
export function add_to_page_cache(k: Kernel, inode: Inode, index: number, pfn: number): void {
  k.memmap.flags[pfn]! |= PG_uptodate | PG_lru;
  inode.i_mapping.i_pages.set(index, pfn);
}

/** Drop an inode that a new file of the same name replaces (its mapped pages stay until unmapped). */
function evict_inode(k: Kernel, inode: Inode): void {
  for (const pfn of inode.i_mapping.i_pages.values()) k.memmap.put_page(k, pfn, 'truncate_inode_pages');
  inode.i_mapping.i_pages.clear();
  inode.i_mapping.readahead.clear();
  fsglobals(k).inodes.delete(inode.name);
}

// --- open files -----------------------------------------------------------------------------

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;

/** do_sys_open: a descriptor for `name` in the current task (-ENOENT if there is no such file). */
export function do_sys_open(k: Kernel, name: string, accmode: number): number {
  const g = fsglobals(k);
  const inode = g.inodes.get(name);
  if (!inode) return -2; // -ENOENT
  const file: LinuxFile = {
    name: inode.name,
    get size(): number { return Math.ceil(inode.i_size / 4096); },
    pages: inode.i_mapping.i_pages,
    mappers: 0,
    f_inode: inode,
    f_mode: { read: accmode !== O_WRONLY, write: accmode !== O_RDONLY },
    f_ra: { start: 0, size: 0, async_size: 0, ra_pages: g.ra_pages, mmap_miss: 0 },
  };
  const pid = k.current.pid;
  let t = g.fdt.get(pid);
  if (!t) g.fdt.set(pid, (t = new Map()));
  let fd = 3;
  while (t.has(fd)) fd++;
  t.set(fd, file);
  return fd;
}

/** fget: the open file behind a descriptor of the current task, or null (EBADF). */
export function fget(k: Kernel, fd: number): LinuxFile | null {
  return fsglobals(k).fdt.get(k.current.pid)?.get(fd) ?? null;
}

/** close_fd: the descriptor goes; mappings keep the struct file (their own reference). */
export function close_fd(k: Kernel, fd: number): void {
  fsglobals(k).fdt.get(k.current.pid)?.delete(fd);
}

/** PageReadahead of a cached page of a disk file (filemap_map_pages leaves such pages unmapped). */
export function page_readahead(f: ShmemFile, index: number): boolean {
  return 'f_inode' in f && (f as LinuxFile).f_inode.i_mapping.readahead.has(index);
}

/** Is this vm_file an open file of this fs (disk or tmpfs), not the shmem of MAP_SHARED|MAP_ANONYMOUS? */
export function is_fs_file(f: ShmemFile | null): f is LinuxFile {
  return f !== null && 'f_inode' in f;
}

/** Is this vm_file a disk file (page cache over a disk, ext4's vm_ops with page_mkwrite)? */
export function is_regular_file(f: ShmemFile | null): f is LinuxFile {
  return is_fs_file(f) && !f.f_inode.tmpfs;
}

// --- drop_caches ------------------------------------------------------------------------------

/**
 * drop_caches_sysctl_handler (fs/drop_caches.c), value 1: iterate_supers → drop_pagecache_sb →
 * invalidate_mapping_pages on every inode, which drops the pages that are clean, unmapped and not
 * otherwise referenced. Dirty or mapped pages stay. Returns the number of pages dropped.
 */
export function drop_pagecache(k: Kernel): number {
  enter(k, 'drop_pagecache_sb', 'fs/drop_caches.c');
  let dropped = 0;
  let kept = 0;
  for (const inode of fsglobals(k).inodes.values()) {
    if (inode.tmpfs) continue; // shmem pages are swap-backed: invalidate_mapping_pages cannot drop them
    const m = inode.i_mapping;
    for (const [index, pfn] of [...m.i_pages]) {
      if (k.memmap.flags[pfn]! & PG_dirty || k.memmap.mapcount[pfn]! > 0 || k.memmap.refcount[pfn]! > 1) {
        kept++;
        continue;
      }
      m.i_pages.delete(index); // mapping_evict_folio / remove_mapping
      m.readahead.delete(index);
      k.memmap.put_page(k, pfn, 'invalidate_mapping_pages');
      dropped++;
    }
  }
  if (k.machine.trace.enabled) decision(k, 'invalidate_mapping_pages', dropped ? 'pages-dropped' : 'nothing-dropped', `${dropped} dropped, ${kept} kept (dirty or mapped)`);
  leave(k, 'drop_pagecache_sb', String(dropped));
  return dropped;
}
