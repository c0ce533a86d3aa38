// Paging-structure entry formats, 4-level and 5-level paging (Intel SDM Vol. 3 §4.5, Tables 4-15..4-20).
//
//   63  62:59  58:52  51:M  M-1:12            11:9 8 7  6 5 4   3   2   1  0
//  +--+------+------+-----+-----------------+----+-+--+-+-+---+---+---+--+--+
//  |XD| PKEY | ign. | rsvd| frame / table PA| ign|G|PS|D|A|PCD|PWT|U/S|RW|P |
//  +--+------+------+-----+-----------------+----+-+--+-+-+---+---+---+--+--+
//
//  - PS (bit 7) maps a page in a PDPTE (1 GiB) or PDE (2 MiB); it is reserved in PML5E/PML4E, and in
//    a PTE the same bit is PAT.  In a large-page entry bit 12 is PAT and the bits between 12 and the
//    page size are reserved (PDPTE: 29:13, PDE: 20:13).
//  - PKEY (62:59) means something only in a leaf and only with CR4.PKE=1 (§4.6.2).
//  - XD (63) is reserved when IA32_EFER.NXE=0 (§4.5.4... Table 4-15 note).
//  - M is MAXPHYADDR; address bits 51:M are reserved in every present entry.
//
// Entries are kept as two 32-bit words on the hot path (STYLE.md: no bigint in the walk).

import type { Level, PageSize } from '../trace/events.js';

/** Bits of the low 32-bit word. */
export const P = 1 << 0;
export const RW = 1 << 1;
export const US = 1 << 2;
export const PWT = 1 << 3;
export const PCD = 1 << 4;
export const A = 1 << 5;
export const D = 1 << 6;
export const PS = 1 << 7;
export const G = 1 << 8;
/** Bits of the high 32-bit word. */
export const HI_XD = 1 << 31;
export const HI_PKEY_SHIFT = 59 - 32;

/** The full table: one row per named bit, used for decode, encode and display. */
export const PTE_BITS: readonly { name: string; bit: number; doc: string }[] = [
  { name: 'p', bit: 0, doc: 'present' },
  { name: 'rw', bit: 1, doc: 'read/write: writes allowed if set at every level' },
  { name: 'us', bit: 2, doc: 'user/supervisor: user accesses allowed if set at every level' },
  { name: 'pwt', bit: 3, doc: 'page-level write-through' },
  { name: 'pcd', bit: 4, doc: 'page-level cache disable' },
  { name: 'a', bit: 5, doc: 'accessed: set by the CPU when the entry is used' },
  { name: 'd', bit: 6, doc: 'dirty: set by the CPU on a write through a leaf' },
  { name: 'ps', bit: 7, doc: 'page size (PDPTE/PDE); PAT in a PTE' },
  { name: 'g', bit: 8, doc: 'global: TLB entry survives CR3 writes (CR4.PGE)' },
  { name: 'xd', bit: 63, doc: 'execute-disable (EFER.NXE=1), reserved otherwise' },
];

export const LEVELS5: readonly Level[] = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'];
export const LEVELS4: readonly Level[] = ['pml4', 'pdpt', 'pd', 'pt'];

/** Index shift of each level: bits 56:48, 47:39, 38:30, 29:21, 20:12 of the linear address. */
export const LEVEL_SHIFT: Record<Level, number> = { pml5: 48, pml4: 39, pdpt: 30, pd: 21, pt: 12 };

export const PAGE_BYTES: Record<PageSize, number> = { '4k': 4096, '2m': 2 * 1024 * 1024, '1g': 1024 * 1024 * 1024 };
export const LEAF_LEVEL: Record<PageSize, Level> = { '4k': 'pt', '2m': 'pd', '1g': 'pdpt' };

export interface PteFields {
  p: boolean; rw: boolean; us: boolean; pwt: boolean; pcd: boolean; a: boolean; d: boolean;
  ps: boolean; g: boolean; xd: boolean; pkey: number;
  /** Bits 51:12 as a physical address (not masked to MAXPHYADDR). */
  addr: bigint;
}

const ADDR_MASK = 0x000f_ffff_ffff_f000n;

export function decodePte(v: bigint): PteFields {
  const bit = (n: number) => ((v >> BigInt(n)) & 1n) === 1n;
  return {
    p: bit(0), rw: bit(1), us: bit(2), pwt: bit(3), pcd: bit(4), a: bit(5), d: bit(6),
    ps: bit(7), g: bit(8), xd: bit(63), pkey: Number((v >> 59n) & 0xfn), addr: v & ADDR_MASK,
  };
}

export function encodePte(f: Partial<PteFields>): bigint {
  let v = (f.addr ?? 0n) & ADDR_MASK;
  const flags: [keyof PteFields, number][] = [
    ['p', 0], ['rw', 1], ['us', 2], ['pwt', 3], ['pcd', 4], ['a', 5], ['d', 6], ['ps', 7], ['g', 8], ['xd', 63],
  ];
  for (const [k, n] of flags) if (f[k]) v |= 1n << BigInt(n);
  if (f.pkey) v |= BigInt(f.pkey & 0xf) << 59n;
  return v;
}

/** "P RW US A D" style summary of an entry, as page-table dumpers print it. */
export function pteFlagString(lo: number, hi: number, level: Level): string {
  if (!(lo & P)) return lo === 0 && hi === 0 ? 'empty' : 'not-present';
  const out: string[] = ['P', lo & RW ? 'RW' : 'RO', lo & US ? 'US' : 'S'];
  if (lo & PWT) out.push('PWT');
  if (lo & PCD) out.push('PCD');
  if (lo & A) out.push('A');
  if (lo & D) out.push('D');
  if (lo & PS) out.push(level === 'pt' ? 'PAT' : 'PS');
  if (lo & G) out.push('G');
  if (hi & HI_XD) out.push('XD');
  const pkey = (hi >>> HI_PKEY_SHIFT) & 0xf;
  if (pkey) out.push(`PKEY=${pkey}`);
  return out.join(' ');
}

/** Join two 32-bit halves into a 64-bit bigint (display and API only, never the hot path). */
export function join64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
