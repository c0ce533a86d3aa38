// Bit layouts (STYLE.md, Data: "Encode/decode round-trip tests for each"): IDT gates (SDM Vol. 3
// §6.14.1), code/data segment descriptors (§3.4.5), the 64-bit TSS descriptor (§8.2.3), paging
// entries (§4.5) and the #PF error code (§4.7), with known values from real systems.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  GATE_INTERRUPT, GATE_TRAP, decodeGate, decodeGateWords, decodeSeg, decodeTssDescBase, encodeGate, encodeSeg, encodeTssDesc,
  gateTypeName, isLongCode, type Gate, type SegDesc,
} from '../../src/hw/desc.js';
import { A, D, G, HI_XD, P, PCD, PS, PTE_BITS, PWT, RW, US, decodePte, encodePte, pteFlagString, type PteFields } from '../../src/hw/pte.js';
import { PF_ERROR_BITS, explainPfError } from '../../src/hw/pferr.js';

const SEED = 0xe4c;
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** 64-bit value from two dwords. */
const join = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

describe('IDT gates (§6.14.1, Figure 6-8)', () => {
  const arbGate: fc.Arbitrary<Gate> = fc.record({
    offset: u64,
    selector: fc.integer({ min: 0, max: 0xffff }),
    ist: fc.integer({ min: 0, max: 7 }),
    type: fc.integer({ min: 0, max: 0x1f }),
    dpl: fc.integer({ min: 0, max: 3 }),
    present: fc.boolean(),
  });

  test('decodeGate(encodeGate(g)) === g, and the reserved dword is 0', () => {
    fc.assert(fc.property(arbGate, (g) => {
      const [d0, d1, d2, d3] = encodeGate(g);
      for (const d of [d0, d1, d2, d3]) assert.ok(Number.isInteger(d) && d >= 0 && d <= 0xffff_ffff, 'unsigned dwords');
      assert.equal(d3, 0);
      assert.deepEqual(decodeGate(d0, d1, d2), { ...g });
    }), { numRuns: 500, seed: SEED });
  });

  test("the XNU article's #PF gate: x/8hx words decode to offset 0xfffff69bc0002560, selector 8, IST 0, interrupt gate, DPL 0", () => {
    const words = [0x2560, 0x0008, 0x8e00, 0xc000, 0xf69b, 0xffff, 0x0000, 0x0000];
    const g = decodeGateWords(words);
    assert.deepEqual(g, { offset: 0xfffff69bc0002560n, selector: 8, ist: 0, type: 0xe, dpl: 0, present: true });
    assert.equal(g.type, GATE_INTERRUPT);
    assert.equal(gateTypeName(g.type), '64-bit interrupt gate');
    // And back to the same 16-bit words.
    const dwords = encodeGate(g);
    assert.deepEqual(dwords.flatMap((d) => [d & 0xffff, d >>> 16]), words);
  });

  test('field positions: IST in bits 2:0, type 11:8, DPL 14:13, P 15 of dword 1', () => {
    const base: Gate = { offset: 0n, selector: 0, ist: 0, type: 0, dpl: 0, present: false };
    assert.equal(encodeGate({ ...base, ist: 7 })[1], 0x7);
    assert.equal(encodeGate({ ...base, type: GATE_TRAP })[1], 0xf00);
    assert.equal(encodeGate({ ...base, dpl: 3 })[1], 0x6000);
    assert.equal(encodeGate({ ...base, present: true })[1], 0x8000);
    assert.deepEqual(encodeGate({ ...base, offset: 0x1122_3344_5566_7788n, selector: 0x10 }), [0x0010_7788, 0x5566_0000, 0x1122_3344, 0]);
    assert.throws(() => decodeGateWords([1, 2, 3]), RangeError);
  });
});

describe('segment descriptors (§3.4.5)', () => {
  const arbSeg: fc.Arbitrary<SegDesc> = fc.record({
    present: fc.boolean(), dpl: fc.integer({ min: 0, max: 3 }), s: fc.boolean(),
    type: fc.integer({ min: 0, max: 15 }), long: fc.boolean(), db: fc.boolean(),
  });

  test('decodeSeg(encodeSeg(s)) === s', () => {
    fc.assert(fc.property(arbSeg, (s) => {
      const [d0, d1] = encodeSeg(s);
      assert.deepEqual(decodeSeg(d0, d1), { ...s });
    }), { numRuns: 300, seed: SEED + 1 });
  });

  test("Linux's GDT entries (arch/x86/kernel/cpu/common.c gdt_page) encode to their known values", () => {
    const seg = (dpl: number, type: number, long: boolean, db: boolean) => {
      const [d0, d1] = encodeSeg({ present: true, dpl, s: true, type, long, db });
      return join(d0, d1);
    };
    assert.equal(seg(0, 0xb, true, false), 0x00af_9b00_0000_ffffn); // __KERNEL_CS
    assert.equal(seg(0, 0x3, false, true), 0x00cf_9300_0000_ffffn); // __KERNEL_DS
    assert.equal(seg(3, 0xb, true, false), 0x00af_fb00_0000_ffffn); // __USER_CS
    assert.equal(seg(3, 0x3, false, true), 0x00cf_f300_0000_ffffn); // __USER_DS
    assert.equal(seg(0, 0xb, false, true), 0x00cf_9b00_0000_ffffn); // __KERNEL32_CS
  });

  test('isLongCode: present, code, L=1, D=0 only', () => {
    const kcs: SegDesc = { present: true, dpl: 0, s: true, type: 0xb, long: true, db: false };
    assert.equal(isLongCode(kcs), true);
    assert.equal(isLongCode({ ...kcs, db: true }), false, 'L=1 with D=1 is reserved');
    assert.equal(isLongCode({ ...kcs, long: false }), false, 'compatibility-mode code');
    assert.equal(isLongCode({ ...kcs, type: 0x3 }), false, 'data segment');
    assert.equal(isLongCode({ ...kcs, present: false }), false);
    assert.equal(isLongCode({ ...kcs, s: false }), false, 'system descriptor');
  });
});

describe('64-bit TSS descriptor (§8.2.3, Figure 8-4)', () => {
  test('the base and limit survive encode/decode for any 64-bit base', () => {
    fc.assert(fc.property(u64, fc.integer({ min: 0, max: 0xfffff }), fc.boolean(), (base, limit, busy) => {
      const [d0, d1, d2, d3] = encodeTssDesc(base, limit, busy);
      assert.equal(decodeTssDescBase(d0, d1, d2), base);
      assert.equal((d0 & 0xffff) | (((d1 >>> 16) & 0xf) << 16), limit, 'limit 19:0');
      assert.equal((d1 >>> 8) & 0xf, busy ? 0xb : 0x9, 'type');
      assert.equal((d1 >>> 15) & 1, 1, 'present');
      assert.equal((d1 >>> 12) & 1, 0, 'S=0: a system descriptor');
      assert.equal(d3, 0);
    }), { numRuns: 500, seed: SEED + 2 });
  });

  test('a base with bit 31 set (a high kernel address) decodes unsigned', () => {
    const base = 0xffff_ffff_8000_1000n;
    const [d0, d1, d2] = encodeTssDesc(base, 0x67);
    assert.equal(decodeTssDescBase(d0, d1, d2), base);
  });
});

describe('paging entries (§4.5, Tables 4-14..4-20)', () => {
  const ADDR = 0x000f_ffff_ffff_f000n;
  const KNOWN = 0x1ffn | ADDR | (0x1fn << 59n); // bits 8:0, 51:12, 63:59
  const arbFields: fc.Arbitrary<PteFields> = fc.record({
    p: fc.boolean(), rw: fc.boolean(), us: fc.boolean(), pwt: fc.boolean(), pcd: fc.boolean(), a: fc.boolean(),
    d: fc.boolean(), ps: fc.boolean(), g: fc.boolean(), xd: fc.boolean(), pkey: fc.integer({ min: 0, max: 15 }),
    addr: u64.map((v) => v & ADDR),
  });

  test('decodePte(encodePte(f)) === f', () => {
    fc.assert(fc.property(arbFields, (f) => assert.deepEqual(decodePte(encodePte(f)), { ...f })), { numRuns: 500, seed: SEED + 3 });
  });

  test('encodePte(decodePte(v)) keeps exactly the named bits (ignored bits 11:9 and 58:52 drop)', () => {
    fc.assert(fc.property(u64, (v) => assert.equal(encodePte(decodePte(v)), v & KNOWN)), { numRuns: 500, seed: SEED + 4 });
  });

  test('the PTE_BITS table, the low-word constants and decodePte agree bit by bit', () => {
    const constants: Record<string, number> = { p: P, rw: RW, us: US, pwt: PWT, pcd: PCD, a: A, d: D, ps: PS, g: G };
    for (const row of PTE_BITS) {
      const v = 1n << BigInt(row.bit);
      const f = decodePte(v);
      const set = Object.entries(f).filter(([k, x]) => k !== 'addr' && k !== 'pkey' && x === true).map(([k]) => k);
      assert.deepEqual(set, [row.name], `bit ${row.bit}`);
      assert.equal(encodePte({ [row.name]: true }), v);
      if (row.bit < 32) assert.equal(constants[row.name], 1 << row.bit, `${row.name} constant`);
    }
    assert.equal(HI_XD >>> 0, 2 ** 31, 'XD is bit 31 of the high word');
    assert.equal(decodePte(0xbn << 59n).pkey, 0xb);
  });

  test('a Linux kernel text PTE decodes and prints as dumpers show it', () => {
    // 0x8000000001c00163: XD, frame 0x1c00000, G D A RW P (a __PAGE_KERNEL_LARGE-like 2 MiB entry without PS).
    const v = 0x8000_0000_01c0_0163n;
    assert.deepEqual(decodePte(v), {
      p: true, rw: true, us: false, pwt: false, pcd: false, a: true, d: true, ps: false, g: true, xd: true, pkey: 0, addr: 0x1c0_0000n,
    });
    assert.equal(pteFlagString(Number(v & 0xffff_ffffn), Number(v >> 32n), 'pt'), 'P RW S A D G XD');
    assert.equal(pteFlagString(0, 0, 'pt'), 'empty');
    assert.equal(pteFlagString(0x1000, 0, 'pt'), 'not-present');
  });
});

describe('#PF error code (§4.7, Figure 4-12)', () => {
  test('0x6: not-present page, write, user (the classic demand-paging fault)', () => {
    const e = explainPfError(0x6);
    assert.equal(e.summary, 'not-present page, write access, user-mode access');
    assert.deepEqual(e.oops, ['#PF: user write access in user mode', '#PF: error_code(0x0006) - not-present page']);
    assert.equal(e.unknownBits, 0);
  });

  test('known codes explain as Linux show_fault_oops does', () => {
    const cases: [number, string, [string, string]][] = [
      [0x0, 'not-present page, read access, supervisor-mode access',
        ['#PF: supervisor read access in kernel mode', '#PF: error_code(0x0000) - not-present page']],
      [0x7, 'protection violation on a present page, write access, user-mode access',
        ['#PF: user write access in user mode', '#PF: error_code(0x0007) - permissions violation']],
      [0x15, 'protection violation on a present page, user-mode access, instruction fetch',
        ['#PF: user instruction fetch in user mode', '#PF: error_code(0x0015) - permissions violation']],
      [0x11, 'protection violation on a present page, supervisor-mode access, instruction fetch',
        ['#PF: supervisor instruction fetch in kernel mode', '#PF: error_code(0x0011) - permissions violation']],
      [0xd, 'protection violation on a present page, read access, user-mode access, reserved bit set in a paging-structure entry',
        ['#PF: user read access in user mode', '#PF: error_code(0x000d) - reserved bit violation']],
      [0x27, 'protection violation on a present page, write access, user-mode access, protection-key violation',
        ['#PF: user write access in user mode', '#PF: error_code(0x0027) - protection keys violation']],
    ];
    for (const [code, summary, oops] of cases) {
      const e = explainPfError(code);
      assert.equal(e.summary, summary, `0x${code.toString(16)}`);
      assert.deepEqual(e.oops, oops, `0x${code.toString(16)}`);
    }
  });

  test('every bit decodes to its own value; unknown bits are reported', () => {
    const known = PF_ERROR_BITS.reduce((m, b) => m | (1 << b.bit), 0);
    assert.equal(known, 0x80ff);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (code) => {
      const e = explainPfError(code);
      assert.equal(e.code, code);
      for (const b of e.bits) {
        const row = PF_ERROR_BITS.find((r) => r.name === b.name)!;
        assert.equal(b.value, (code >>> row.bit) & 1, b.name);
      }
      assert.equal(e.unknownBits, (code & ~known) >>> 0);
    }), { numRuns: 300, seed: SEED + 5 });
    assert.equal(explainPfError(0x8000_0100).unknownBits, 0x8000_0100);
  });
});
