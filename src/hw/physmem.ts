// Sparse physical memory. Reads of memory never written return zeros and cost nothing; a frame
// costs host memory only once something is written to it, and then only for the 128-byte lines
// that were written (a 4 KiB frame with one PTE in it costs ~256 bytes, not 4 KiB), so a million
// touched frames fit in a few hundred MiB of heap.
//
// Which frames are free is the kernel's business (its page allocator), not the hardware's.
//
// Layout: pfn -> slot (a Map plus a small direct-mapped cache for the page walk's hot path);
// slot -> 32 line ids (Int32Array, 0 = never written); line id -> 32 u32 words in a slab.

const LINE_WORDS = 32; // 128-byte lines
const LINE_SHIFT = 7;
const LINES_PER_FRAME = 4096 >>> LINE_SHIFT; // 32
const CACHE_SIZE = 1024; // entries in the pfn -> slot cache (power of two)
const DENSE_MAX = 1 << 24; // frames below 64 GiB get a direct pfn -> slot table

export class PhysMem {
  /** Bits of physical address the machine implements (CPUID MAXPHYADDR). */
  readonly maxPhyAddr: number;
  private readonly slotOf = new Map<number, number>();
  private lineIdx = new Int32Array(LINES_PER_FRAME * 1024);
  private words = new Uint32Array(LINE_WORDS * 1024);
  /** The same bytes as 64-bit words: an aligned 8-byte access is one element, no bigint arithmetic. */
  private words64 = new BigUint64Array(this.words.buffer);
  /** Slots handed out so far; slot 0 is reserved: an all-zero frame (its line ids are all 0). */
  private slots = 1;
  private lines = 1; // line id 0 means "not written"
  private readonly cachePfn = new Float64Array(CACHE_SIZE).fill(-1);
  private readonly cacheSlot = new Int32Array(CACHE_SIZE);
  /**
   * pfn -> slot for low frames (0 = untouched: the reserved zero slot), grown as they are touched up to DENSE_MAX
   * frames (64 MiB of table for 64 GiB of RAM); the walk's common case is one typed-array load.
   */
  private dense = new Int32Array(0);

  constructor(maxPhyAddr = 46) {
    if (!Number.isInteger(maxPhyAddr) || maxPhyAddr < 32 || maxPhyAddr > 52) {
      throw new RangeError(`MAXPHYADDR must be an integer from 32 to 52, got ${maxPhyAddr}`);
    }
    this.maxPhyAddr = maxPhyAddr;
  }

  /** Frames that hold at least one written line. */
  get touchedFrames(): number {
    return this.slots - 1;
  }

  /** Host bytes held by the backing arrays (for the memory bound test and the bench). */
  get hostBytes(): number {
    return this.lineIdx.byteLength + this.words.byteLength + this.dense.byteLength;
  }

  // --- the hot path: 32-bit words at 4-byte aligned physical addresses (pa < 2^52) -----------

  /** Read the aligned 32-bit word at `pa`. */
  read32(pa: number): number {
    const pfn = Math.floor(pa / 4096);
    return this.read32In(pfn, pa - pfn * 4096);
  }

  /** Read the aligned 32-bit word at byte `off` of frame `pfn` (the page walk's form). */
  read32In(pfn: number, off: number): number {
    const slot = this.lookup(pfn);
    if (slot < 0) return 0;
    const line = this.lineIdx[slot * LINES_PER_FRAME + (off >>> LINE_SHIFT)]!;
    return line === 0 ? 0 : this.words[line * LINE_WORDS + ((off & 127) >>> 2)]!;
  }

  /**
   * Index into `words` of the aligned 32-bit word at byte `off` of frame `pfn`, or -1 if that
   * line was never written (it reads as zero). Lets the walk read an entry's two halves with one
   * lookup; the index is valid until the next write.
   */
  wordIndex(pfn: number, off: number): number {
    const slot = this.lookup(pfn);
    if (slot < 0) return -1;
    const line = this.lineIdx[slot * LINES_PER_FRAME + (off >>> LINE_SHIFT)]!;
    return line === 0 ? -1 : line * LINE_WORDS + ((off & 127) >>> 2);
  }

  /** The backing words (see `wordIndex`). */
  get wordArray(): Uint32Array {
    return this.words;
  }

  /**
   * The walk's inlined form of `wordIndex`: the dense pfn -> slot table (0 = untouched) and the
   * line index (slot * 32 + line -> line id, 0 = never written). Slot 0's line ids and line 0's
   * words are all zero, so an untouched frame or line reads as zero without a test. Valid until
   * the next write.
   */
  get denseSlots(): Int32Array {
    return this.dense;
  }

  get lineIndex(): Int32Array {
    return this.lineIdx;
  }

  /** The slot of `pfn` for frames outside the dense table, 0 (the zero slot) if untouched. */
  slotOfFrame(pfn: number): number {
    return Math.max(0, this.lookup(pfn));
  }

  /** Write the aligned 32-bit word at `pa`. */
  write32(pa: number, v: number): void {
    const pfn = Math.floor(pa / 4096);
    const off = pa - pfn * 4096;
    const line = this.lineFor(pfn, off >>> LINE_SHIFT);
    this.words[line * LINE_WORDS + ((off & 127) >>> 2)] = v >>> 0;
  }

  /** The slot of `pfn`, or -1 if it was never written. */
  private lookup(pfn: number): number {
    if (pfn < this.dense.length) return this.dense[pfn]! || -1;
    const c = pfn & (CACHE_SIZE - 1);
    if (this.cachePfn[c] === pfn) return this.cacheSlot[c]!;
    const slot = this.slotOf.get(pfn);
    if (slot === undefined) return -1;
    this.cachePfn[c] = pfn;
    this.cacheSlot[c] = slot;
    return slot;
  }

  private lineFor(pfn: number, lineNo: number): number {
    let slot = this.lookup(pfn);
    if (slot < 0) slot = this.newSlot(pfn);
    return this.lineIn(slot, lineNo);
  }

  /** The line id of line `lineNo` of `slot`, allocating it on first write. */
  private lineIn(slot: number, lineNo: number): number {
    const i = slot * LINES_PER_FRAME + lineNo;
    let line = this.lineIdx[i]!;
    if (line === 0) {
      line = this.lines++;
      if ((line + 1) * LINE_WORDS > this.words.length) {
        this.words = grow(this.words);
        this.words64 = new BigUint64Array(this.words.buffer);
      }
      this.lineIdx[i] = line;
    }
    return line;
  }

  private newSlot(pfn: number): number {
    const slot = this.slots++;
    if ((slot + 1) * LINES_PER_FRAME > this.lineIdx.length) this.lineIdx = grow(this.lineIdx);
    if (pfn < DENSE_MAX) {
      if (pfn >= this.dense.length) this.growDense(pfn);
      this.dense[pfn] = slot;
    } else {
      this.slotOf.set(pfn, slot);
    }
    return slot;
  }

  private growDense(pfn: number): void {
    let n = Math.max(1024, this.dense.length);
    while (n <= pfn) n *= 2;
    const d = new Int32Array(Math.min(n, DENSE_MAX)); // 0: untouched
    d.set(this.dense);
    this.dense = d;
  }

  // --- byte-granular API (kernels, tests, display) --------------------------------------------

  read8(pa: number): number {
    return (this.read32(pa - (pa % 4)) >>> (8 * (pa % 4))) & 0xff;
  }

  write8(pa: number, v: number): void {
    const base = pa - (pa % 4);
    const sh = 8 * (pa % 4);
    const old = this.read32(base);
    this.write32(base, (old & ~(0xff << sh)) | ((v & 0xff) << sh));
  }

  /** Read `size` (1, 2, 4 or 8) bytes little-endian; any alignment. */
  read(pa: number, size: number): bigint {
    if (size === 8 && pa % 8 === 0) return this.read64(pa);
    const sh = pa % 4;
    if (sh + size <= 4) {
      // Inside one aligned 32-bit word: one load, number arithmetic.
      const w = this.read32(pa - sh);
      return BigInt(size === 4 ? w : (w >>> (8 * sh)) & ((1 << (8 * size)) - 1));
    }
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.read8(pa + i));
    return v;
  }

  /** Write `size` (1, 2, 4 or 8) bytes little-endian; any alignment. */
  write(pa: number, size: number, value: bigint): void {
    if (size === 8 && pa % 8 === 0) return this.write64(pa, value);
    const sh = pa % 4;
    if (sh + size <= 4) {
      const n = Number(BigInt.asUintN(8 * size, value));
      if (size === 4) return this.write32(pa, n);
      const base = pa - sh;
      const mask = ((1 << (8 * size)) - 1) << (8 * sh);
      return this.write32(base, ((this.read32(base) & ~mask) | (n << (8 * sh))) >>> 0);
    }
    const v = BigInt.asUintN(64, value);
    for (let i = 0; i < size; i++) this.write8(pa + i, Number((v >> BigInt(8 * i)) & 0xffn));
  }

  /** Read the 8-byte aligned word at `pa` into `out[i]` (bits 31:0) and `out[i + 1]` (bits 63:32). */
  readPair(pa: number, out: Uint32Array, i: number): void {
    const pfn = Math.floor(pa / 4096);
    const off = pa - pfn * 4096;
    const slot = pfn < this.dense.length ? this.dense[pfn]! : this.slotOfFrame(pfn);
    const line = this.lineIdx[slot * LINES_PER_FRAME + (off >>> LINE_SHIFT)]!;
    const k = line * LINE_WORDS + ((off & 127) >>> 2); // slot 0 and line 0 read as zero
    out[i] = this.words[k]!;
    out[i + 1] = this.words[k + 1]!;
  }

  /** Write the 8-byte aligned word at `pa` from its halves. */
  writePair(pa: number, lo: number, hi: number): void {
    const pfn = Math.floor(pa / 4096);
    const off = pa - pfn * 4096;
    const k = this.lineFor(pfn, off >>> LINE_SHIFT) * LINE_WORDS + ((off & 127) >>> 2);
    this.words[k] = lo;
    this.words[k + 1] = hi;
  }

  /**
   * `n` 8-byte reads in frame `pfn` (4-byte aligned at least), the j-th at byte `off + j * step` (all inside the
   * frame), into `out[i + 2j]` (bits 31:0) and `out[i + 2j + 1]`.
   */
  readRun(pfn: number, off: number, step: number, out: Uint32Array, i: number, n: number): void {
    const base = (pfn < this.dense.length ? this.dense[pfn]! : this.slotOfFrame(pfn)) * LINES_PER_FRAME;
    const lineIdx = this.lineIdx;
    const words = this.words;
    if (off & 4) {
      // 4-byte aligned words (TSS.RSP0 at offset 4): each half may sit in its own 128-byte line.
      for (let j = 0; j < n; j++, off += step, i += 2) {
        out[i] = words[lineIdx[base + (off >>> LINE_SHIFT)]! * LINE_WORDS + ((off & 127) >>> 2)]!;
        out[i + 1] = words[lineIdx[base + ((off + 4) >>> LINE_SHIFT)]! * LINE_WORDS + (((off + 4) & 127) >>> 2)]!;
      }
      return;
    }
    for (let j = 0; j < n; j++, off += step, i += 2) {
      const k = lineIdx[base + (off >>> LINE_SHIFT)]! * LINE_WORDS + ((off & 127) >>> 2); // slot 0 and line 0 read as zero
      out[i] = words[k]!;
      out[i + 1] = words[k + 1]!;
    }
  }

  /** The writes of `readRun`'s pattern, from `src[i + 2j]` and `src[i + 2j + 1]`. */
  writeRun(pfn: number, off: number, step: number, src: Uint32Array, i: number, n: number): void {
    let slot = this.lookup(pfn);
    if (slot < 0) slot = this.newSlot(pfn);
    if (off & 4) {
      for (let j = 0; j < n; j++, off += step, i += 2) {
        this.words[this.lineIn(slot, off >>> LINE_SHIFT) * LINE_WORDS + ((off & 127) >>> 2)] = src[i]!;
        this.words[this.lineIn(slot, (off + 4) >>> LINE_SHIFT) * LINE_WORDS + (((off + 4) & 127) >>> 2)] = src[i + 1]!;
      }
      return;
    }
    for (let j = 0; j < n; j++, off += step, i += 2) {
      let line = this.lineIdx[slot * LINES_PER_FRAME + (off >>> LINE_SHIFT)]!;
      if (line === 0) line = this.lineIn(slot, off >>> LINE_SHIFT);
      const k = line * LINE_WORDS + ((off & 127) >>> 2);
      const words = this.words; // lineIn may have grown it
      words[k] = src[i]!;
      words[k + 1] = src[i + 1]!;
    }
  }

  /** Read the 8 bytes at `pa` (8-byte aligned fast; any alignment works). */
  read64(pa: number): bigint {
    if (pa % 8 !== 0) return this.read(pa, 8);
    const pfn = Math.floor(pa / 4096);
    const off = pa - pfn * 4096;
    const slot = this.lookup(pfn);
    if (slot < 0) return 0n;
    const line = this.lineIdx[slot * LINES_PER_FRAME + (off >>> LINE_SHIFT)]!;
    return line === 0 ? 0n : this.words64[(line * LINE_WORDS + ((off & 127) >>> 2)) >>> 1]!;
  }

  /** Write the 8 bytes at `pa` (taken mod 2^64). */
  write64(pa: number, v: bigint): void {
    if (pa % 8 !== 0) return this.write(pa, 8, v);
    const pfn = Math.floor(pa / 4096);
    const off = pa - pfn * 4096;
    const line = this.lineFor(pfn, off >>> LINE_SHIFT);
    this.words64[(line * LINE_WORDS + ((off & 127) >>> 2)) >>> 1] = v; // BigUint64Array stores mod 2^64
  }

  /** Zero a whole 4 KiB frame (what a kernel's clear_page does). Drops its lines' contents. */
  zeroFrame(pfn: number): void {
    const slot = this.lookup(pfn);
    if (slot < 0) return;
    for (let l = 0; l < LINES_PER_FRAME; l++) {
      const line = this.lineIdx[slot * LINES_PER_FRAME + l]!;
      if (line !== 0) this.words.fill(0, line * LINE_WORDS, (line + 1) * LINE_WORDS);
    }
  }

  /** Copy a whole 4 KiB frame (copy_page / the COW copy). */
  copyFrame(fromPfn: number, toPfn: number): void {
    this.zeroFrame(toPfn);
    const src = this.lookup(fromPfn);
    if (src < 0) return;
    for (let l = 0; l < LINES_PER_FRAME; l++) {
      const from = this.lineIdx[src * LINES_PER_FRAME + l]!;
      if (from === 0) continue;
      const to = this.lineFor(toPfn, l);
      this.words.copyWithin(to * LINE_WORDS, from * LINE_WORDS, (from + 1) * LINE_WORDS);
    }
  }

  /** True if `pa` is within MAXPHYADDR. */
  inRange(pa: number): boolean {
    return pa >= 0 && pa < 2 ** this.maxPhyAddr;
  }
}

function grow<T extends Int32Array | Uint32Array>(a: T): T {
  const bigger = new (a.constructor as { new (n: number): T })(a.length * 2);
  bigger.set(a);
  return bigger;
}
