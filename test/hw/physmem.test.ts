// Sparse physical memory (src/hw/physmem.ts): byte-exact little-endian reads and writes at any
// alignment (across 128-byte lines and 4 KiB frames), zero for never-written memory, whole-frame
// zero/copy, and the host-memory bound for a million touched frames.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PhysMem } from '../../src/hw/physmem.js';

const SIZES = [1, 2, 4, 8] as const;

/** Byte-array model: the reference for reads. */
class Bytes {
  private readonly b = new Map<number, number>();
  write(pa: number, size: number, v: bigint): void {
    for (let i = 0; i < size; i++) this.b.set(pa + i, Number((v >> BigInt(8 * i)) & 0xffn));
  }
  read(pa: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.b.get(pa + i) ?? 0);
    return v;
  }
}

test('little-endian: an 8-byte write lands byte by byte, lowest byte first', () => {
  const mem = new PhysMem();
  mem.write(0x1000, 8, 0x0807_0605_0403_0201n);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => mem.read8(0x1000 + i)), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(mem.read32(0x1000), 0x0403_0201);
  assert.equal(mem.read32(0x1004), 0x0807_0605);
  assert.equal(mem.read(0x1002, 2), 0x0403n);
  assert.equal(mem.read64(0x1000), 0x0807_0605_0403_0201n);
});

test('every size at every offset around a 128-byte line and a 4 KiB frame boundary', () => {
  for (const boundary of [0x3080, 0x4000]) { // a line boundary inside a frame; a frame boundary
    for (const size of SIZES) {
      for (let start = boundary - 9; start <= boundary + 1; start++) {
        const mem = new PhysMem();
        const value = 0xf1e2_d3c4_b5a6_9788n & ((1n << BigInt(8 * size)) - 1n);
        mem.write(start, size, value);
        assert.equal(mem.read(start, size), value, `size ${size} at ${start.toString(16)}`);
        for (let i = -1; i <= size; i++) {
          const want = i < 0 || i >= size ? 0 : Number((value >> BigInt(8 * i)) & 0xffn);
          assert.equal(mem.read8(start + i), want, `byte ${i} of size ${size} at ${start.toString(16)}`);
        }
      }
    }
  }
});

test('random reads and writes of 1/2/4/8 bytes agree with a byte array (fast-check)', () => {
  // Addresses cluster around two frame boundaries (one of them inside the dense table, one far
  // above it) so accesses straddle lines and frames often.
  const bases = [0x2000, 0x7f_ffff_f000]; // pfn 2 and pfn 0x7ffffff (above the dense range)
  const arbOp = fc.record({
    base: fc.constantFrom(...bases),
    off: fc.integer({ min: -200, max: 200 }),
    size: fc.constantFrom(...SIZES),
    write: fc.boolean(),
    value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  });
  fc.assert(fc.property(fc.array(arbOp, { minLength: 1, maxLength: 40 }), (ops) => {
    const mem = new PhysMem();
    const ref = new Bytes();
    for (const o of ops) {
      const pa = o.base + o.off;
      if (o.write) {
        mem.write(pa, o.size, o.value);
        ref.write(pa, o.size, o.value);
      } else {
        assert.equal(mem.read(pa, o.size), ref.read(pa, o.size), `read ${o.size} at 0x${pa.toString(16)}`);
      }
    }
    for (const base of bases) {
      for (let pa = base - 210; pa < base + 210; pa += 8) assert.equal(mem.read(pa, 8), ref.read(pa, 8));
    }
  }), { numRuns: 150, seed: 0x9e3 });
});

test('memory never written reads as zero and costs nothing', () => {
  const mem = new PhysMem(46);
  const bytes = mem.hostBytes;
  for (const pa of [0, 0x1000, 0x3fff_ffff_f000, 2 ** 46 - 8]) {
    assert.equal(mem.read(pa, 8), 0n);
    assert.equal(mem.read32(pa), 0);
    assert.equal(mem.wordIndex(Math.floor(pa / 4096), pa % 4096), -1);
  }
  assert.equal(mem.touchedFrames, 0);
  assert.equal(mem.hostBytes, bytes, 'reads allocate nothing');
  mem.write8(0x5000, 0xab);
  assert.equal(mem.touchedFrames, 1);
  assert.equal(mem.read(0x5000 + 128, 8), 0n, 'the rest of the frame still reads zero');
});

test('zeroFrame clears a frame and only that frame; copyFrame copies every byte', () => {
  const mem = new PhysMem();
  const a = 0x10;
  const b = 0x11;
  const c = 0x20;
  // Pattern in A over several lines, plus data in B that copyFrame must overwrite.
  for (let off = 0; off < 4096; off += 8) if (off % 384 < 24) mem.write64(a * 4096 + off, BigInt(off) * 0x0101_0101n + 1n);
  mem.write64(b * 4096 + 0x800, 0xdeadn); // a line A does not have
  mem.write64(b * 4096 + 4096, 0x77n); // first word of the frame after B: must survive
  mem.copyFrame(a, b);
  for (let off = 0; off < 4096; off += 8) assert.equal(mem.read64(b * 4096 + off), mem.read64(a * 4096 + off), `offset ${off}`);
  assert.equal(mem.read64(b * 4096 + 0x800), 0n, "B's own data is gone");
  assert.equal(mem.read64((b + 1) * 4096), 0x77n);
  mem.write8(b * 4096, 0xff);
  assert.equal(mem.read8(a * 4096), 1, 'the copy is independent of the source');

  mem.copyFrame(c, b); // from a never-written frame: B becomes all zero
  for (let off = 0; off < 4096; off += 8) assert.equal(mem.read64(b * 4096 + off), 0n);

  mem.zeroFrame(a);
  for (let off = 0; off < 4096; off += 8) assert.equal(mem.read64(a * 4096 + off), 0n);
  assert.equal(mem.read64((b + 1) * 4096), 0x77n, 'neighbours untouched');
  mem.zeroFrame(0x999); // never written: a no-op
  assert.equal(mem.read8(0x999 * 4096), 0);
});

test('a million touched frames stay well under 1 GiB of host memory', (t) => {
  const N = 1_000_000;
  const heap0 = process.memoryUsage().heapUsed;
  const mem = new PhysMem(46);
  // Half in the dense pfn table's range (below 64 GiB), half far above it (the Map path).
  const pfnOf = (i: number): number => (i < N / 2 ? i * 31 : 2 ** 24 + (i - N / 2) * 20_011);
  for (let i = 0; i < N; i++) mem.write64(pfnOf(i) * 4096 + (i % 512) * 8, BigInt(i) | (1n << 40n));
  const heapGrowth = Math.max(0, process.memoryUsage().heapUsed - heap0);
  assert.equal(mem.touchedFrames, N);
  for (let i = 0; i < N; i += 9973) assert.equal(mem.read64(pfnOf(i) * 4096 + (i % 512) * 8), BigInt(i) | (1n << 40n));
  assert.equal(mem.read64(pfnOf(N - 1) * 4096 + 4096), 0n);
  const MiB = 1024 * 1024;
  t.diagnostic(`1M frames: hostBytes ${(mem.hostBytes / MiB).toFixed(1)} MiB, heapUsed growth ${(heapGrowth / MiB).toFixed(1)} MiB`);
  assert.ok(mem.hostBytes < 512 * MiB, `hostBytes ${mem.hostBytes}`);
  assert.ok(mem.hostBytes + heapGrowth < 1024 * MiB, `hostBytes + heap growth ${mem.hostBytes + heapGrowth}`);
});
