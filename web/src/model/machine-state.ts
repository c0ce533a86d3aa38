// A read-only snapshot of the machine for the views: registers, the page-table tree under CR3,
// the TLB's entries, the IDT's gates. It reads physical memory and registers the way a debugger
// would, never through Machine.access (which would set A/D flags and fill the TLB).

import type { Machine } from '../../../src/hw/machine.js';
import { decodeGate, gateTypeName } from '../../../src/hw/desc.js';
import { vectorMnemonic } from '../../../src/hw/exceptions.js';
import { P, PS, pteFlagString } from '../../../src/hw/pte.js';
import { CR4_LA57, GPR_NAMES } from '../../../src/hw/regs.js';
import { R_RW, R_US, R_XD, W_OK } from '../../../src/hw/paging.js';
import { T_DIRTY, T_GLOBAL } from '../../../src/hw/tlb.js';
import { hex, type Level } from '../../../src/trace/events.js';

export interface PtEntry {
  index: number;
  /** Physical address of the entry itself. */
  pa: number;
  lo: number;
  hi: number;
  raw: string;
  flags: string;
  /** The first virtual address this entry covers (sign-extended). */
  va: string;
  level: Level;
  /** Present and a leaf (PT entry, or PS at PD/PDPT). */
  leaf: boolean;
  child?: PtTable;
  /** Present non-leaf entries below a cut-off are left unexpanded. */
  truncated?: boolean;
}

export interface PtTable {
  pa: number;
  level: Level;
  /** Non-zero entries only. */
  entries: PtEntry[];
}

export interface TlbEntry {
  va: string;
  pa: string;
  size: '4k' | '2m' | '1g';
  pcid: number;
  global: boolean;
  dirty: boolean;
  rights: string;
  pkey: number;
}

export interface GateView {
  vector: number;
  name: string;
  offset: string;
  selector: number;
  ist: number;
  type: string;
  dpl: number;
  present: boolean;
  words: string[];
}

export interface MachineView {
  regs: Record<string, string>;
  cpl: number;
  la57: boolean;
  pcid: number;
  root: PtTable | null;
  tlb: { entries: TlbEntry[]; hits: number; misses: number; fills: number; flushes: number; geometry: string } | null;
  idt: { base: string; gates: GateView[] } | null;
  walks: number;
  /** The tree under another root (the access's CR3, another process's PGD). */
  tablesAt: (cr3: bigint) => PtTable | null;
  /** Reads 8 bytes at a virtual address through the page tables, or null if not mapped. */
  peek: (va: bigint) => bigint | null;
}

const LEVELS: Level[] = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'];
const SHIFT: Record<Level, number> = { pml5: 48, pml4: 39, pdpt: 30, pd: 21, pt: 12 };
/** Enough for every table a scenario builds, and a bound for a kernel's direct map. */
const MAX_ENTRIES = 4000;

function canonical(va: bigint, la57: boolean): bigint {
  const bits = la57 ? 57n : 48n;
  return va & (1n << (bits - 1n)) ? va | (~0n << bits) : va;
}

export function readPageTables(m: Machine, cr3: bigint, la57: boolean): PtTable | null {
  const mem = m.mem;
  let budget = MAX_ENTRIES;
  const table = (pa: number, l: number, base: bigint): PtTable => {
    const level = LEVELS[l]!;
    const entries: PtEntry[] = [];
    for (let i = 0; i < 512; i++) {
      const lo = mem.read32(pa + i * 8) >>> 0;
      const hi = mem.read32(pa + i * 8 + 4) >>> 0;
      if (lo === 0 && hi === 0) continue;
      const va = canonical(base | (BigInt(i) << BigInt(SHIFT[level])), la57);
      const present = (lo & P) !== 0;
      const leaf = present && (l === 4 || ((lo & PS) !== 0 && l >= 2));
      const e: PtEntry = {
        index: i, pa: pa + i * 8, lo, hi, raw: hex((BigInt(hi) << 32n) | BigInt(lo)),
        flags: pteFlagString(lo, hi, level), va: hex(BigInt.asUintN(64, va)), level, leaf,
      };
      entries.push(e);
      if (present && !leaf) {
        const next = (lo & 0xfffff000) + (hi & 0xfffff) * 2 ** 32;
        if (--budget > 0 && next < 2 ** mem.maxPhyAddr) e.child = table(next, l + 1, base | (BigInt(i) << BigInt(SHIFT[level])));
        else e.truncated = true;
      }
    }
    return { pa, level, entries };
  };
  const rootPa = Number(cr3 & 0x000ffffffffff000n);
  if (rootPa === 0) return null;
  return table(rootPa, la57 ? 0 : 1, 0n);
}

function readTlb(m: Machine): MachineView['tlb'] {
  const t = m.tlb;
  if (!t) return null;
  const sizes = ['4k', '2m', '1g'] as const;
  const pages = [1, 512, 262144];
  const entries = t.entries().map((e): TlbEntry => {
    const r = e.info & 7;
    return {
      va: hex(BigInt.asUintN(64, canonical(BigInt(e.pn * pages[e.size]!) << 12n, (m.cpu.cr4 & CR4_LA57) !== 0n))),
      pa: hex(e.frame * 4096),
      size: sizes[e.size]!,
      pcid: e.pcid,
      global: (e.info & T_GLOBAL) !== 0,
      dirty: (e.info & T_DIRTY) !== 0,
      rights: `${r & R_US ? 'user' : 'sup'} ${r & R_RW ? 'rw' : 'ro'}${r & R_XD ? ' nx' : ''}`,
      pkey: (e.info >> 4) & 0xf,
    };
  });
  entries.sort((a, b) => (BigInt(a.va) < BigInt(b.va) ? -1 : 1));
  return { entries, hits: t.hits, misses: t.misses, fills: t.fills, flushes: t.flushes, geometry: `${t.geometry.sets} sets x ${t.geometry.ways} ways, per page size` };
}

/** Virtual-to-physical without side effects (no A/D, no TLB): the debugger's view. */
function physOf(m: Machine, va: bigint): number | null {
  if (!m.isCanonical(va)) return null;
  const w = m.previewWalk(va);
  if (w.status !== W_OK) return null;
  const span = w.size === 0 ? 1 : w.size === 1 ? 512 : 262144;
  const pfn = w.pfn + Number((BigInt.asUintN(64, va) >> 12n) % BigInt(span));
  return pfn * 4096 + Number(va & 0xfffn);
}

function readIdt(m: Machine): MachineView['idt'] {
  const { base, limit } = m.cpu.idtr;
  if (limit === 0) return null;
  const gates: GateView[] = [];
  const pages = new Map<bigint, number | null>(); // one translation per IDT page, not per gate
  for (let v = 0; v * 16 + 15 <= limit && v < 256; v++) {
    const va = base + BigInt(v * 16);
    const page = va & ~0xfffn;
    if (!pages.has(page)) pages.set(page, physOf(m, page));
    const pp = pages.get(page);
    const pa = pp === null || pp === undefined ? null : pp + Number(va & 0xfffn);
    if (pa === null) continue;
    const d = [0, 4, 8, 12].map((o) => m.mem.read32(pa + o) >>> 0);
    const g = decodeGate(d[0]!, d[1]!, d[2]!);
    gates.push({
      vector: v, name: vectorMnemonic(v), offset: hex(g.offset), selector: g.selector, ist: g.ist,
      type: gateTypeName(g.type), dpl: g.dpl, present: g.present, words: d.map((x) => hex(x, 8)),
    });
  }
  return { base: hex(base), gates };
}

export function readMachine(m: Machine): MachineView {
  const c = m.cpu;
  const regs: Record<string, string> = {
    rip: hex(c.rip), cs: hex(c.cs), ss: hex(c.ss), rflags: hex(c.rflags),
    cr0: hex(c.cr0), cr2: hex(c.cr2), cr3: hex(c.cr3), cr4: hex(c.cr4), efer: hex(c.efer), pkru: hex(c.pkru),
    gs_base: hex(c.gsBase), kernel_gs_base: hex(c.kernelGsBase),
    idtr: `${hex(c.idtr.base)}/${hex(c.idtr.limit)}`, gdtr: `${hex(c.gdtr.base)}/${hex(c.gdtr.limit)}`, tr: hex(c.tr.selector),
  };
  for (const g of GPR_NAMES) regs[g] = hex(c.gpr[g]);
  const la57 = (c.cr4 & CR4_LA57) !== 0n;
  return {
    regs, cpl: c.cpl, la57, pcid: m.ctl.pcid,
    root: readPageTables(m, c.cr3, la57),
    tlb: readTlb(m),
    idt: readIdt(m),
    walks: m.walks,
    tablesAt: (cr3) => readPageTables(m, cr3, la57),
    peek: (va) => {
      const pa = physOf(m, va);
      return pa === null ? null : m.mem.read64(pa);
    },
  };
}
