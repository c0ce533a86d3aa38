// The control state the page walk and the TLB read, derived from CR0, CR3, CR4, EFER, RFLAGS and
// PKRU (SDM Vol. 3 §4.1.4, §4.6). The Machine rebuilds it whenever one of those registers is
// written, so the hot path reads plain booleans and numbers instead of decoding bigints.

import { addrReservedHi, checkRights } from './paging.js';
import {
  CR0_WP, CR3_PCID_MASK, CR4_LA57, CR4_PCIDE, CR4_PGE, CR4_PKE, CR4_SMAP, CR4_SMEP, EFER_NXE, RFLAGS_AC,
  type CpuState,
} from './regs.js';

export interface PagingCtl {
  la57: boolean;
  nxe: boolean;
  wp: boolean;
  smep: boolean;
  smap: boolean;
  pke: boolean;
  pge: boolean;
  pcide: boolean;
  ac: boolean;
  pkru: number;
  /** Physical address of the root table (PML5 or PML4), from CR3 bits 51:12. */
  rootPa: number;
  /** Current PCID (CR3 bits 11:0 with CR4.PCIDE=1, else 0). */
  pcid: number;
  page1g: boolean;
  /** High-word mask of address bits 51:MAXPHYADDR (reserved in every entry). */
  rsvdHi: number;
  /**
   * The rights decision without protection keys, precomputed for this control state:
   * `rightsEc[rights | acc << 3 | user << 5 | implicit << 6]` is 0 or the #PF error code.
   */
  rightsEc: Uint8Array;
}

/**
 * `cache` keeps the rights tables already built, keyed by the five flags they depend on (WP, SMEP,
 * SMAP, NXE, AC), so the register writes of every exception delivery and IRETQ do not rebuild one.
 */
export function deriveCtl(cpu: CpuState, maxPhyAddr: number, page1g: boolean, cache?: Map<number, Uint8Array>): PagingCtl {
  const ctl = deriveFlags(cpu, maxPhyAddr, page1g);
  const key = (ctl.wp ? 1 : 0) | (ctl.smep ? 2 : 0) | (ctl.smap ? 4 : 0) | (ctl.nxe ? 8 : 0) | (ctl.ac ? 16 : 0);
  const known = cache?.get(key);
  if (known) {
    ctl.rightsEc = known;
    return ctl;
  }
  const noKeys = { ...ctl, pke: false };
  for (let i = 0; i < 128; i++) {
    ctl.rightsEc[i] = checkRights(noKeys, i & 7, 0, (i >> 3) & 3, (i & 32) !== 0, (i & 64) !== 0);
  }
  cache?.set(key, ctl.rightsEc);
  return ctl;
}

/**
 * After a MOV to CR3 only the root table and the PCID change. A new object of the same shape as
 * deriveFlags' literal (mutating in place changed V8's field representation of `rootPa` and made
 * every walk's loads of `ctl` slower).
 */
export function withCr3(ctl: PagingCtl, cr3: bigint, maxPhyAddr: number): PagingCtl {
  const lo = Number(cr3 & 0xfffn);
  return {
    la57: ctl.la57,
    nxe: ctl.nxe,
    wp: ctl.wp,
    smep: ctl.smep,
    smap: ctl.smap,
    pke: ctl.pke,
    pge: ctl.pge,
    pcide: ctl.pcide,
    ac: ctl.ac,
    pkru: ctl.pkru,
    rootPa: rootOf(cr3, maxPhyAddr), // computed as deriveFlags does, so the field keeps its representation
    pcid: ctl.pcide ? lo : 0,
    page1g: ctl.page1g,
    rsvdHi: ctl.rsvdHi,
    rightsEc: ctl.rightsEc,
  };
}

/** CR3 bits maxPhyAddr-1:12: the root table's physical address. */
function rootOf(cr3: bigint, maxPhyAddr: number): number {
  return Number(cr3 & ((1n << BigInt(maxPhyAddr)) - 1n) & ~0xfffn);
}

function deriveFlags(cpu: CpuState, maxPhyAddr: number, page1g: boolean): PagingCtl {
  const pcide = (cpu.cr4 & CR4_PCIDE) !== 0n;
  return {
    la57: (cpu.cr4 & CR4_LA57) !== 0n,
    nxe: (cpu.efer & EFER_NXE) !== 0n,
    wp: (cpu.cr0 & CR0_WP) !== 0n,
    smep: (cpu.cr4 & CR4_SMEP) !== 0n,
    smap: (cpu.cr4 & CR4_SMAP) !== 0n,
    pke: (cpu.cr4 & CR4_PKE) !== 0n,
    pge: (cpu.cr4 & CR4_PGE) !== 0n,
    pcide,
    ac: (cpu.rflags & RFLAGS_AC) !== 0n,
    pkru: cpu.pkru >>> 0,
    rootPa: rootOf(cpu.cr3, maxPhyAddr),
    pcid: pcide ? Number(cpu.cr3 & CR3_PCID_MASK) : 0,
    page1g,
    rsvdHi: addrReservedHi(maxPhyAddr),
    rightsEc: new Uint8Array(128),
  };
}
