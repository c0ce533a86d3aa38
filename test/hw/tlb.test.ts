// TLB behaviour (Intel SDM Vol. 3 §4.10) through the Machine and the bare lab, asserting on the
// TLB's contents, the access outcomes, the paging-structure entries and the trace events.
//
// Address space used (4-level paging, lab boot tables plus):
//   U1 0x10000000 (user, 4 KiB)      -> DATA          0x10000000
//   U2 0x20000000 (user, 4 KiB)      -> DATA + 0x1000
//   K1 0xffff888000100000 (kernel)   -> DATA + 0x2000, global unless a test says otherwise

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../src/hw/machine.js';
import { A, D, RW } from '../../src/hw/pte.js';
import { CR4_PCIDE, CR4_PGE } from '../../src/hw/regs.js';
import { hex } from '../../src/trace/events.js';
import { DATA, K1, KERN_GLOBAL, KERN_RW, U1, U2, USER_RO, USER_RW, clear, eventsOf, fault, ok, rig, type Rig } from './lab_util.js';

const vpnOf = (va: bigint): number => Number(va >> 12n);

/** Whether the TLB holds a translation for `va` usable under `pcid` (any page size). */
function cached(m: Machine, va: bigint, pcid = m.ctl.pcid): boolean {
  return m.tlb!.lookup(vpnOf(va), pcid) >= 0;
}

/** Map U1, U2 (user) and K1 (kernel, global by default). Returns the leaf entries' addresses. */
function mapAll(r: Rig, kernelGlobal = true): { u1: number; u2: number; k1: number } {
  const { lab } = r;
  return {
    u1: lab.map(U1, DATA, '4k', USER_RW, USER_RW),
    u2: lab.map(U2, DATA + 0x1000n, '4k', USER_RW, USER_RW),
    k1: lab.map(K1, DATA + 0x2000n, '4k', kernelGlobal ? KERN_GLOBAL : KERN_RW, KERN_RW),
  };
}

/** Touch U1 and U2 at CPL 3 and K1 at CPL 0, so all three are cached. */
function touchAll(r: Rig): void {
  r.lab.setCpl(3);
  ok(r.m.tryAccess({ va: U1, access: 'read' }));
  ok(r.m.tryAccess({ va: U2, access: 'read' }));
  r.lab.setCpl(0);
  ok(r.m.tryAccess({ va: K1, access: 'read' }));
}

const read = (r: Rig, va: bigint) => r.m.tryAccess({ va, access: 'read' });
const write = (r: Rig, va: bigint, value = 0x55n) => r.m.tryAccess({ va, access: 'write', size: 8, value });

describe('§4.10.2.3: what gets cached', () => {
  test('a not-present translation is never cached: mapping after the fault needs no INVLPG', () => {
    const r = rig();
    r.lab.setCpl(3);
    const f = fault(read(r, U1));
    assert.deepEqual(f, { vector: 14, errorCode: 0x4, cr2: U1 });
    assert.equal(cached(r.m, U1), false);
    assert.deepEqual(eventsOf(r.sink, 'walk_fault').map((e) => e.reason), ['not-present']);
    assert.equal(eventsOf(r.sink, 'tlb').filter((e) => e.what === 'fill').length, 0, 'no fill for a fault');

    r.lab.map(U1, DATA, '4k', USER_RW, USER_RW);
    clear(r.sink);
    const res = ok(read(r, U1 + 0x10n));
    assert.equal(res.pa, DATA + 0x10n);
    assert.equal(res.tlb, 'miss');
    assert.deepEqual(eventsOf(r.sink, 'tlb').map((e) => e.what), ['miss', 'fill']);
    assert.equal(cached(r.m, U1), true);
  });

  test('a write through a clean (D=0) entry walks again and sets D; the next write hits', () => {
    const r = rig();
    const { u1 } = mapAll(r);
    r.lab.setCpl(3);
    assert.equal(ok(read(r, U1)).tlb, 'miss');
    assert.equal(r.m.mem.read32(u1) & (A | D), A, 'a read sets A only');
    const walks = r.m.walks;

    clear(r.sink);
    const w1 = ok(write(r, U1));
    assert.equal(w1.tlb, 'miss', 'the cached entry is clean: the write walks');
    assert.equal(r.m.walks, walks + 1);
    assert.equal(r.m.mem.read32(u1) & D, D, 'D set in the PTE');
    assert.deepEqual(eventsOf(r.sink, 'ad_set').map((e) => [e.level, e.bits]), [['pt', 'D']]);

    const w2 = ok(write(r, U1 + 8n));
    assert.equal(w2.tlb, 'hit', 'the refilled entry is dirty');
    assert.equal(r.m.walks, walks + 1, 'no further walk');
  });
});

describe('§4.10.4: stale entries and invalidation', () => {
  test('a PTE made read-only without INVLPG: the write still succeeds; after INVLPG it faults with 0x7', () => {
    const r = rig();
    const { u1 } = mapAll(r);
    r.lab.setCpl(3);
    ok(write(r, U1, 1n)); // cached writable and dirty
    r.m.mem.write32(u1, r.m.mem.read32(u1) & ~RW);

    clear(r.sink);
    const stale = ok(write(r, U1, 2n));
    assert.equal(stale.tlb, 'hit', 'the stale writable entry is used (§4.10.4.4)');
    assert.equal(r.m.mem.read64(Number(DATA)), 2n, 'the write reached memory');
    assert.equal(eventsOf(r.sink, 'walk').length, 0, 'no walk happened');

    r.m.invlpg(U1);
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.entries]), [['invlpg', 1]]);
    clear(r.sink);
    const f = fault(write(r, U1, 3n));
    assert.deepEqual(f, { vector: 14, errorCode: 0x7, cr2: U1 });
    assert.deepEqual(eventsOf(r.sink, 'walk_fault').map((e) => e.reason), ['write-to-read-only']);
    assert.equal(r.m.mem.read64(Number(DATA)), 2n, 'the faulting write stored nothing');
  });

  test('a page fault invalidates the entry: the PTE fixed without INVLPG is then used', () => {
    const r = rig();
    const u1 = r.lab.map(U1, DATA, '4k', USER_RO, USER_RW);
    r.lab.setCpl(3);
    ok(read(r, U1)); // cached read-only
    clear(r.sink);
    const f = fault(write(r, U1));
    assert.deepEqual(f, { vector: 14, errorCode: 0x7, cr2: U1 });
    assert.deepEqual(eventsOf(r.sink, 'tlb').map((e) => e.what), ['hit'], 'decided from the cached rights (§4.10.4.3)');
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.va, e.entries]), [['page-fault', hex(U1), 1]]);
    assert.equal(cached(r.m, U1), false);

    // What a kernel's fault handler does: make the PTE writable, return, no INVLPG (§4.10.4.3).
    r.m.mem.write32(u1, r.m.mem.read32(u1) | RW);
    clear(r.sink);
    const res = ok(write(r, U1, 9n));
    assert.equal(res.tlb, 'miss');
    assert.equal(r.m.mem.read64(Number(DATA)), 9n);
  });

  test('INVLPG drops a global entry too', () => {
    const r = rig();
    mapAll(r);
    touchAll(r);
    const kEntry = r.m.tlb!.entries().find((e) => e.pn === vpnOf(K1));
    assert.ok(kEntry !== undefined && (kEntry.info & (1 << 8)) !== 0, 'K1 is cached as global');
    clear(r.sink);
    r.m.invlpg(K1);
    assert.equal(cached(r.m, K1), false);
    assert.equal(cached(r.m, U1), true, 'other pages stay');
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.va, e.entries]), [['invlpg', hex(K1), 1]]);
  });

  test('MOV to CR3 flushes non-global entries and keeps global ones', () => {
    const r = rig();
    mapAll(r);
    touchAll(r);
    clear(r.sink);
    r.m.movToCr3(r.m.cpu.cr3);
    assert.equal(cached(r.m, U1), false);
    assert.equal(cached(r.m, U2), false);
    assert.equal(cached(r.m, K1), true);
    const [flush] = eventsOf(r.sink, 'tlb_flush');
    assert.equal(flush?.cause, 'mov-cr3');
    assert.equal(flush?.keepGlobal, true);
    assert.equal(flush?.entries, 2);
  });

  test('with CR4.PGE=0 the G bit is ignored: MOV to CR3 flushes the kernel page as well', () => {
    const r = rig();
    r.m.setCr4(r.m.cpu.cr4 & ~CR4_PGE);
    mapAll(r);
    touchAll(r);
    r.m.movToCr3(r.m.cpu.cr3);
    assert.equal(cached(r.m, K1), false);
    assert.equal(r.m.tlb!.size, 0);
  });

  test('toggling CR4.PGE flushes every entry, global ones included', () => {
    const r = rig();
    mapAll(r);
    touchAll(r);
    clear(r.sink);
    r.m.setCr4(r.m.cpu.cr4 & ~CR4_PGE);
    assert.equal(r.m.tlb!.size, 0);
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.keepGlobal]), [['cr4', false]]);
    // Setting it again flushes too (§4.10.4.1: any change of CR4.PGE).
    r.lab.setCpl(3);
    ok(read(r, U1));
    r.m.setCr4(r.m.cpu.cr4 | CR4_PGE);
    assert.equal(cached(r.m, U1), false);
  });
});

describe('§4.10.1: PCIDs', () => {
  function pcidRig(): Rig {
    const r = rig();
    r.m.setCr4(r.m.cpu.cr4 | CR4_PCIDE);
    mapAll(r);
    r.lab.reloadRoot(1);
    return r;
  }

  test('entries tagged with PCID 1 survive a switch to PCID 2 and back with bit 63 set', () => {
    const r = pcidRig();
    r.lab.setCpl(3);
    ok(read(r, U1));
    assert.deepEqual(r.m.tlb!.entries().filter((e) => e.pn === vpnOf(U1)).map((e) => e.pcid), [1]);

    r.lab.reloadRoot(2, true);
    assert.equal(r.m.ctl.pcid, 2);
    assert.equal(r.m.cpu.cr3 >> 63n, 0n, 'bit 63 is not stored in CR3');
    assert.equal(cached(r.m, U1), false, "PCID 1's entry is not used under PCID 2");
    assert.equal(ok(read(r, U1)).tlb, 'miss');
    assert.deepEqual(r.m.tlb!.entries().filter((e) => e.pn === vpnOf(U1)).map((e) => e.pcid).sort(), [1, 2]);

    r.lab.reloadRoot(1, true);
    clear(r.sink);
    assert.equal(ok(read(r, U1)).tlb, 'hit', 'back on PCID 1 without a flush: still cached');
    assert.equal(eventsOf(r.sink, 'walk').length, 0);
  });

  test('switching back without bit 63 flushes that PCID (and only that one)', () => {
    const r = pcidRig();
    r.lab.setCpl(3);
    ok(read(r, U1));
    r.lab.reloadRoot(2, true);
    ok(read(r, U2)); // cached under PCID 2
    clear(r.sink);
    r.lab.reloadRoot(1);
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.pcid, e.entries]), [['mov-cr3', 1, 1]]);
    assert.equal(cached(r.m, U1, 1), false);
    assert.equal(cached(r.m, U2, 2), true, "PCID 2's entry survives a flush of PCID 1");
    assert.equal(ok(read(r, U1)).tlb, 'miss');
  });

  test('INVPCID type 0: one address in one PCID, global entries kept', () => {
    const r = pcidRig();
    touchAll(r);
    r.m.invpcid(0, 2, U1);
    assert.equal(cached(r.m, U1, 1), true, 'another PCID is untouched');
    r.m.invpcid(0, 1, K1);
    assert.equal(cached(r.m, K1, 1), true, 'type 0 keeps global translations');
    clear(r.sink);
    r.m.invpcid(0, 1, U1);
    assert.equal(cached(r.m, U1, 1), false);
    assert.equal(cached(r.m, U2, 1), true);
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush'), [{ ev: 'tlb_flush', cause: 'invpcid', pcid: 1, va: hex(U1), entries: 1, keepGlobal: true }]);
  });

  /** U1 under PCID 1, U2 under PCID 2, K1 global. */
  function threeContexts(): Rig {
    const r = pcidRig();
    r.lab.setCpl(3);
    ok(read(r, U1));
    r.lab.reloadRoot(2, true);
    ok(read(r, U2));
    r.lab.setCpl(0);
    ok(read(r, K1));
    return r;
  }

  test('INVPCID type 1: every non-global entry of one PCID', () => {
    const r = threeContexts();
    clear(r.sink);
    r.m.invpcid(1, 1);
    assert.equal(cached(r.m, U1, 1), false);
    assert.equal(cached(r.m, U2, 2), true);
    assert.equal(cached(r.m, K1, 1), true);
    assert.deepEqual(eventsOf(r.sink, 'tlb_flush').map((e) => [e.cause, e.pcid, e.keepGlobal, e.entries]), [['invpcid', 1, true, 1]]);
  });

  test('INVPCID type 2: everything, global entries included', () => {
    const r = threeContexts();
    clear(r.sink);
    r.m.invpcid(2, 0);
    assert.equal(r.m.tlb!.size, 0);
    const [flush] = eventsOf(r.sink, 'tlb_flush');
    assert.equal(flush?.keepGlobal, false);
    assert.ok((flush?.entries ?? 0) >= 3);
  });

  test('INVPCID type 3: everything but global entries', () => {
    const r = threeContexts();
    r.m.invpcid(3, 0);
    assert.equal(cached(r.m, U1, 1), false);
    assert.equal(cached(r.m, U2, 2), false);
    assert.equal(cached(r.m, K1, 1), true);
    assert.ok(r.m.tlb!.entries().every((e) => (e.info & (1 << 8)) !== 0), 'only global entries remain');
  });
});

describe('structure and counters', () => {
  test('one set of two ways: the third page evicts round-robin', () => {
    const r = rig({ tlb: { sets: 1, ways: 2 } });
    const u3 = U2 + 0x1000n;
    mapAll(r);
    r.lab.map(u3, DATA + 0x3000n, '4k', USER_RW, USER_RW);
    r.m.invpcid(2, 0);
    r.lab.setCpl(3);
    ok(read(r, U1)); // way 0
    ok(read(r, U2)); // way 1
    assert.deepEqual(r.m.tlb!.b4.tag.slice(), Float64Array.from([vpnOf(U1), vpnOf(U2)]));
    ok(read(r, u3)); // evicts way 0 (U1)
    assert.deepEqual(r.m.tlb!.b4.tag.slice(), Float64Array.from([vpnOf(u3), vpnOf(U2)]));
    assert.equal(ok(read(r, U2)).tlb, 'hit');
    assert.equal(ok(read(r, U1)).tlb, 'miss', 'U1 was evicted');
    assert.deepEqual(r.m.tlb!.b4.tag.slice(), Float64Array.from([vpnOf(u3), vpnOf(U1)]), 'then way 1 (U2) goes');
  });

  test('a 2 MiB page: one fill, then every 4 KiB inside hits with the right frame', () => {
    const r = rig();
    const va = 0x4000_0000n;
    const pa = 0x2000_0000n;
    r.lab.map(va, pa, '2m', USER_RW, USER_RW);
    r.lab.setCpl(3);
    const first = ok(read(r, va));
    assert.equal(first.tlb, 'miss');
    assert.deepEqual(eventsOf(r.sink, 'tlb').filter((e) => e.what === 'fill').map((e) => e.pageSize), ['2m']);
    const walks = r.m.walks;
    for (const off of [0x1000n, 0x12_3456n, 0x1f_f000n, 0x1f_ffffn]) {
      const res = ok(read(r, va + off));
      assert.equal(res.tlb, 'hit', `offset ${hex(off)}`);
      assert.equal(res.pa, pa + off);
    }
    assert.equal(r.m.walks, walks);
    assert.equal(ok(read(r, va + 0x20_0000n - 0x1000n)).pa, pa + 0x1f_f000n);
    assert.equal(fault(read(r, va + 0x20_0000n)).errorCode, 0x4, 'the next 2 MiB is not mapped');
  });

  test('a 1 GiB page: one fill, then every 4 KiB inside hits', () => {
    const r = rig();
    const va = 0x1_0000_0000n;
    const pa = 0x1_4000_0000n;
    r.lab.map(va, pa, '1g', USER_RW, USER_RW);
    r.lab.setCpl(3);
    assert.equal(ok(read(r, va)).tlb, 'miss');
    const walks = r.m.walks;
    for (const off of [0x1000n, 0x20_0000n, 0x1234_5678n, 0x3fff_f000n, 0x3fff_ffffn]) {
      const res = ok(read(r, va + off));
      assert.equal(res.tlb, 'hit', `offset ${hex(off)}`);
      assert.equal(res.pa, pa + off);
    }
    assert.equal(r.m.walks, walks);
    assert.deepEqual(r.m.tlb!.entries().filter((e) => e.size === 2).map((e) => e.pn), [Number(va >> 30n)]);
  });

  test('hits, misses, fills and flushes count exactly', () => {
    const r = rig();
    mapAll(r);
    r.lab.setCpl(3);
    const t = r.m.tlb!;
    const base = { hits: t.hits, misses: t.misses, fills: t.fills, flushes: t.flushes };
    const delta = () => ({ hits: t.hits - base.hits, misses: t.misses - base.misses, fills: t.fills - base.fills, flushes: t.flushes - base.flushes });
    ok(read(r, U1)); // miss, fill
    ok(read(r, U1)); // hit
    ok(read(r, U1 + 0x800n)); // hit
    assert.deepEqual(delta(), { hits: 2, misses: 1, fills: 1, flushes: 0 });
    r.m.invlpg(U1); // one flush
    ok(read(r, U1)); // miss, fill
    assert.deepEqual(delta(), { hits: 2, misses: 2, fills: 2, flushes: 1 });
    fault(read(r, U1 + 0x10_0000n)); // not present: a miss, no fill
    assert.deepEqual(delta(), { hits: 2, misses: 3, fills: 2, flushes: 1 });
    r.m.invlpg(U2); // nothing cached there: not counted as a flush
    assert.deepEqual(delta(), { hits: 2, misses: 3, fills: 2, flushes: 1 });
    r.m.movToCr3(r.m.cpu.cr3);
    assert.deepEqual(delta(), { hits: 2, misses: 3, fills: 2, flushes: 2 });
  });
});
