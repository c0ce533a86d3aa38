// The compressor (osfmk/vm/vm_compressor.c, vm_compressor_internal.h; xnu-11417.121.6):
// anonymous pages the pageout daemon evicts are compressed into c_segments instead of being
// written to swap. A c_segment is a C_SEG_BUFSIZE buffer whose pages are populated as it fills
// (c_current_seg_filled / kernel_memory_populate), so compressed data costs real frames
// (q_state USED_BY_COMPRESSOR). A page of one repeated 32-bit value takes no segment space
// (single-value slot). Simplified: WKdm is replaced by a size estimate from the same word
// classes (zero, dictionary hit, partial hit, miss) and the data itself is kept in the slot;
// no swap-out of segments (as with no swapfiles), no compaction beyond freeing empty segments;
// the pool is capped at half of the VM's pages (FIXME: XNU sizes c_segments_limit from max_mem and swap).

import { hex } from '../../../../trace/events.js';
import { decide, enter, leave, type Xnu } from '../../xnu.js';
import { vm_page_free, vm_page_grab, vm_page_queues_remove, VM_PAGE_USED_BY_COMPRESSOR, type VmPage } from './vm_page.js';

const FILE = 'osfmk/vm/vm_compressor.c';
/** C_SEG_BUFSIZE (vm_compressor_internal.h): 256 KiB per segment on macOS. */
export const C_SEG_BUFSIZE = 256 * 1024;

export interface CSegment {
  readonly id: number;
  /** c_nextoffset: bytes used. */
  bytes: number;
  /** Live slots in the segment (c_slots_used). */
  slots: number;
  /** The frames populated so far (c_populated_offset / PAGE_SIZE). */
  readonly pages: VmPage[];
}

/** A compressed page (c_slot): its segment (null for a single-value page), size, and the words. */
export interface CSlot {
  seg: CSegment | null;
  size: number;
  readonly data: Uint32Array;
}

export interface CompressorPool {
  readonly segments: Set<CSegment>;
  current: CSegment | null;
  nextSegId: number;
  /** c_segment_count. */
  c_segment_count: number;
  /** c_segment_pages_compressed: pages held compressed. */
  c_segment_pages_compressed: number;
  /** c_segment_compressed_bytes. */
  c_segment_compressed_bytes: number;
  /** Limit on populated frames (see the file comment). */
  readonly poolPageLimit: number;
}

export function vm_compressor_pool(k: Xnu): CompressorPool {
  k.compressor ??= {
    segments: new Set(), current: null, nextSegId: 1, c_segment_count: 0, c_segment_pages_compressed: 0, c_segment_compressed_bytes: 0,
    poolPageLimit: Math.floor(k.pages.vm_page_pages / 2),
  };
  return k.compressor;
}

/** The words of a frame. */
function frameWords(k: Xnu, pfn: number): Uint32Array {
  const out = new Uint32Array(1024);
  for (let i = 0; i < 1024; i++) out[i] = k.m.mem.read32In(pfn, i * 4);
  return out;
}

/**
 * The compressed size of a page, estimated from WKdm's word classes (vm_compressor_algorithms.c,
 * WKdm_compress): a zero word costs 2 bits, an exact hit in the 16-entry dictionary 6, a hit on
 * the upper 22 bits 16, a miss 34; plus a 12-byte header.
 */
export function wkdm_size_estimate(words: Uint32Array): number {
  const dict = new Uint32Array(16);
  let bits = 0;
  for (const w of words) {
    if (w === 0) {
      bits += 2;
      continue;
    }
    const h = ((w >>> 10) * 2654435761) >>> 28;
    if (dict[h] === w) bits += 6;
    else if (dict[h]! >>> 10 === w >>> 10) bits += 16;
    else bits += 34;
    dict[h] = w;
  }
  return 12 + Math.ceil(bits / 8);
}

type PutDecision = 'single-value-page' | 'compressed' | 'new-segment' | 'pool-full';

/** c_seg_alloc / c_current_seg_filled: a segment with room for `size` bytes, populating frames as needed; null if the pool is full. */
function segmentFor(k: Xnu, pool: CompressorPool, size: number): CSegment | null {
  let seg = pool.current;
  if (seg === null || seg.bytes + size > C_SEG_BUFSIZE) {
    seg = { id: pool.nextSegId++, bytes: 0, slots: 0, pages: [] };
    decide(k, 'c_seg_alloc', 'new-segment' satisfies PutDecision, `c_segment#${seg.id}`);
    pool.segments.add(seg);
    pool.c_segment_count++;
    pool.current = seg;
  }
  while (seg.pages.length * 4096 < seg.bytes + size) {
    if (k.pages.vm_page_compressor_count >= pool.poolPageLimit) return null;
    const m = vm_page_grab(k, true);
    if (m === null) return null;
    vm_page_queues_remove(k, m);
    m.busy = false;
    m.vmp_q_state = VM_PAGE_USED_BY_COMPRESSOR;
    k.pages.vm_page_compressor_count++;
    seg.pages.push(m);
  }
  return seg;
}

/**
 * vm_compressor_put (vm_compressor.c): compress the frame into a slot; null when the pool has no
 * room (the caller keeps the page). The words are kept so vm_compressor_get restores them exactly.
 */
export function vm_compressor_put(k: Xnu, pfn: number): CSlot | null {
  enter(k, 'vm_compressor_put', FILE, k.trace.enabled ? { pn: hex(pfn) } : undefined);
  const pool = vm_compressor_pool(k);
  const words = frameWords(k, pfn);
  const single = words.every((w) => w === words[0]);
  let slot: CSlot | null;
  if (single) {
    decide(k, 'vm_compressor_put', 'single-value-page' satisfies PutDecision, hex(words[0]!));
    slot = { seg: null, size: 0, data: words };
  } else {
    const size = wkdm_size_estimate(words);
    const seg = segmentFor(k, pool, size);
    if (seg === null) {
      decide(k, 'vm_compressor_put', 'pool-full' satisfies PutDecision, `${pool.c_segment_count} segments, ${k.pages.vm_page_compressor_count} pages`);
      leave(k, 'vm_compressor_put', 'KERN_RESOURCE_SHORTAGE');
      return null;
    }
    if (k.trace.enabled) decide(k, 'vm_compressor_put', 'compressed' satisfies PutDecision, `${size} bytes into c_segment#${seg.id}`);
    seg.bytes += size;
    seg.slots++;
    pool.c_segment_compressed_bytes += size;
    slot = { seg, size, data: words };
  }
  pool.c_segment_pages_compressed++;
  leave(k, 'vm_compressor_put', 'KERN_SUCCESS');
  return slot;
}

/** vm_compressor_get (vm_compressor.c): decompress the slot into the frame; with `keep` (C_KEEP) the slot stays. */
export function vm_compressor_get(k: Xnu, slot: CSlot, pfn: number, keep: boolean): void {
  enter(k, 'vm_compressor_get', FILE, k.trace.enabled ? { pn: hex(pfn), size: String(slot.size), flags: keep ? 'C_KEEP' : '0' } : undefined);
  for (let i = 0; i < 1024; i++) if (slot.data[i] !== 0) k.m.mem.write32(pfn * 4096 + i * 4, slot.data[i]!);
  if (!keep) vm_compressor_free(k, slot);
  leave(k, 'vm_compressor_get');
}

/** vm_compressor_free (vm_compressor.c): release a slot; an emptied segment gives its frames back (c_seg_free). */
export function vm_compressor_free(k: Xnu, slot: CSlot): void {
  const pool = vm_compressor_pool(k);
  pool.c_segment_pages_compressed--;
  const seg = slot.seg;
  slot.seg = null;
  if (seg === null) return;
  pool.c_segment_compressed_bytes -= slot.size;
  seg.slots--;
  if (seg.slots > 0 || seg === pool.current) return;
  decide(k, 'c_seg_free', 'segment-empty', `c_segment#${seg.id}: ${seg.pages.length} frames freed`);
  for (const m of seg.pages) vm_page_free(k, m);
  seg.pages.length = 0;
  pool.segments.delete(seg);
  pool.c_segment_count--;
}
