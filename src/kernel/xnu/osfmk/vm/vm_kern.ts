// kmem_alloc (osfmk/vm/vm_kern.c; xnu-11417.121.6), simplified to wired kernel pages at a bump
// address in the kernel's own PML4 slot (shared by every pmap), for PCBs and kernel stacks.

import { pmap_map_kernel } from '../x86_64/pmap.js';
import type { Xnu } from '../../xnu.js';
import { vm_page_grab, vm_page_queues_remove, VM_PAGE_IS_WIRED } from './vm_page.js';

/** kmem_alloc(kernel_map, size, KMA_KOBJECT|KMA_ZERO): returns the kernel VA. */
export function kmem_alloc(k: Xnu, pages: number): bigint {
  const va = k.kmemNext;
  k.kmemNext += BigInt(pages * 4096 + 4096); // one unmapped guard page after each allocation
  for (let i = 0; i < pages; i++) {
    const m = vm_page_grab(k, true);
    if (!m) throw new Error('model limit: out of pages for kmem_alloc (raise machine.ram)');
    vm_page_queues_remove(k, m);
    m.busy = false;
    m.vmp_q_state = VM_PAGE_IS_WIRED;
    k.pages.vm_page_wire_count++;
    k.m.mem.zeroFrame(m.phys_page);
    pmap_map_kernel(k, k.kernelPmap.pml4, va + BigInt(i * 4096), m.phys_page, true, false);
  }
  return va;
}
