// The real Machine (src/hw) as a `WalkUnderTest`, so the SDM case table and the fast-check
// properties of test/sdm check the fast model against the independent reference walker.
//
// Every `reset` builds a fresh Machine, so no TLB entry or memory survives from one case to the
// next. Control state goes in through the Machine's own register APIs (MOV to CR0/CR3/CR4,
// WRMSR EFER, POPF, WRPKRU), and each access through `tryAccess` (no delivery through the IDT).
//
// Two variants: `tlb: 'off'` (every access walks: the walker alone against the oracle) and
// `tlb: 'on'` (the default geometry: repeated accesses inside one scenario hit the TLB, so the
// cached-rights path is held to the same oracle; nothing changes the tables between accesses,
// so a cached translation is still the one the tables give, SDM §4.10.2).

import type { WalkUnderTest } from '../sdm/harness.js';
import type { RefAccess, RefResult, RefState } from '../sdm/ref.js';
import { GP, PF } from '../../src/hw/exceptions.js';
import { Machine, type AccessResult } from '../../src/hw/machine.js';
import { SZ_1G, SZ_2M, W_OK } from '../../src/hw/paging.js';
import {
  CR0_PE, CR0_PG, CR0_WP, CR4_LA57, CR4_PAE, CR4_PKE, CR4_SMAP, CR4_SMEP, EFER_LMA, EFER_LME, EFER_NXE,
  RFLAGS_AC, RFLAGS_FIXED,
} from '../../src/hw/regs.js';

export interface AdapterOptions {
  tlb: 'on' | 'off';
}

/** Linux's __KERNEL_CS and __USER_CS: CPL is CS.RPL in 64-bit mode. */
const KERNEL_CS = 0x10;
const USER_CS = 0x33;

/** Load `st` into `m` through the register-write paths software uses. */
export function loadState(m: Machine, st: RefState): void {
  m.setCr0(CR0_PE | CR0_PG | (st.wp ? CR0_WP : 0n));
  const cr4 = CR4_PAE | (st.smep ? CR4_SMEP : 0n) | (st.smap ? CR4_SMAP : 0n) | (st.pke ? CR4_PKE : 0n) | (st.la57 ? CR4_LA57 : 0n);
  m.setCr4(cr4);
  m.setEfer(EFER_LME | EFER_LMA | (st.nxe ? EFER_NXE : 0n));
  m.setRflags(RFLAGS_FIXED | (st.ac ? RFLAGS_AC : 0n));
  m.setPkru(st.pkru);
  m.movToCr3(st.cr3);
}

/** The page starts an access touches: its first byte, then each later page (as the reference). */
function pagesTouched(va: bigint, size: number): bigint[] {
  const last = BigInt.asUintN(64, va + BigInt(size - 1)) & ~0xfffn;
  const out = [va];
  for (let p = va & ~0xfffn; p !== last;) {
    p = BigInt.asUintN(64, p + 0x1000n);
    out.push(p);
  }
  return out;
}

const PAGE_SIZE_NAME = (size: number): '4k' | '2m' | '1g' => (size === SZ_1G ? '1g' : size === SZ_2M ? '2m' : '4k');

/**
 * The entries a successful access uses, in the reference's convention (test/sdm/ref.ts): root
 * first, page by page, each entry once. Taken from side-effect-free previews of each page's walk
 * before the access; A/D commits never change which entries a walk uses.
 */
function usedEntries(m: Machine, acc: RefAccess): { setA: bigint[]; leaf: bigint; pageSize: '4k' | '2m' | '1g' } | null {
  const setA: bigint[] = [];
  let first: { leaf: bigint; pageSize: '4k' | '2m' | '1g' } | null = null;
  for (const va of pagesTouched(acc.va, acc.size ?? 1)) {
    if (!m.isCanonical(va)) return null;
    const w = m.previewWalk(va);
    if (w.status !== W_OK) return null;
    for (let l = w.first; l <= w.level; l++) {
      const pa = BigInt(w.entryPa(l));
      if (!setA.includes(pa)) setA.push(pa);
    }
    first ??= { leaf: BigInt(w.entryPa(w.level)), pageSize: PAGE_SIZE_NAME(w.size) };
  }
  return first === null ? null : { setA, ...first };
}

/** Convert a Machine access result to the reference's `RefResult`. */
function toRef(r: AccessResult, used: ReturnType<typeof usedEntries>, acc: RefAccess): RefResult {
  if (r.kind === 'fault') {
    const f = r.fault;
    if (f.vector === PF) return { kind: 'pf', errorCode: f.errorCode ?? -1, cr2: f.cr2 ?? -1n };
    if (f.vector === GP && f.errorCode === 0) return { kind: 'gp', errorCode: 0 };
    throw new Error(`machine raised vector ${f.vector} (error code ${f.errorCode}) for ${acc.kind} at 0x${acc.va.toString(16)}`);
  }
  if (used === null) throw new Error(`machine translated 0x${acc.va.toString(16)} but its preview walk failed`);
  return { kind: 'ok', pa: r.pa, pageSize: used.pageSize, setA: used.setA, setD: acc.kind === 'write' ? used.leaf : null };
}

/** A `WalkUnderTest` backed by a fresh real Machine per `reset`. */
export function machineUnderTest(opts: AdapterOptions): WalkUnderTest & { machine(): Machine } {
  let m: Machine | null = null;
  const need = (): Machine => {
    if (m === null) throw new Error('machineUnderTest: used before reset');
    return m;
  };
  return {
    machine: need,
    reset(st) {
      const tlb = opts.tlb === 'off' ? { tlb: null } : {};
      m = new Machine({ maxPhyAddr: st.maxPhyAddr, page1g: st.page1g, ...tlb });
      loadState(m, st);
    },
    write64(pa, v) {
      need().mem.write64(Number(pa), v);
    },
    read64(pa) {
      return need().mem.read64(Number(pa));
    },
    translate(acc) {
      const machine = need();
      machine.cpu.cs = acc.cpl === 3 ? USER_CS : KERNEL_CS;
      const used = usedEntries(machine, acc);
      // The data moved is irrelevant to the reference (it models translation only): writes store
      // zeros into the data frames, which neither generator ever places on a paging structure.
      const r = machine.tryAccess({ va: acc.va, access: acc.kind, size: acc.size ?? 1, implicit: acc.implicit ?? false });
      return toRef(r, used, acc);
    },
  };
}
