// The number forms of the kernel's loads and stores (kaccess.ts), which the entry path uses: they
// must see and leave memory exactly as the bigint forms (kread/kwrite) do, carry offsets into the
// high half, touch only their own bytes, and cost the same translations.
//
//   cpu_data page (CPU_DATA_VA = 0xffffff80_00400000, kernel RW), scratch area at +0x800:
//     +0x800 +0x808 +0x810   three quadwords the tests write and read back
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CPU_DATA_VA } from '../../../src/kernel/xnu/osfmk/x86_64/hib.js';
import {
  Halves, Joined, kread, kreadAt, kreadSmallAt, kwrite, kwriteAt, kwriteSmallAt,
} from '../../../src/kernel/xnu/osfmk/x86_64/kaccess.js';
import { MemorySink } from '../../../src/trace/events.js';
import { boot } from './helpers.js';

const AREA = CPU_DATA_VA + 0x800n;
const HI = Number(CPU_DATA_VA >> 32n); // 0xffffff80
const LO = Number(CPU_DATA_VA & 0xffffffffn); // 0x00400000

/** A booted kernel running at CPL 0 on its own CR3 (cpu_data is not in the user table). */
function kernel() {
  const s = boot();
  const k = s.k;
  s.machine.cpu.cs = 0x08;
  s.machine.movToCr3(BigInt(k.tasks[0]!.map.pmap.pml4));
  return k;
}

test('kwriteAt/kreadAt move quadwords as halves that kread/kwrite see as the same values', () => {
  const k = kernel();
  const buf = new Uint32Array([0x55667788, 0x11223344, 0xffffffff, 0x80000000, 1, 0]);
  kwriteAt(k, HI, LO, 0x800, buf, 3);
  assert.deepEqual([0n, 8n, 16n].map((o) => kread(k, AREA + o)), [0x1122334455667788n, 0x80000000ffffffffn, 1n]);
  kwrite(k, AREA + 8n, 0xfedcba9876543210n);
  const out = new Uint32Array(6);
  kreadAt(k, HI, LO, 0x800, out, 3);
  assert.deepEqual([...out], [0x55667788, 0x11223344, 0x76543210, 0xfedcba98, 1, 0]);
  // Descending, as pushes go: word i lands 8*i bytes lower.
  kwriteAt(k, HI, LO, 0x810, new Uint32Array([7, 0, 8, 0]), 2, -8);
  assert.deepEqual([kread(k, AREA + 16n), kread(k, AREA + 8n)], [7n, 8n]);
});

test('an offset carries into, or borrows from, the high half', () => {
  const k = kernel();
  kwrite(k, AREA, 0x0123456789abcdefn);
  const out = new Uint32Array(2);
  // 0xffffff7f_fffffff8 + 0x400808 = 0xffffff80_00400800
  kreadAt(k, 0xffffff7f, 0xfffffff8, 0x400808, out);
  assert.deepEqual([...out], [0x89abcdef, 0x01234567]);
  // 0xffffff80_00000010 - 0x20 = 0xffffff7f_fffffff0: not mapped, and the model-bug message names it.
  assert.throws(() => kreadAt(k, 0xffffff80, 0x10, -0x20, out), /kernel read of 0xffffff7ffffffff0 faulted \(vector 14\)/);
});

test('the 2- and 4-byte forms touch only their bytes, traced or not, and emit no access events', () => {
  for (const traced of [false, true]) {
    const k = kernel();
    const sink = new MemorySink();
    if (traced) k.m.trace = sink;
    kwrite(k, AREA, 0x1122334455667788n);
    kwriteSmallAt(k, HI, LO, 0x802, 0xabcd, 2);
    assert.equal(kread(k, AREA), 0x11223344abcd7788n, `traced=${traced}`);
    kwriteSmallAt(k, HI, LO, 0x804, 0xdeadbeef, 4);
    assert.equal(kread(k, AREA), 0xdeadbeefabcd7788n, `traced=${traced}`);
    assert.equal(kreadSmallAt(k, HI, LO, 0x802, 2), 0xabcd);
    assert.equal(kreadSmallAt(k, HI, LO, 0x804, 4), 0xdeadbeef);
    assert.equal(kreadSmallAt(k, HI, LO, 0x800, 2), 0x7788);
    assert.deepEqual(sink.events.filter((e) => e.ev === 'access'), []);
  }
});

test('a number-form load costs what the bigint form costs: one translation, a TLB miss then hits', () => {
  const k = kernel();
  const tlb = k.m.tlb!;
  const cost = (load: () => void): number[] => {
    k.m.invlpg(AREA); // drop the page's translation (cpu_data is global: a CR3 load would keep it)
    const before = [tlb.hits, tlb.misses, k.m.walks];
    load();
    load();
    return [tlb.hits - before[0]!, tlb.misses - before[1]!, k.m.walks - before[2]!];
  };
  const out = new Uint32Array(2);
  assert.deepEqual(cost(() => kreadAt(k, HI, LO, 0x808, out)), cost(() => kread(k, AREA + 8n)));
  assert.deepEqual(cost(() => kreadSmallAt(k, HI, LO, 0x804, 4)), cost(() => kread(k, AREA + 4n, 4)));
});

test('Halves and Joined split and join again only when the value changes', () => {
  const h = new Halves(0x100n);
  assert.deepEqual([h.of(0xffffffffffffff00n).lo, h.hi], [0, 0], 'the bias wraps mod 2^64');
  assert.deepEqual([h.of(0xfffffffen).lo, h.hi], [0xfe, 1]);
  const j = new Joined();
  assert.equal(j.of(1, 2), 0x200000001n);
  assert.equal(j.of(1, 2), 0x200000001n);
  assert.equal(j.of(0xffffffff, 0xffffffff), 0xffffffffffffffffn);
});
