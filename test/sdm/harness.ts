// A translator under test, the reference wrapped as one, and a small page-table builder.
//
// Any walker (the reference, the fast src/hw walker, ...) is plugged into the SDM case table
// (run.ts) and the property tests (props.ts) through `WalkUnderTest`. The builder writes page
// tables for one or more linear addresses through `write64`, at fixed physical addresses, so the
// same case builds the same bytes in every translator's memory.

import { refCommit, refTranslateWithEffects, type RefAccess, type RefLevel, type RefResult, type RefState } from './ref.js';

export interface WalkUnderTest {
  reset(st: RefState): void; // fresh (all-zero) memory + control state
  write64(pa: bigint, v: bigint): void;
  read64(pa: bigint): bigint;
  translate(acc: RefAccess): RefResult; // must also commit A/D like hardware does
}

/** The reference itself, over a sparse Map memory, committing A/D into memory on success. */
export function refUnderTest(): WalkUnderTest {
  let mem = new Map<bigint, bigint>();
  let st: RefState | null = null;
  const read64 = (pa: bigint): bigint => {
    if ((pa & 7n) !== 0n) throw new Error(`refUnderTest: unaligned read64 at ${hex(pa)}`);
    return mem.get(pa) ?? 0n;
  };
  const write64 = (pa: bigint, v: bigint): void => {
    if ((pa & 7n) !== 0n) throw new Error(`refUnderTest: unaligned write64 at ${hex(pa)}`);
    mem.set(pa, BigInt.asUintN(64, v));
  };
  return {
    reset(s) { mem = new Map(); st = { ...s }; },
    write64,
    read64,
    translate(acc) {
      if (st === null) throw new Error('refUnderTest: translate before reset');
      const fx = refTranslateWithEffects(read64, st, acc);
      refCommit({ read64, write64 }, fx);
      return fx.result;
    },
  };
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

// ---- entry bits (SDM Vol. 3 Tables 4-14..4-20) -------------------------------------------------

export const P = 1n << 0n;
export const RW = 1n << 1n;
export const US = 1n << 2n;
export const PWT = 1n << 3n;
export const PCD = 1n << 4n;
export const A = 1n << 5n;
export const D = 1n << 6n;
export const PS = 1n << 7n;
export const G = 1n << 8n;
export const PAT_LARGE = 1n << 12n; // PAT in a 2 MiB PDE / 1 GiB PDPTE
export const XD = 1n << 63n;
export const PRU = P | RW | US; // the usual "present, writable, user" upper-level entry

export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

export function pkeyBits(key: number): bigint {
  return BigInt(key & 0xf) << 59n; // Table 4-20: protection key in bits 62:59 of the leaf
}

// ---- the builder ------------------------------------------------------------------------------

/** Raw flag bits per level for one linear address; the builder adds addresses (and PS). */
export interface MapSpec {
  va: bigint;
  pml5?: bigint; // used only with CR4.LA57; default PRU
  pml4: bigint;
  pdpt: bigint;
  pd?: bigint; // required unless leafLevel is 'pdpt'
  pt?: bigint; // required when leafLevel is 'pt'
  leafLevel?: 'pt' | 'pd' | 'pdpt'; // default 'pt'; 'pd'/'pdpt' also set PS in that entry
  pkey?: number; // written into bits 62:59 of the leaf
  extraBits?: Partial<Record<RefLevel, bigint>>; // ORed into that level's entry last
  frame?: bigint; // the leaf's frame; defaults below
}

export type TablesSpec = MapSpec | MapSpec[];

/** The root table (PML5 with LA57, else PML4) is always here; DEFAULT_REF_STATE.cr3 agrees. */
export const ROOT = 0x1000n;
const FIRST_TABLE = 0x2000n; // further tables are allocated upward from here, 4 KiB each
export const FRAME_4K = 0x00a0_0000n; // default leaf frames, + one page/region per mapping index
export const FRAME_2M = 0x0100_0000n;
export const FRAME_1G = 0x4000_0000n;

/** Where the builder put each mapping's entries, for checking A/D bits afterwards. */
export interface Built {
  entries: Array<Partial<Record<RefLevel, bigint>>>; // per mapping: entry PA per level written
  written: bigint[]; // every physical address written
}

const SHIFT: Record<RefLevel, bigint> = { pml5: 48n, pml4: 39n, pdpt: 30n, pd: 21n, pt: 12n };

export function leafLevelOf(m: MapSpec): 'pt' | 'pd' | 'pdpt' {
  return m.leafLevel ?? 'pt';
}

function defaultFrame(m: MapSpec, i: number): bigint {
  const leaf = leafLevelOf(m);
  if (leaf === 'pdpt') return FRAME_1G * BigInt(i + 1);
  if (leaf === 'pd') return FRAME_2M + BigInt(i) * 0x20_0000n;
  return FRAME_4K + BigInt(i) * 0x1000n;
}

function flagsAt(m: MapSpec, level: RefLevel): bigint {
  const f = level === 'pml5' ? (m.pml5 ?? PRU) : m[level];
  if (f === undefined) throw new Error(`buildTables: mapping ${hex(m.va)} has no ${level} flags`);
  return f;
}

/**
 * Write the entries for every mapping. Tables are allocated once per (level, index path) in a
 * fixed order, so the layout is deterministic. Two mappings that share an entry must agree on it.
 */
export function buildTables(ut: Pick<WalkUnderTest, 'write64'>, spec: TablesSpec, la57: boolean): Built {
  const maps = Array.isArray(spec) ? spec : [spec];
  const tables = new Map<string, bigint>();
  const values = new Map<bigint, bigint>();
  let next = FIRST_TABLE;
  const built: Built = { entries: [], written: [] };
  maps.forEach((m, i) => {
    const levels: RefLevel[] = la57 ? ['pml5', 'pml4', 'pdpt', 'pd', 'pt'] : ['pml4', 'pdpt', 'pd', 'pt'];
    const leaf = leafLevelOf(m);
    const at: Partial<Record<RefLevel, bigint>> = {};
    let table = ROOT;
    let path = '';
    for (const level of levels) {
      const index = (m.va >> SHIFT[level]) & 0x1ffn;
      path += `/${index}`;
      const pa = table + index * 8n;
      let v = flagsAt(m, level);
      if (level === leaf) {
        v |= (m.frame ?? defaultFrame(m, i)) | (leaf === 'pt' ? 0n : PS) | pkeyBits(m.pkey ?? 0);
      } else {
        let child = tables.get(path);
        if (child === undefined) { child = next; next += 0x1000n; tables.set(path, child); }
        v |= child;
      }
      v |= m.extraBits?.[level] ?? 0n;
      const old = values.get(pa);
      if (old !== undefined && old !== v) {
        throw new Error(`buildTables: mappings disagree on the ${level} entry at ${hex(pa)}: ${hex(old)} vs ${hex(v)}`);
      }
      values.set(pa, v);
      ut.write64(pa, v);
      if (!built.written.includes(pa)) built.written.push(pa);
      at[level] = pa;
      if (level === leaf) break;
      table = tables.get(path) ?? 0n;
    }
    built.entries.push(at);
  });
  return built;
}

// ---- the case-table vocabulary ----------------------------------------------------------------

/** A/D flags expected afterwards in every entry the builder wrote for every mapping of a case. */
export interface AfterAD {
  accessed: boolean; // A in every entry of the walk (leaf included)
  dirty: boolean; // D in the leaf
}

export type CaseExpect =
  | { ok: true; pa?: bigint; pageSize?: '4k' | '2m' | '1g'; after?: AfterAD }
  | { pf: number; cr2?: bigint /* default: access.va */; after?: AfterAD }
  | { gp: true };

export interface SdmCase {
  id: string;
  sdm: string; // e.g. '§4.6.1'
  what: string;
  state?: Partial<RefState>;
  tables: TablesSpec;
  access: RefAccess;
  expect: CaseExpect;
}
