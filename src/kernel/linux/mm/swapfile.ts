// The swap device (mm/swapfile.c swap_info_struct, swap_map; mm/page_io.c swap_readpage /
// swap_writepage; 5.19 and 6.18) and the x86-64 swap PTE (arch/x86/include/asm/pgtable_64.h).
// Simplified: one swap area (type 0), set up by the scenario (`machine: {swap: 64m}`) as swapon
// would; slots are taken first-fit from a moving cursor (scan_swap_map_slots without clusters);
// I/O is synchronous and copies the frame's bytes; the device is not SWP_SYNCHRONOUS_IO (a disk),
// so swap-in goes through the swap cache with readahead. No swap cgroup, no frontswap/zswap.

import { _PAGE_ACCESSED, _PAGE_DIRTY } from '../arch/x86/include/asm/pgtable_types.js';
import type { Kernel } from '../types.js';
import { pressure } from './vmscan.js';

/** SWAP_HAS_CACHE is a bit of swap_map in Linux; the model keeps it in its own array. */
export interface SwapInfo {
  readonly type: number;
  /** Pages of the area, the header page (offset 0) included. */
  readonly max: number;
  /** swap_map: PTE references per slot (swap_count). */
  readonly swap_map: Uint8Array;
  /** SWAP_HAS_CACHE: the slot has a page in the swap cache. */
  readonly has_cache: Uint8Array;
  inuse_pages: number;
  cluster_next: number;
  /** The data of written slots (1024 words; absent = all zero). */
  readonly data: Map<number, Uint32Array>;
}

/** sys_swapon, reduced: an area of `pages` pages whose first page is the swap header. */
export function swapon(k: Kernel, pages: number): SwapInfo {
  if (!Number.isInteger(pages) || pages < 2) throw new RangeError(`swapon: an area needs at least 2 pages, got ${pages}`);
  const si: SwapInfo = {
    type: 0, max: pages, swap_map: new Uint8Array(pages), has_cache: new Uint8Array(pages), inuse_pages: 0, cluster_next: 1, data: new Map(),
  };
  si.swap_map[0] = 0x3f; // SWAP_MAP_BAD: the header page is never handed out
  pressure(k).swap = si;
  return si;
}

/** total_swap_pages and nr_swap_pages (free slots). */
export function swap_totals(k: Kernel): { total: number; free: number } {
  const si = pressure(k).swap;
  if (!si) return { total: 0, free: 0 };
  return { total: si.max - 1, free: si.max - 1 - si.inuse_pages };
}

/** vm_swap_full: more than half the swap space is in use (then swap-in frees the slot at once). */
export function vm_swap_full(k: Kernel): boolean {
  const { total, free } = swap_totals(k);
  return total > 0 && free * 2 < total;
}

/** get_swap_page (5.19) / folio_alloc_swap (6.x): a free slot with SWAP_HAS_CACHE set; 0 when full. */
export function get_swap_page(k: Kernel): number {
  const si = pressure(k).swap;
  if (!si || si.inuse_pages >= si.max - 1) return 0;
  for (let n = 0; n < si.max; n++) {
    const off = si.cluster_next;
    si.cluster_next = off + 1 >= si.max ? 1 : off + 1;
    if (si.swap_map[off] === 0 && !si.has_cache[off]) {
      si.has_cache[off] = 1;
      si.inuse_pages++;
      return off;
    }
  }
  return 0;
}

function free_slot(si: SwapInfo, off: number): void {
  if (si.swap_map[off] !== 0 || si.has_cache[off]) return;
  si.data.delete(off);
  si.inuse_pages--;
}

/** swap_duplicate: one more PTE holds the entry (fork, try_to_unmap). */
export function swap_duplicate(k: Kernel, off: number): void {
  const si = pressure(k).swap!;
  if (si.swap_map[off]! >= 0x3e) throw new Error(`swap_duplicate: slot ${off} count overflow (no continuation pages in the model)`);
  si.swap_map[off]!++;
}

/** swap_free: a PTE no longer holds the entry; the slot is freed when nothing holds it. */
export function swap_free(k: Kernel, off: number): void {
  const si = pressure(k).swap!;
  if (si.swap_map[off] === 0) throw new Error(`swap_free: slot ${off} is not in use`);
  si.swap_map[off]!--;
  free_slot(si, off);
}

/** put_swap_page / swapcache_clear: the swap cache lets go of the slot. */
export function put_swap_page(k: Kernel, off: number): void {
  const si = pressure(k).swap!;
  si.has_cache[off] = 0;
  free_slot(si, off);
}

/** __swap_count / swp_swapcount: PTEs holding the entry. */
export function swap_count(k: Kernel, off: number): number {
  return pressure(k).swap?.swap_map[off] ?? 0;
}

/** swap_writepage → __swap_writepage (mm/page_io.c): the page's bytes go to its slot. PSWPOUT. */
export function swap_writepage(k: Kernel, pfn: number, off: number): void {
  const st = pressure(k);
  const mem = k.machine.mem;
  const words = new Uint32Array(1024);
  let nonzero = false;
  for (let i = 0; i < 1024; i++) if ((words[i] = mem.read32In(pfn, i * 4)) !== 0) nonzero = true;
  if (nonzero) st.swap!.data.set(off, words);
  else st.swap!.data.delete(off);
  st.stat.pswpout++;
}

/** swap_readpage (mm/page_io.c): the slot's bytes into the (zeroed) page. PSWPIN. */
export function swap_readpage(k: Kernel, pfn: number, off: number): void {
  const st = pressure(k);
  const words = st.swap!.data.get(off);
  if (words) for (let i = 0; i < 1024; i++) if (words[i] !== 0) k.machine.mem.write32(pfn * 4096 + i * 4, words[i]!);
  st.stat.pswpin++;
}

// --- the swap PTE (x86-64, 4-level) -------------------------------------------------------------
//
//  63    59 58                                            9 8  7 6     1 0
//  +-------+-----------------------------------------------+--+--+------+--+
//  | type  |            ~offset (inverted, L1TF)           | 0|EX| 0... | 0|   P = 0, PROTNONE = 0
//  +-------+-----------------------------------------------+--+--+------+--+
//
// __swp_entry(type, offset) = (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | type << 59, with
// SWP_TYPE_BITS 5 and SWP_OFFSET_FIRST_BIT 9 (_PAGE_BIT_PROTNONE + 1); the offset is stored
// inverted so that a not-present PTE never points at real memory (the L1TF mitigation).
// _PAGE_SWP_EXCLUSIVE is bit 7 (_PAGE_PSE): the page was PageAnonExclusive when it was swapped out.

export const _PAGE_SWP_EXCLUSIVE = 1 << 7;
const OFF_LO_BITS = 23; // offset bits in the low word (bits 9..31)

/** swp_entry_to_pte(swp_entry(type, offset)) [| _PAGE_SWP_EXCLUSIVE]. */
export function swp_entry_to_pte(type: number, off: number, exclusive: boolean): { lo: number; hi: number } {
  const lo23 = off % 2 ** OFF_LO_BITS;
  const hi27 = Math.floor(off / 2 ** OFF_LO_BITS);
  const lo = ((((~lo23) & 0x7fffff) << 9) | (exclusive ? _PAGE_SWP_EXCLUSIVE : 0)) >>> 0;
  const hi = (((~hi27) & 0x7ffffff) | (type << 27)) >>> 0;
  return { lo, hi };
}

/** is_swap_pte: not none and not present (no migration/device entries in the model). */
export function is_swap_pte(lo: number, hi: number): boolean {
  return (lo & 0x101) === 0 && !((lo & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) === 0 && hi === 0);
}

/** pte_to_swp_entry: the type and offset of a swap PTE. */
export function pte_to_swp_entry(lo: number, hi: number): { type: number; off: number } {
  const lo23 = (~(lo >>> 9)) & 0x7fffff;
  const hi27 = (~hi) & 0x7ffffff;
  return { type: hi >>> 27, off: hi27 * 2 ** OFF_LO_BITS + lo23 };
}

export const pte_swp_exclusive = (lo: number): boolean => (lo & _PAGE_SWP_EXCLUSIVE) !== 0;
