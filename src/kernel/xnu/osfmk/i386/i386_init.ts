// Boot of the boot CPU: vstart (osfmk/i386/i386_init.c:692; xnu-11417.121.6) with
// Idle_PTs_init (l.387), doublemap_init (l.1150) and idt64_remap (l.1250), then cpu_desc_init,
// cpu_desc_load and the VM's page queues. Simplified: no EFI boot args, no early boot IDT
// (vstart_idt_init), no APs, no kernel_task beyond the kernel pmap; physical memory is
// [0, ram) with __HIB at 1 MiB, boot page tables from 2 MiB, and free pages from 4 MiB up.

import { CR4_PGE, CR4_SMAP, CR4_SMEP, RFLAGS_FIXED } from '../../../../hw/regs.js';
import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import {
  CPU_DATA_VA, CPU_KERNEL_CR3, HIB_BASE, HIB_CPSHADOWS, HIB_IDT64_HNDL_TABLE0, HIB_PHYS_PFN, HIB_SIZE, HIB_TEXT_END, HIB_TEXT_LABELS,
  KERNEL64_CS, KERNEL64_SS, KMEM_BASE, ktext,
} from '../x86_64/hib.js';
import { KERNEL_DBLMAP_PML4_INDEX, pmap_bootstrap, pmap_map_kernel } from '../x86_64/pmap.js';
import { VmPageQueues } from '../vm/vm_page.js';
import { DBLMAP, cpu_data_init, cpu_desc_init, cpu_desc_load, hibPa, master_gdt_init, master_idt64_init, idt64_remap } from './mp_desc.js';

const FILE = 'osfmk/i386/i386_init.c';
const BOOT_PT_PFN = 0x200;
const FIRST_FREE_PFN = 0x400;

/** vstart (i386_init.c:692), boot CPU. */
export function vstart(k: Xnu): void {
  enter(k, 'vstart', FILE);
  k.bootNextPfn = BOOT_PT_PFN;
  k.kmemNext = KMEM_BASE;
  k.kernelPmap = pmap_bootstrap(k);
  master_idt64_init(k); // what the C initializer of master_idt64 put in the image
  master_gdt_init(k);
  Idle_PTs_init(k);
  cpu_desc_init(k);
  cpu_desc_load(k, 0);
  const m = k.m;
  m.setCr4(m.cpu.cr4 | CR4_PGE | CR4_SMEP | CR4_SMAP); // cpuid_init: SMEP/SMAP when the CPU has them
  m.cpu.cs = KERNEL64_CS;
  m.cpu.ss = KERNEL64_SS;
  m.setRflags(RFLAGS_FIXED);
  const ram = k.opts.ram ?? 64 * 1024 * 1024;
  const last = Math.floor(ram / 4096);
  if (last <= FIRST_FREE_PFN + 64) throw new Error(`model limit: machine.ram ${ram} is too small for the XNU model (needs more than 4.25 MiB)`);
  k.pages = new VmPageQueues(FIRST_FREE_PFN, last);
  leave(k, 'vstart');
}

/**
 * Idle_PTs_init (i386_init.c:387): the kernel's page tables. Maps __HIB at its link address
 * (text RX, the rest RW+NX), the boot CPU's cpu_data, then calls doublemap_init and idt64_remap.
 */
function Idle_PTs_init(k: Xnu): void {
  enter(k, 'Idle_PTs_init', FILE);
  const root = k.kernelPmap.pml4;
  for (let off = 0; off < HIB_SIZE; off += 4096) {
    pmap_map_kernel(k, root, HIB_BASE + BigInt(off), HIB_PHYS_PFN + off / 4096, off >= HIB_TEXT_END, off < HIB_TEXT_END);
  }
  const cpuDataPfn = k.bootNextPfn++;
  k.m.mem.zeroFrame(cpuDataPfn);
  pmap_map_kernel(k, root, CPU_DATA_VA, cpuDataPfn, true, false);
  k.m.movToCr3(BigInt(root));
  const rand64 = k.rng.next64();
  const randL3 = k.opts.randL3 ?? Number((rand64 >> 8n) & 0xffn);
  doublemap_init(k, randL3);
  idt64_remap(k);
  cpu_data_init(k, cpuDataPfn * 4096, 0);
  k.m.mem.write64(cpuDataPfn * 4096 + CPU_KERNEL_CR3, BigInt(root));
  k.cpuDataPa = cpuDataPfn * 4096;
  leave(k, 'Idle_PTs_init');
}

/**
 * doublemap_init (i386_init.c:1150): alias all of __HIB at PML4 slot 493, PDPT slot `randL3`
 * (__text RX, the rest RW+NX), set dblmap_dist, and fill idt64_hndl_table0.
 */
export function doublemap_init(k: Xnu, randL3: number): void {
  enter(k, 'doublemap_init', FILE, { randL3: hx(randL3) });
  k.randL3 = randL3;
  const dblmapBase = 0xffff000000000000n | (BigInt(KERNEL_DBLMAP_PML4_INDEX) << 39n) | (BigInt(randL3) << 30n);
  k.dblmapDist = dblmapBase - HIB_BASE;
  for (let off = 0; off < HIB_SIZE; off += 4096) {
    pmap_map_kernel(k, k.kernelPmap.pml4, dblmapBase + BigInt(off), HIB_PHYS_PFN + off / 4096, off >= HIB_TEXT_END, off < HIB_TEXT_END);
  }
  const t0 = hibPa(HIB_IDT64_HNDL_TABLE0);
  const mem = k.m.mem;
  mem.write64(t0 + 0x00, ktext('ks_dispatch'));
  mem.write64(t0 + 0x08, DBLMAP(k, HIB_BASE + BigInt(HIB_TEXT_LABELS.ks_64bit_return!)));
  mem.write64(t0 + 0x10, BigInt.asUintN(64, k.dblmapDist + HIB_BASE + BigInt(HIB_CPSHADOWS) - CPU_DATA_VA));
  mem.write64(t0 + 0x18, DBLMAP(k, HIB_BASE + BigInt(HIB_TEXT_LABELS.ks_32bit_return!)));
  if (k.trace.enabled) decide(k, 'doublemap_init', 'dblmap-base', `dblmap_base=${hx(dblmapBase)} dblmap_dist=${hx(k.dblmapDist)}`);
  leave(k, 'doublemap_init');
}
