// Translation lookaside buffer (Intel SDM Vol. 3 §4.10). Set-associative, one bank per page size
// (as real cores keep separate structures for 4 KiB, 2 MiB and 1 GiB pages), tagged by PCID,
// with global entries (§4.10.2.4). What it caches is the page frame and the rights combined across
// levels at fill time; the rights *decision* is taken at every access with the current CR0.WP,
// SMEP, SMAP, AC and PKRU, which the processor also does not cache.
//
// §4.10 rules the model keeps:
//  - only successful translations are cached (never a not-present one, §4.10.2.3);
//  - an entry stays in use until invalidated, even if the paging structures changed: a PTE made
//    read-only without INVLPG still allows writes through a cached writable entry (§4.10.4.4);
//  - a page fault invalidates the entries for the faulting page (§4.10.4.1);
//  - a write through an entry whose dirty flag was clear walks again to set D (§4.8).
//
// Everything lives in typed arrays; lookups allocate nothing.

import { SZ_1G, SZ_2M, SZ_4K } from './paging.js';

export interface TlbGeometry {
  sets: number;
  ways: number;
}

export const DEFAULT_TLB: TlbGeometry = { sets: 16, ways: 4 };

/** `info` bits of an entry. */
export const T_GLOBAL = 1 << 8;
export const T_DIRTY = 1 << 9;
// bits 0-2: rights (R_RW, R_US, R_XD); bits 4-7: protection key

/** One page size's set-associative array. */
export class Bank {
  readonly tag: Float64Array; // page number at this size, -1 = invalid
  readonly pcid: Int32Array;
  readonly info: Int32Array;
  /** Frame number of the page's first 4 KiB frame. */
  readonly frame: Float64Array;
  private readonly next: Uint8Array;
  readonly mask: number;

  constructor(
    readonly sets: number,
    readonly ways: number,
  ) {
    this.tag = new Float64Array(sets * ways).fill(-1);
    this.pcid = new Int32Array(sets * ways);
    this.info = new Int32Array(sets * ways);
    this.frame = new Float64Array(sets * ways);
    this.next = new Uint8Array(sets);
    this.mask = sets - 1;
  }

  /** Index of the entry for page `pn` usable under `pcid`, or -1. */
  find(pn: number, pcid: number): number {
    const base = (pn & this.mask) * this.ways;
    for (let i = base, end = base + this.ways; i < end; i++) {
      if (this.tag[i] === pn && (this.pcid[i] === pcid || (this.info[i]! & T_GLOBAL) !== 0)) return i;
    }
    return -1;
  }

  /** Choose a way for page `pn`: a free one, else round-robin. Returns [index, evicted?]. */
  victim(pn: number): number {
    const set = pn & this.mask;
    const base = set * this.ways;
    for (let i = base; i < base + this.ways; i++) if (this.tag[i] === -1) return i;
    const w = this.next[set]!;
    this.next[set] = (w + 1) % this.ways;
    return base + w;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.tag.length; i++) if (this.tag[i] !== -1) n++;
    return n;
  }
}

export class Tlb {
  readonly banks: readonly [Bank, Bank, Bank];
  /** The 4 KiB bank, searched inline by Machine.translate. */
  readonly b4: Bank;
  hits = 0;
  misses = 0;
  fills = 0;
  flushes = 0;

  constructor(readonly geometry: TlbGeometry = DEFAULT_TLB) {
    const { sets, ways } = geometry;
    if (!Number.isInteger(sets) || sets < 1 || sets > 4096 || (sets & (sets - 1)) !== 0) {
      throw new RangeError(`TLB sets must be a power of two from 1 to 4096, got ${sets}`);
    }
    if (!Number.isInteger(ways) || ways < 1 || ways > 64) throw new RangeError(`TLB ways must be 1..64, got ${ways}`);
    this.banks = [new Bank(sets, ways), new Bank(sets, ways), new Bank(sets, ways)];
    this.b4 = this.banks[0];
  }

  /**
   * Look up the 4 KiB page `vpn` under `pcid`. Returns a handle `size * 2^24 + index` or -1.
   * Large pages are looked up by their own page numbers (vpn / 512, vpn / 512^2).
   */
  lookup(vpn: number, pcid: number): number {
    const i = this.b4.find(vpn, pcid);
    if (i >= 0) return i;
    return this.lookupLarge(vpn, pcid);
  }

  /** The 2 MiB and 1 GiB banks only (after the inline 4 KiB search missed). */
  lookupLarge(vpn: number, pcid: number): number {
    const b2 = this.banks[1];
    const b1 = this.banks[2];
    let i = b2.find(Math.floor(vpn / 512), pcid);
    if (i >= 0) return SZ_2M * 0x1000000 + i;
    i = b1.find(Math.floor(vpn / 262144), pcid);
    if (i >= 0) return SZ_1G * 0x1000000 + i;
    return -1;
  }

  bankOf(handle: number): Bank {
    return this.banks[Math.floor(handle / 0x1000000)]!;
  }

  /** Cache a translation. `info` = rights | pkey << 4 | T_GLOBAL | T_DIRTY. */
  fill(vpn: number, size: number, pcid: number, frame: number, info: number): void {
    const bank = this.banks[size]!;
    const pn = size === SZ_4K ? vpn : Math.floor(vpn / (size === SZ_2M ? 512 : 262144));
    let i = bank.find(pn, pcid);
    if (i < 0) i = bank.victim(pn);
    bank.tag[i] = pn;
    bank.pcid[i] = pcid;
    bank.frame[i] = frame;
    bank.info[i] = info;
    this.fills++;
  }

  /**
   * Invalidate the entries that translate page `vpn`: those of `pcid` and, if `globalsToo`, global
   * ones (INVLPG, a page fault, INVPCID type 0 which keeps globals). Returns how many were dropped.
   */
  invalidatePage(vpn: number, pcid: number, globalsToo: boolean): number {
    let n = 0;
    for (let size = 0; size < 3; size++) {
      const bank = this.banks[size]!;
      const pn = Math.floor(vpn / [1, 512, 262144][size]!);
      const base = (pn & bank.mask) * bank.ways;
      for (let i = base; i < base + bank.ways; i++) {
        if (bank.tag[i] !== pn) continue;
        const global = (bank.info[i]! & T_GLOBAL) !== 0;
        if (global ? globalsToo : bank.pcid[i] === pcid) {
          bank.tag[i] = -1;
          n++;
        }
      }
    }
    if (n) this.flushes++;
    return n;
  }

  /**
   * Invalidate many entries: those of `pcid` (or every PCID if `pcid` is -1), keeping global
   * entries if `keepGlobal`. Returns how many were dropped.
   */
  invalidateContext(pcid: number, keepGlobal: boolean): number {
    let n = 0;
    for (const bank of this.banks) {
      for (let i = 0; i < bank.tag.length; i++) {
        if (bank.tag[i] === -1) continue;
        const global = (bank.info[i]! & T_GLOBAL) !== 0;
        if (global ? keepGlobal : pcid !== -1 && bank.pcid[i] !== pcid) continue;
        bank.tag[i] = -1;
        n++;
      }
    }
    this.flushes++;
    return n;
  }

  /** Entries currently valid, for display. */
  entries(): { size: number; pn: number; pcid: number; frame: number; info: number }[] {
    const out: { size: number; pn: number; pcid: number; frame: number; info: number }[] = [];
    this.banks.forEach((bank, size) => {
      for (let i = 0; i < bank.tag.length; i++) {
        if (bank.tag[i] !== -1) out.push({ size, pn: bank.tag[i]!, pcid: bank.pcid[i]!, frame: bank.frame[i]!, info: bank.info[i]! });
      }
    });
    return out;
  }

  get size(): number {
    return this.banks.reduce((n, b) => n + b.count(), 0);
  }
}
