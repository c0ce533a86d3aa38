// The bare lab: no OS, just enough boot code for the machine to take an exception, so a scenario
// can drive the hardware directly. It does what a tiny kernel's boot does and nothing more:
// allocates page-table frames from a bump allocator, maps a GDT, an IDT, a TSS and stacks at
// Linux-like addresses (cpu_entry_area, a vmalloc'd task stack), loads GDTR/IDTR/TR, and enters
// long mode with CR0.WP and EFER.NXE on. Handlers are addresses only: after delivery, the lab's
// "handler" pops the error code and returns with IRETQ, so the faulting access is skipped.

import { hex } from '../../trace/events.js';
import { GATE_INTERRUPT, GATE_TRAP, decodeGate, encodeGate, encodeSeg, encodeTssDesc, tssIstOffset, TSS_RSP0, TSS_SIZE } from '../../hw/desc.js';
import { iretq, lgdt, lidt, ltr } from '../../hw/delivery.js';
import { BP, DB, DF, NMI } from '../../hw/exceptions.js';
import type { Machine } from '../../hw/machine.js';
import { A, D, G, P, PS, PWT, PCD, RW, US } from '../../hw/pte.js';
import { CR4_LA57, CR4_PGE, RFLAGS_FIXED, RFLAGS_IF } from '../../hw/regs.js';

/** Linux's x86-64 GDT layout (arch/x86/include/asm/segment.h). */
export const KERNEL_CS = 0x10;
export const KERNEL_DS = 0x18;
export const USER_DS = 0x2b;
export const USER_CS = 0x33;
export const TSS_SEL = 0x40;

export const IDT_VA = 0xfffffe0000000000n; // CPU_ENTRY_AREA_RO_IDT
export const GDT_VA = 0xfffffe0000001000n;
export const TSS_VA = 0xfffffe0000002000n;
export const IST_STACKS_VA = 0xfffffe0000010000n; // one page per IST stack, IST1 first
export const TASK_STACK_VA = 0xffffc90000000000n; // 4 pages; RSP0 is its top
export const HANDLERS_VA = 0xffffffff81000000n; // handler for vector v at +v*0x10
export const USER_RIP = 0x401000n;
export const USER_RSP = 0x7ffffffde000n;

export type LabLevel = 'pml5' | 'pml4' | 'pdpt' | 'pd' | 'pt';
const LEVEL_INDEX: Record<LabLevel, number> = { pml5: 0, pml4: 1, pdpt: 2, pd: 3, pt: 4 };

/** Flag words for `map` and `pte`: [low word bits, high word bits]. */
export interface EntryBits {
  lo: number;
  hi: number;
}

export function parseFlags(names: readonly string[]): EntryBits {
  let lo = 0;
  let hi = 0;
  for (const n of names) {
    const key = n.toLowerCase();
    const simple: Record<string, number> = { p: P, rw: RW, us: US, pwt: PWT, pcd: PCD, a: A, d: D, ps: PS, g: G };
    if (key in simple) lo |= simple[key]!;
    else if (key === 'xd') hi |= 1 << 31;
    else if (key.startsWith('pkey=')) hi |= (Number(key.slice(5)) & 0xf) << 27;
    else if (key.startsWith('bit=')) {
      const b = Number(key.slice(4));
      if (b < 32) lo |= 1 << b;
      else hi |= 1 << (b - 32);
    } else throw new RangeError(`unknown entry flag '${n}' (expected p, rw, us, pwt, pcd, a, d, ps, g, xd, pkey=N, bit=N)`);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

export class BareLab {
  private nextPfn = 0x100; // frames from 1 MiB up are the lab's
  /** The PML4 that 4-level paging uses; with LA57 the PML5 points to it for both halves. */
  private pml4 = 0;
  private pml5 = 0;

  constructor(readonly m: Machine) {
    this.boot();
  }

  /** Allocate a zeroed frame; returns its physical address. */
  allocFrame(): number {
    const pa = this.nextPfn++ * 4096;
    this.m.mem.zeroFrame(pa / 4096);
    return pa;
  }

  private boot(): void {
    const m = this.m;
    m.setCr4(m.cpu.cr4 | CR4_PGE); // global kernel pages, as every x86-64 kernel runs
    this.pml4 = this.allocFrame();
    m.movToCr3(BigInt(this.pml4));
    const kflags = { lo: P | RW | A | D | G, hi: 1 << 31 };
    const tables = { lo: P | RW, hi: 0 };
    for (const va of [IDT_VA, GDT_VA, TSS_VA]) this.map(va, BigInt(this.allocFrame()), '4k', kflags, tables);
    for (let i = 0n; i < 4n; i++) this.map(TASK_STACK_VA + i * 0x1000n, BigInt(this.allocFrame()), '4k', kflags, tables);
    for (let i = 0n; i < 4n; i++) this.map(IST_STACKS_VA + i * 0x1000n, BigInt(this.allocFrame()), '4k', kflags, tables);
    this.writeGdt();
    for (let v = 0; v < 256; v++) this.setGate(v, {});
    this.writeTss();
    lgdt(m, GDT_VA, 16 * 8 - 1);
    lidt(m, IDT_VA, 256 * 16 - 1);
    const f = ltr(m, TSS_SEL);
    if (f) throw new Error(`bare lab boot: LTR faulted (vector ${f.vector})`);
    m.cpu.cs = KERNEL_CS;
    m.cpu.ss = KERNEL_DS;
    m.cpu.rsp = TASK_STACK_VA + 0x4000n - 0x100n;
    m.cpu.rip = HANDLERS_VA - 0x1000n;
    m.setRflags(RFLAGS_FIXED | RFLAGS_IF);
  }

  private writeGdt(): void {
    const pa = this.physOf(GDT_VA);
    const put = (sel: number, d: readonly number[]) => d.forEach((w, i) => this.m.mem.write32(pa + sel + 4 * i, w));
    put(0x08, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: false, db: true })); // __KERNEL32_CS
    put(KERNEL_CS, encodeSeg({ present: true, dpl: 0, s: true, type: 0xb, long: true, db: false }));
    put(KERNEL_DS, encodeSeg({ present: true, dpl: 0, s: true, type: 0x3, long: false, db: true }));
    put(0x20, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: false, db: true })); // __USER32_CS
    put(USER_DS & ~3, encodeSeg({ present: true, dpl: 3, s: true, type: 0x3, long: false, db: true }));
    put(USER_CS & ~3, encodeSeg({ present: true, dpl: 3, s: true, type: 0xb, long: true, db: false }));
    put(TSS_SEL, encodeTssDesc(TSS_VA, TSS_SIZE - 1));
  }

  private writeTss(): void {
    this.setTss({ rsp0: TASK_STACK_VA + 0x4000n });
    for (let ist = 1; ist <= 4; ist++) this.setTss({ [`ist${ist}`]: IST_STACKS_VA + BigInt(ist) * 0x1000n });
  }

  /** Write TSS fields (`rsp0`, `ist1`..`ist7`). */
  setTss(fields: Record<string, bigint>): void {
    const pa = this.physOf(TSS_VA);
    for (const [k, v] of Object.entries(fields)) {
      const off = k === 'rsp0' ? TSS_RSP0 : tssIstOffset(Number(k.slice(3)));
      this.m.mem.write(pa + off, 8, v);
    }
  }

  /** Edit IDT entry `v`; fields left out keep the boot defaults (interrupt gate, DPL0, Linux's ISTs). */
  setGate(v: number, f: { present?: boolean; type?: 'interrupt' | 'trap'; dpl?: number; ist?: number; offset?: bigint }): void {
    const pa = this.physOf(IDT_VA) + v * 16;
    const mem = this.m.mem;
    const had = mem.read32(pa + 4) !== 0;
    const cur = had
      ? decodeGate(mem.read32(pa), mem.read32(pa + 4), mem.read32(pa + 8))
      : { offset: HANDLERS_VA + BigInt(v * 0x10), selector: KERNEL_CS, ist: defaultIst(v), type: GATE_INTERRUPT, dpl: v === BP ? 3 : 0, present: true };
    const gate = {
      ...cur,
      present: f.present ?? cur.present,
      type: f.type === undefined ? cur.type : f.type === 'trap' ? GATE_TRAP : GATE_INTERRUPT,
      dpl: f.dpl ?? cur.dpl,
      ist: f.ist ?? cur.ist,
      offset: f.offset ?? cur.offset,
    };
    encodeGate(gate).forEach((w, i) => mem.write32(pa + 4 * i, w));
  }

  /** Root table for the current mode. */
  private root(): number {
    if (!(this.m.cpu.cr4 & CR4_LA57)) return this.pml4;
    if (this.pml5 === 0) {
      // Both halves of the 48-bit space sit under PML5[0] and PML5[511] with 5-level paging.
      this.pml5 = this.allocFrame();
      this.m.mem.write32(this.pml5, (this.pml4 | P | RW | US) >>> 0);
      this.m.mem.write32(this.pml5 + 511 * 8, (this.pml4 | P | RW | US) >>> 0);
    }
    return this.pml5;
  }

  /** Reload CR3 with the root for the current paging mode (after LA57 changes). */
  reloadRoot(pcid = 0, noflush = false): void {
    const v = BigInt(this.root()) | BigInt(pcid) | (noflush ? 1n << 63n : 0n);
    this.m.movToCr3(v);
  }

  /** Physical address of the entry for `va` at `level`, creating missing tables with `tableFlags`. */
  entryPa(va: bigint, level: LabLevel, tableFlags: EntryBits | null): number {
    const la57 = (this.m.cpu.cr4 & CR4_LA57) !== 0n;
    const firstLevel = la57 ? 0 : 1;
    const target = LEVEL_INDEX[level];
    if (target < firstLevel) throw new RangeError(`level ${level} is not used with 4-level paging (set cr4.la57 first)`);
    let table = this.root();
    for (let l = firstLevel; ; l++) {
      const idx = Number((BigInt.asUintN(64, va) >> BigInt(12 + 9 * (4 - l))) & 0x1ffn);
      const pa = table + idx * 8;
      if (l === target) return pa;
      const lo = this.m.mem.read32(pa);
      if (lo & P && lo & PS && l >= 2) throw new RangeError(`${hex(va)} is mapped by a large page at level ${Object.keys(LEVEL_INDEX)[l]}`);
      if (!(lo & P)) {
        if (!tableFlags) throw new RangeError(`no table maps ${hex(va)} at level ${level}: map it first`);
        const next = this.allocFrame();
        this.m.mem.write32(pa, (next | tableFlags.lo) >>> 0);
        this.m.mem.write32(pa + 4, tableFlags.hi);
        table = next;
      } else {
        table = (lo & 0xfffff000) + (this.m.mem.read32(pa + 4) & 0xfffff) * 2 ** 32;
      }
    }
  }

  /** Map `va` to `pa` with a leaf of `size`, creating tables (no TLB invalidation, like a real first mapping). */
  map(va: bigint, pa: bigint, size: '4k' | '2m' | '1g', leaf: EntryBits, tableFlags: EntryBits): number {
    const level: LabLevel = size === '4k' ? 'pt' : size === '2m' ? 'pd' : 'pdpt';
    const align = size === '4k' ? 0xfffn : size === '2m' ? 0x1fffffn : 0x3fffffffn;
    if ((va & align) !== 0n || (pa & align) !== 0n) throw new RangeError(`va ${hex(va)} and pa ${hex(pa)} must be ${size}-aligned`);
    const at = this.entryPa(va, level, tableFlags);
    const lo = (Number(pa & 0xfffff000n) | leaf.lo | (size === '4k' ? 0 : PS)) >>> 0;
    this.m.mem.write32(at, lo);
    this.m.mem.write32(at + 4, (Number((pa >> 32n) & 0xfffffn) | leaf.hi) >>> 0);
    return at;
  }

  /** The physical address behind a lab-mapped kernel VA (4 KiB leaf). */
  physOf(va: bigint): number {
    const at = this.entryPa(va, 'pt', null);
    return (this.m.mem.read32(at) & 0xfffff000) + (this.m.mem.read32(at + 4) & 0xfffff) * 2 ** 32 + Number(va & 0xfffn);
  }

  /** Drop to user mode (CPL 3) or back to the kernel (CPL 0), as the lab's scheduler would. */
  setCpl(cpl: 0 | 3): void {
    const c = this.m.cpu;
    if (cpl === 3) {
      c.cs = USER_CS;
      c.ss = USER_DS;
      c.rsp = USER_RSP;
      c.rip = USER_RIP;
    } else {
      c.cs = KERNEL_CS;
      c.ss = KERNEL_DS;
      c.rsp = TASK_STACK_VA + 0x4000n - 0x100n;
      c.rip = HANDLERS_VA - 0x1000n;
    }
  }

  /** The lab's handler for every vector: drop the error code (if any) and IRETQ. */
  returnFromHandler(hasErrorCode: boolean): ReturnType<typeof iretq> {
    const m = this.m;
    if (m.trace.enabled) m.trace.emit({ ev: 'enter', fn: 'bare_handler', src: 'faultline bare lab: no OS; skips the faulting access' });
    if (hasErrorCode) m.cpu.rsp += 8n; // addq $8, %rsp
    const f = iretq(m);
    if (m.trace.enabled) m.trace.emit({ ev: 'leave', fn: 'bare_handler' });
    return f;
  }
}

function defaultIst(v: number): number {
  // Linux's ISTG() vectors (arch/x86/kernel/idt.c): IST field = IST_INDEX_* + 1.
  if (v === DF) return 1;
  if (v === NMI) return 2;
  if (v === DB) return 3;
  if (v === 18) return 4;
  return 0;
}


