// Descriptor tables: master_idt64 in its compile-time "fake" form, fix_desc64, cpu_desc_init
// and cpu_desc_load (osfmk/i386/mp_desc.c:87-164, 319, 370, 467; osfmk/i386/seg.h:139-173;
// xnu-11417.121.6). Everything is written into the machine's physical memory, where the CPU
// reads it when it delivers an exception. One CPU (cpu_number 0).

import { encodeGate, encodeSeg, encodeTssDesc, tssIstOffset, TSS_RSP0, TSS_SIZE } from '../../../../hw/desc.js';
import { lgdt, lidt, ltr } from '../../../../hw/delivery.js';
import { enter, hx, leave, type Xnu } from '../../xnu.js';
import {
  CPU_ESTACK, CPU_DATA_VA, CPU_NUMBER, HIB_BASE, HIB_MASTER_GDT, HIB_MASTER_IDT64, HIB_MASTER_KTSS64, HIB_PHYS_PFN,
  HIB_SCFSTKS, HIB_STUB_SIZE, HIB_STUBS, KERNEL32_CS, KERNEL64_CS, KERNEL64_SS, KERNEL_DS, KERNEL_TSS, SCFSTK_SIZE,
  USER64_CS, USER_CS, USER_DS,
} from '../x86_64/hib.js';
import { IDT_TABLE, gateOf } from '../x86_64/idt_table.js';

const FILE = 'osfmk/i386/mp_desc.c';
export const IDTSZ = 256;

/** Physical address of a __HIB offset (the segment is loaded contiguously). */
export function hibPa(off: number): number {
  return HIB_PHYS_PFN * 4096 + off;
}

/** The link address of the stub of `vector` (its place in __HIB,__text). */
export function stubAddress(vector: number): bigint {
  return HIB_BASE + BigInt(HIB_STUBS + HIB_STUB_SIZE * vector);
}

/** DBLMAP(x) (osfmk/i386/pmap.h:533-542): the alias of a __HIB address. */
export function DBLMAP(k: Xnu, x: bigint): bigint {
  if (x < HIB_BASE || x >= HIB_BASE + 0x18000n) throw new Error(`model bug: DBLMAP(${hx(x)}) outside __HIB`);
  return BigInt.asUintN(64, x + k.dblmapDist);
}

/*  struct fake_descriptor64 (seg.h:173), the form the C initializer produces:
 *    u64 offset64 | lim_or_seg:20 size_or_IST:4 access:8 | reserved:32
 */
/** The static initializer of master_idt64 (mp_desc.c:87-164 expanding idt_table.h). */
export function master_idt64_init(k: Xnu): void {
  const mem = k.m.mem;
  for (const row of IDT_TABLE) {
    const pa = hibPa(HIB_MASTER_IDT64 + row.vector * 16);
    const { access, ist } = gateOf(row.macro);
    mem.write64(pa, stubAddress(row.vector));
    mem.write32(pa + 8, (KERNEL64_CS | (ist << 20) | (access << 24)) >>> 0);
    mem.write32(pa + 12, 0);
  }
}

/** idt64_remap (i386_init.c:1250): every offset64 becomes its DBLMAP alias, still in fake form. */
export function idt64_remap(k: Xnu): void {
  enter(k, 'idt64_remap', 'osfmk/i386/i386_init.c');
  const mem = k.m.mem;
  for (let v = 0; v < IDTSZ; v++) {
    const pa = hibPa(HIB_MASTER_IDT64 + v * 16);
    mem.write64(pa, DBLMAP(k, mem.read64(pa)));
  }
  leave(k, 'idt64_remap');
}

/** fix_desc64 (mp_desc.c:319): rewrite each fake gate as a real_gate64, in place. */
export function fix_desc64(k: Xnu, base: number, count: number): void {
  enter(k, 'fix_desc64', FILE, k.trace.enabled ? { desc: hx(base), count: String(count) } : undefined);
  const mem = k.m.mem;
  for (let i = 0; i < count; i++) {
    const pa = base + i * 16;
    const offset = mem.read64(pa);
    const w = mem.read32(pa + 8);
    const access = w >>> 24;
    const gate = encodeGate({
      offset, selector: w & 0xfffff, ist: (w >>> 20) & 7, type: access & 0x1f, dpl: (access >>> 5) & 3, present: (access & 0x80) !== 0,
    });
    gate.forEach((d, j) => mem.write32(pa + 4 * j, d));
  }
  leave(k, 'fix_desc64');
}

/** master_gdt (mp_desc.c) with XNU's selectors (seg.h): K64 code/data, U32/U64 code, user data, TSS. */
export function master_gdt_init(k: Xnu): void {
  const pa = hibPa(HIB_MASTER_GDT);
  const put = (sel: number, d: readonly number[]) => d.forEach((w, i) => k.m.mem.write32(pa + (sel & ~7) + 4 * i, w));
  put(KERNEL64_CS, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: true, db: false }));
  put(KERNEL64_SS, encodeSeg({ present: true, dpl: 0, s: true, type: 0x3, long: false, db: true }));
  put(USER_CS, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: false, db: true }));
  put(USER_DS, encodeSeg({ present: true, dpl: 3, s: true, type: 0x3, long: false, db: true }));
  put(USER64_CS, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: true, db: false }));
  put(KERNEL32_CS, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: false, db: true }));
  put(KERNEL_DS, encodeSeg({ present: true, dpl: 0, s: true, type: 0x3, long: false, db: true }));
}

/** The top of the boot CPU's fault stack, through the double map (cdi_sstku, also cd_estack). */
export function estackTop(k: Xnu): bigint {
  return DBLMAP(k, HIB_BASE + BigInt(HIB_SCFSTKS + SCFSTK_SIZE));
}

/**
 * cpu_desc_init (mp_desc.c:370), boot CPU: fix the IDT gates, point the TSS descriptor at the
 * aliased master_ktss64, and set IST2 (the NMI stack) and IST1 = IST2 - sizeof(isf).
 */
export function cpu_desc_init(k: Xnu): void {
  enter(k, 'cpu_desc_init', FILE);
  fix_desc64(k, hibPa(HIB_MASTER_IDT64), IDTSZ);
  const tss = DBLMAP(k, HIB_BASE + BigInt(HIB_MASTER_KTSS64));
  encodeTssDesc(tss, TSS_SIZE - 1).forEach((w, i) => k.m.mem.write32(hibPa(HIB_MASTER_GDT) + KERNEL_TSS + 4 * i, w));
  const ist2 = DBLMAP(k, HIB_BASE + BigInt(HIB_SCFSTKS + 0x1000));
  const tssPa = hibPa(HIB_MASTER_KTSS64);
  k.m.mem.write64(tssPa + tssIstOffset(2), ist2);
  k.m.mem.write64(tssPa + tssIstOffset(1), ist2 - 64n);
  k.m.mem.write64(tssPa + TSS_RSP0, estackTop(k)); // act_machine_switch_pcb keeps it there
  leave(k, 'cpu_desc_init');
}

/**
 * cpu_desc_load (mp_desc.c:467): GS bases, lgdt, lidt with limit 0x1000 + cpu_number (l.489),
 * ltr. The IDTR base is DBLMAP(&master_idt64) (checklist 4).
 */
export function cpu_desc_load(k: Xnu, cpuNumber: number): void {
  enter(k, 'cpu_desc_load', FILE);
  const m = k.m;
  m.cpu.gsBase = CPU_DATA_VA;
  m.cpu.kernelGsBase = CPU_DATA_VA;
  lgdt(m, DBLMAP(k, HIB_BASE + BigInt(HIB_MASTER_GDT)), 0x7f);
  lidt(m, DBLMAP(k, HIB_BASE + BigInt(HIB_MASTER_IDT64)), 0x1000 + cpuNumber);
  const f = ltr(m, KERNEL_TSS);
  if (f) throw new Error(`model bug: ltr faulted with vector ${f.vector}`);
  leave(k, 'cpu_desc_load');
}

/** Per-CPU data stores at boot (cpu_data_alloc, simplified to the fields the entry path reads). */
export function cpu_data_init(k: Xnu, cpuDataPa: number, cpuNumber: number): void {
  const mem = k.m.mem;
  mem.write64(cpuDataPa, CPU_DATA_VA);
  mem.write64(cpuDataPa + CPU_NUMBER, BigInt(cpuNumber));
  mem.write64(cpuDataPa + CPU_ESTACK, estackTop(k));
}
