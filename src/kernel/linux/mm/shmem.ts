// Shared anonymous memory is shmem (mm/shmem.c, 5.19 and 6.18): mmap(MAP_SHARED|MAP_ANONYMOUS)
// calls shmem_zero_setup, which backs the VMA with an unlinked tmpfs file ("/dev/zero (deleted)")
// and gives it shmem_vm_ops, so it is not vma_is_anonymous. shmem_fault finds or allocates the
// page in that file's page cache. Simplified: no swap, no huge pages, no fallocate.

import type { ShmemFile, VmAreaStruct } from '../include/linux/mm_types.js';
import type { Kernel } from '../types.js';
import { mmglobals } from './mm_init.js';
import { decision, enter, leave } from './mmtrace.js';
import { PG_lru, PG_shmem, PG_swapbacked, PG_uptodate } from './page_alloc.js';

/** shmem_zero_setup: attach a fresh shmem file of the VMA's size. */
export function shmem_zero_setup(k: Kernel, vma: VmAreaStruct): number {
  enter(k, 'shmem_zero_setup', 'mm/shmem.c');
  const id = ++mmglobals(k).last_shmem_id;
  const file: ShmemFile = { name: `dev/zero#${id}`, size: (vma.vm_end - vma.vm_start) / 4096, pages: new Map(), mappers: 1 };
  vma.vm_file = file;
  vma.vm_ops = 'shmem';
  leave(k, 'shmem_zero_setup', '0');
  return 0;
}

/** The page cache lookup half of filemap_map_pages: a cached page or -1. */
export function shmem_find_page(file: ShmemFile, pgoff: number): number {
  return file.pages.get(pgoff) ?? -1;
}

/**
 * shmem_fault → shmem_get_folio_gfp (6.x) / shmem_getpage_gfp (5.19): the page at pgoff, allocated
 * zeroed and added to the file's page cache on first use. Returns the PFN with a reference taken
 * for the caller, -1 when out of memory, or -2 past the end of the file (SIGBUS).
 */
export function shmem_fault(k: Kernel, file: ShmemFile, pgoff: number): number {
  enter(k, 'shmem_fault', 'mm/shmem.c');
  if (pgoff >= file.size) {
    decision(k, 'shmem_fault', 'beyond-eof');
    leave(k, 'shmem_fault', 'VM_FAULT_SIGBUS');
    return -2;
  }
  let pfn = file.pages.get(pgoff);
  if (pfn === undefined) {
    const p = k.memmap.alloc_page(k, 'shmem_alloc_page');
    if (p < 0) {
      leave(k, 'shmem_fault', 'VM_FAULT_OOM');
      return -1;
    }
    k.memmap.flags[p]! |= PG_shmem | PG_swapbacked | PG_uptodate | PG_lru;
    file.pages.set(pgoff, p); // the page cache holds the first reference
    decision(k, 'shmem_fault', 'page-allocated');
    pfn = p;
  } else {
    decision(k, 'shmem_fault', 'page-cache-hit');
  }
  k.memmap.get_page(pfn);
  leave(k, 'shmem_fault', '0');
  return pfn;
}

/** A VMA stops using its shmem file (fput on VMA removal): the last user drops the page cache. */
export function shmem_vma_close(k: Kernel, vma: VmAreaStruct): void {
  const file = vma.vm_file;
  if (!file) return;
  vma.vm_file = null;
  if (--file.mappers > 0 || vma.vm_ops === 'filemap' || 'f_inode' in file) return; // a named file's page cache outlives its mappings
  for (const pfn of file.pages.values()) k.memmap.put_page(k, pfn, 'shmem_evict_inode');
  file.pages.clear();
}
