// Linear-address translation for 4-level and 5-level paging (Intel SDM Vol. 3 §4.5) and the
// access-rights rules (§4.6), as a pure walk plus a separate commit step (STYLE.md: "Decide, then
// commit, then report"): `walk` reads memory and fills a reusable `WalkOut` record without
// changing anything, so a visualizer can preview it; `commitWalk` sets the accessed and dirty
// flags (§4.8). Neither allocates nor uses bigint: this is the hot path.
//
// Modelling choices where the SDM allows several behaviours:
//  - A flags are set only when the translation succeeds, and then at every level walked (§4.8
//    allows a processor to set them on a walk that later faults; this one does not).
//  - Access rights are checked after the whole walk, on the rights combined across levels.

import type { PagingCtl } from './ctl.js';
import { A, D, HI_PKEY_SHIFT, HI_XD, P, PS } from './pte.js';
import { PF_I, PF_P, PF_PK, PF_RSVD, PF_U, PF_W } from './pferr.js';
import type { PhysMem } from './physmem.js';

export const ACC_READ = 0;
export const ACC_WRITE = 1;
export const ACC_EXEC = 2;

/** Combined rights across all levels, as a TLB entry caches them. */
export const R_RW = 1; // R/W set at every level
export const R_US = 2; // U/S set at every level: a user-mode address
export const R_XD = 4; // XD set at some level

/** Page sizes by number: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB; `PAGE_SHIFT_OF[size]` is the VPN shift. */
export const SZ_4K = 0;
export const SZ_2M = 1;
export const SZ_1G = 2;
export const VPN_SHIFT_OF = [1, 512, 512 * 512] as const;

/** Levels by number: 0 = PML5 ... 4 = PT. */
export const LEVEL_NAMES = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'] as const;

export const W_OK = 0;
export const W_NOT_PRESENT = 1;
export const W_RESERVED = 2;

/** What a walk found. One instance is reused for every walk. */
export class WalkOut {
  status = W_OK;
  /** Level (0..4) where the walk ended: the leaf, or the entry that faulted. */
  level = 0;
  /** First level walked: 0 with 5-level paging, 1 with 4-level. */
  first = 1;
  readonly lo = new Int32Array(5);
  readonly hi = new Int32Array(5);
  /** The page number walked and the root table's frame: with `lo`/`hi` they locate every entry read. */
  vpn = 0;
  rootPfn = 0;
  /** The entry's index in its table (0..511). */
  indexOf(lvl: number): number {
    return indexAt(lvl, this.vpn >>> 0, Math.floor(this.vpn * INV_TWO32));
  }
  /** Physical address of the entry read at `lvl`: in the root table, or in the table the level above named. */
  entryPa(lvl: number): number {
    const table = lvl === this.first ? this.rootPfn : (this.hi[lvl - 1]! & 0xfffff) * 1048576 + (this.lo[lvl - 1]! >>> 12);
    return table * 4096 + this.indexOf(lvl) * 8;
  }
  rights = 0;
  pkey = 0;
  size = SZ_4K;
  /** AND of the low words walked: tells `commitWalk` whether any A flag is still clear. */
  andLo = 0;
  /** Frame number of the page's first 4 KiB frame (a 2 MiB/1 GiB page is 512/262144 frames). */
  pfn = 0;
}

/** Reserved-bit masks of the high word for address bits 51:MAXPHYADDR (§4.5, Tables 4-15..4-20). */
export function addrReservedHi(maxPhyAddr: number): number {
  return (0xfffff & ~((1 << (maxPhyAddr - 32)) - 1)) >>> 0;
}

const LARGE_1G_RSVD = 0x3fffe000; // bits 29:13 of a 1-GByte PDPTE (Table 4-17)
const LARGE_2M_RSVD = 0x001fe000; // bits 20:13 of a 2-MByte PDE (Table 4-18)
const INV_TWO32 = 1 / 4294967296;

/**
 * Walk the paging structures for the page `vpn` (linear address >> 12, canonical assumed).
 * Fills `out`; returns `out.status`.
 */
export function walk(mem: PhysMem, ctl: PagingCtl, vpn: number, out: WalkOut): number {
  // Split the 40/45-bit page number into 32-bit halves once, so every index is an integer op
  // (a double's `%` above 2^31 is a libm call).
  const lo32 = vpn >>> 0;
  const hi = Math.floor(vpn * INV_TWO32); // exact: a power-of-two reciprocal
  const first = ctl.la57 ? 0 : 1;
  const nxe = ctl.nxe;
  const rsvdHi = ctl.rsvdHi | (nxe ? 0 : HI_XD);
  const words = mem.wordArray;
  const dense = mem.denseSlots;
  const lineIdx = mem.lineIndex;
  out.first = first;
  let tablePfn = Math.floor(ctl.rootPa / 4096);
  out.vpn = vpn;
  out.rootPfn = tablePfn;
  let andLo = -1; // R/W and U/S combine by AND across levels
  let orHi = 0; // XD combines by OR
  for (let lvl = first; lvl < 5; lvl++) {
    const idx = indexAt(lvl, lo32, hi);
    // physmem.wordIndex inlined: an 8-byte entry never straddles a 128-byte line.
    // An untouched frame has slot 0 and a never-written line is line 0, both all zero: no tests.
    const slot = tablePfn < dense.length ? dense[tablePfn]! : mem.slotOfFrame(tablePfn);
    const line = lineIdx[(slot << 5) + (idx >>> 4)]!;
    const k = (line << 5) + ((idx & 15) << 1);
    const lo = words[k]! | 0;
    const hiw = words[k + 1]! | 0;
    out.lo[lvl] = lo;
    out.hi[lvl] = hiw;
    if (!(lo & P)) return walkStop(out, lvl, W_NOT_PRESENT);
    // Reserved: address bits 51:MAXPHYADDR, XD without NXE, PS where it is not allowed (§4.5).
    if (hiw & rsvdHi || (lo & PS && reservedPs(ctl, lvl, lo))) return walkStop(out, lvl, W_RESERVED);
    andLo &= lo;
    orHi |= hiw;
    const highPfn = (hiw & 0xfffff) * 1048576; // address bits 51:32 as a frame number
    if (lvl === 4 || lo & PS) {
      const size = 4 - lvl; // PT -> 4K, PD -> 2M, PDPT -> 1G
      out.size = size;
      out.level = lvl;
      out.andLo = andLo;
      out.pfn = highPfn + ((lo & FRAME_MASK[size]!) >>> 12);
      out.rights = ((andLo >>> 1) & (R_RW | R_US)) | (nxe && orHi & HI_XD ? R_XD : 0);
      out.pkey = ctl.pke ? (hiw >>> HI_PKEY_SHIFT) & 0xf : 0;
      return (out.status = W_OK);
    }
    tablePfn = highPfn + (lo >>> 12);
  }
  throw new Error('unreachable: the walk always ends at the PT level');
}

function walkStop(out: WalkOut, lvl: number, status: number): number {
  out.level = lvl;
  return (out.status = status);
}

/** PS is reserved in PML5E/PML4E, and in a PDPTE without 1-GByte pages; large pages reserve bits above PAT (Tables 4-17, 4-18). */
function reservedPs(ctl: PagingCtl, lvl: number, lo: number): boolean {
  if (lvl <= 1) return true;
  if (lvl === 2) return !ctl.page1g || (lo & LARGE_1G_RSVD) !== 0;
  if (lvl === 3) return (lo & LARGE_2M_RSVD) !== 0;
  return false; // bit 7 of a PTE is PAT
}

/** Frame-address bits of the low word for a 4 KiB, 2 MiB and 1 GiB leaf. */
const FRAME_MASK = [0xfffff000 | 0, 0xffe00000 | 0, 0xc0000000 | 0] as const;

/** The 9-bit index of `lvl` (0 = PML5 .. 4 = PT) from the page number's 32-bit halves. */
function indexAt(lvl: number, lo32: number, hi: number): number {
  switch (lvl) {
    case 4: return lo32 & 511; // bits 20:12
    case 3: return (lo32 >>> 9) & 511; // bits 29:21
    case 2: return (lo32 >>> 18) & 511; // bits 38:30
    case 1: return ((lo32 >>> 27) | ((hi & 15) << 5)) & 511; // bits 47:39
    default: return (hi >>> 4) & 511; // bits 56:48
  }
}

/** Set A at every level walked and D at the leaf for a write (§4.8). */
export function commitWalk(mem: PhysMem, out: WalkOut, write: boolean): void {
  if (out.andLo & A && !(write && !(out.lo[out.level]! & D))) return; // nothing to set
  for (let lvl = out.first; lvl <= out.level; lvl++) {
    let lo = out.lo[lvl]!;
    const want = lo | A | (write && lvl === out.level ? D : 0);
    if (want !== lo) {
      lo = want;
      out.lo[lvl] = lo;
      mem.write32(out.entryPa(lvl), lo >>> 0);
    }
  }
}

/**
 * The error code for a walk that stopped (not present or reserved bit), §4.7. `user` is a
 * user-mode access (CPL 3 and not an implicit supervisor access).
 */
export function walkErrorCode(ctl: PagingCtl, status: number, acc: number, user: boolean): number {
  let ec = status === W_RESERVED ? PF_P | PF_RSVD : 0;
  if (acc === ACC_WRITE) ec |= PF_W;
  if (user) ec |= PF_U;
  if (acc === ACC_EXEC && (ctl.nxe || ctl.smep)) ec |= PF_I;
  return ec;
}

/**
 * Access rights (§4.6.1) and protection keys (§4.6.2) for a translation with combined `rights`
 * and `pkey`. Returns 0 if the access is allowed, else the #PF error code (P=1).
 */
export function checkRights(ctl: PagingCtl, rights: number, pkey: number, acc: number, user: boolean, implicit: boolean): number {
  const userAddr = (rights & R_US) !== 0;
  let denied: boolean;
  if (acc === ACC_EXEC) {
    denied = (rights & R_XD) !== 0 || (user ? !userAddr : userAddr && ctl.smep);
  } else if (user) {
    denied = !userAddr || (acc === ACC_WRITE && !(rights & R_RW));
  } else {
    const smapBlocks = userAddr && ctl.smap && (implicit || !ctl.ac);
    denied = smapBlocks || (acc === ACC_WRITE && ctl.wp && !(rights & R_RW));
  }
  const pk = acc !== ACC_EXEC && userAddr && ctl.pke && pkeyDenies(ctl, pkey, acc, user);
  if (!denied && !pk) return 0;
  let ec = PF_P | (pk ? PF_PK : 0);
  if (acc === ACC_WRITE) ec |= PF_W;
  if (user) ec |= PF_U;
  if (acc === ACC_EXEC && (ctl.nxe || ctl.smep)) ec |= PF_I;
  return ec;
}

/** PKRU: AD (bit 2i) forbids data access, WD (bit 2i+1) forbids writes, for supervisor writes only with WP. */
function pkeyDenies(ctl: PagingCtl, pkey: number, acc: number, user: boolean): boolean {
  const bits = (ctl.pkru >>> (2 * pkey)) & 3;
  if (bits & 1) return true;
  return acc === ACC_WRITE && (bits & 2) !== 0 && (user || ctl.wp);
}
