// fast-check generators for the property tests (props.ts): random control state, random page
// tables for a few linear addresses (random flags at every level, PS, XD, protection keys,
// reserved bits), and random accesses (page-crossing and non-canonical ones included).
//
// Table indices come from a small pool so mappings share upper-level tables and neighbouring
// pages, which is where walkers and crossing accesses go wrong. Table pointers always point at
// frames the generator allocated, so a walker never follows an entry into unbounded memory.

import fc from 'fast-check';
import { ROOT, hex, type WalkUnderTest } from './harness.js';
import type { RefAccess, RefLevel, RefState } from './ref.js';

export interface GenEntry {
  present: boolean;
  rw: boolean;
  us: boolean;
  low: number; // PWT, PCD, A, D, G and the ignored bits 11:9, as bits 3..11 (bit 7 masked)
  ps: boolean; // leaf at PDPT/PD; reserved at PML5/PML4; ignored (PAT) at PT
  xd: boolean;
  key: number; // bits 62:59
  ignoredHigh: number; // bits 58:52
  rsvdAddr: number | null; // picks one bit of 51:MAXPHYADDR (if any)
  rsvdLarge: number | null; // picks one bit of 29:13 (1 GiB) or 20:13 (2 MiB) in a large leaf
  pat12: boolean; // bit 12 in a large leaf
}

export interface GenMapping {
  idx: [number, number, number, number, number]; // PML5, PML4, PDPT, PD, PT indices
  entries: [GenEntry, GenEntry, GenEntry, GenEntry, GenEntry]; // same order
  frame: number; // selects the leaf frame
}

export type GenTarget =
  | { kind: 'mapped'; map: number; page: number; offset: number } // va of mapping + page*4K + offset
  | { kind: 'flipped'; map: number; bit: number } // mapped va with one of bits 63:47 flipped
  | { kind: 'raw'; va: bigint };

export interface GenAccess { target: GenTarget; kind: RefAccess['kind']; cpl: 0 | 3; implicit: boolean; size: number }

export interface Scenario { st: RefState; maps: GenMapping[]; accesses: GenAccess[] }

const chance = (percent: number): fc.Arbitrary<boolean> => fc.integer({ min: 0, max: 99 }).map((n) => n < percent);
const maybe = <T>(percent: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.tuple(chance(percent), arb).map(([yes, v]) => (yes ? v : null));

export const arbState: fc.Arbitrary<RefState> = fc.record({
  cr3: fc.constant(ROOT),
  wp: fc.boolean(), smep: fc.boolean(), smap: fc.boolean(), pke: fc.boolean(), la57: fc.boolean(),
  nxe: chance(80), ac: fc.boolean(),
  pkru: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 31 }).map((b) => 2 ** b), // one AD or WD bit
    fc.integer({ min: 0, max: 0xffff_ffff }).map((n) => (n & 0xaaaa_aaaa) >>> 0), // WD bits only
    fc.integer({ min: 0, max: 0xffff_ffff }),
  ),
  maxPhyAddr: fc.constantFrom(36, 39, 46, 52),
  page1g: chance(80),
});

function arbEntry(psPercent: number): fc.Arbitrary<GenEntry> {
  return fc.record({
    present: chance(97), rw: chance(75), us: chance(75),
    low: fc.integer({ min: 0, max: 0x1ff }).map((n) => (n << 3) & ~0x80),
    ps: chance(psPercent), xd: chance(8), key: fc.integer({ min: 0, max: 15 }),
    ignoredHigh: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x7f })),
    rsvdAddr: maybe(2, fc.nat(63)), rsvdLarge: maybe(4, fc.nat(63)), pat12: fc.boolean(),
  });
}

const arbIndex = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 511), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 511 }), weight: 1 },
);

export const arbMapping: fc.Arbitrary<GenMapping> = fc.record({
  idx: fc.tuple(arbIndex, arbIndex, arbIndex, arbIndex, arbIndex),
  entries: fc.tuple(arbEntry(3), arbEntry(3), arbEntry(15), arbEntry(20), arbEntry(10)),
  frame: fc.nat(0xffff),
});

const arbTarget: fc.Arbitrary<GenTarget> = fc.oneof(
  { weight: 16, arbitrary: fc.record({
    kind: fc.constant('mapped' as const), map: fc.nat(7), page: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1, -1, 511),
    offset: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 0xfff }) },
      { weight: 2, arbitrary: fc.integer({ min: 0xfc0, max: 0xfff }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f_ffff }) },
    ),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flipped' as const), map: fc.nat(7), bit: fc.integer({ min: 47, max: 63 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), va: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }) },
);

export const arbAccess: fc.Arbitrary<GenAccess> = fc.record({
  target: arbTarget,
  kind: fc.constantFrom('read', 'write', 'exec'),
  cpl: fc.constantFrom(0, 3),
  implicit: chance(15),
  size: fc.constantFrom(1, 1, 2, 4, 8, 8, 16, 64),
}).map((a) => (a.kind === 'exec' ? { ...a, implicit: false } : a)); // implicit accesses are data accesses

export const arbScenario: fc.Arbitrary<Scenario> = fc.record({
  st: arbState,
  maps: fc.array(arbMapping, { minLength: 1, maxLength: 4 }),
  accesses: fc.array(arbAccess, { minLength: 1, maxLength: 6 }),
});

// ---- from generated values to linear addresses and memory ------------------------------------

const SHIFTS = [48n, 39n, 30n, 21n, 12n];
const NAMES: RefLevel[] = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'];

/** Sign-extend from the top implemented bit (56 with LA57, else 47): always canonical. */
export function canonicalize(va: bigint, la57: boolean): bigint {
  const width = la57 ? 57n : 48n;
  const low = va & ((1n << width) - 1n);
  return (low >> (width - 1n)) === 1n ? low | (((1n << 64n) - 1n) ^ ((1n << width) - 1n)) : low;
}

export function mappingVa(m: GenMapping, la57: boolean): bigint {
  let va = 0n;
  m.idx.forEach((ix, i) => { va |= BigInt(ix) << (SHIFTS[i] ?? 0n); });
  return canonicalize(va, la57);
}

export function accessOf(sc: Scenario, a: GenAccess): RefAccess {
  const t = a.target;
  let va: bigint;
  if (t.kind === 'raw') {
    va = t.va;
  } else {
    const m = sc.maps[t.map % sc.maps.length];
    if (m === undefined) throw new Error('props: scenario without mappings');
    const base = mappingVa(m, sc.st.la57);
    va = t.kind === 'mapped'
      ? BigInt.asUintN(64, base + BigInt(t.page) * 0x1000n + BigInt(t.offset))
      : base ^ (1n << BigInt(t.bit));
  }
  const acc: RefAccess = { va, kind: a.kind, cpl: a.cpl, size: a.size };
  return a.implicit ? { ...acc, implicit: true } : acc;
}

function entryValue(e: GenEntry, level: number, st: RefState, address: bigint): bigint {
  let v = address;
  if (e.present) v |= 1n;
  if (e.rw) v |= 2n;
  if (e.us) v |= 4n;
  v |= BigInt(e.low);
  if (e.ps) v |= 1n << 7n;
  if (e.xd) v |= 1n << 63n;
  v |= BigInt(e.key) << 59n;
  v |= BigInt(e.ignoredHigh) << 52n;
  if (e.rsvdAddr !== null && st.maxPhyAddr < 52) v |= 1n << BigInt(st.maxPhyAddr + (e.rsvdAddr % (52 - st.maxPhyAddr)));
  const large = e.ps && (level === 2 || level === 3);
  if (large && e.pat12) v |= 1n << 12n;
  if (large && e.rsvdLarge !== null) v |= 1n << BigInt(13 + (e.rsvdLarge % (level === 2 ? 17 : 8)));
  return v;
}

function leafFrame(m: GenMapping, level: number): bigint {
  if (level === 2) return BigInt((m.frame % 15) + 1) << 30n; // 1 GiB frames below 16 GiB
  if (level === 3) return BigInt((m.frame % 255) + 1) << 21n; // 2 MiB frames below 512 MiB
  return 0x1000_0000n + (BigInt(m.frame) << 12n); // 4 KiB frames from 256 MiB
}

/**
 * Write every mapping's entries into each translator; returns the physical addresses written
 * (the only places A/D can change). A later mapping reuses an entry an earlier one wrote.
 */
export function buildScenario(targets: Array<Pick<WalkUnderTest, 'write64'>>, sc: Scenario): bigint[] {
  const values = new Map<bigint, { v: bigint; child: bigint | null }>();
  let next = 0x2000n;
  for (const m of sc.maps) {
    let table = ROOT;
    for (let level = sc.st.la57 ? 0 : 1; level < 5; level++) {
      const pa = table + BigInt(m.idx[level] ?? 0) * 8n;
      const have = values.get(pa);
      if (have !== undefined) {
        if (have.child === null) break; // an earlier mapping ended its walk here
        table = have.child;
        continue;
      }
      const e = m.entries[level];
      if (e === undefined) throw new Error(`props: no ${NAMES[level]} entry`);
      const leaf = level === 4 || (e.ps && (level === 2 || level === 3));
      const child = leaf ? null : next;
      if (child !== null) next += 0x1000n;
      const v = entryValue(e, level, sc.st, child ?? leafFrame(m, level));
      values.set(pa, { v, child: e.present ? child : null });
      for (const t of targets) t.write64(pa, v);
      if (child === null || !e.present) break;
      table = child;
    }
  }
  return [...values.keys()];
}

export function showScenario(sc: Scenario): string {
  return JSON.stringify(sc, (_k, v: unknown) => (typeof v === 'bigint' ? hex(v) : v));
}
