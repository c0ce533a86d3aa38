// Property (STYLE.md, Tests 5): the TLB never holds or returns a translation that the page
// tables did not hold when it was filled. Random sequences of PTE edits (with and without
// INVLPG), CR3 reloads and user accesses run on a machine with a tiny TLB; every translation a
// walk could have cached is computed by the independent SDM reference walker (test/sdm/ref.ts)
// at the moment of the walk. A TLB hit, and every entry the TLB holds, must be one of those,
// recorded since that page was last invalidated.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Machine } from '../../src/hw/machine.js';
import { CR0_WP, CR4_LA57, CR4_PKE, CR4_SMAP, CR4_SMEP, EFER_NXE, RFLAGS_AC } from '../../src/hw/regs.js';
import { BareLab, parseFlags } from '../../src/kernel/bare/lab.js';
import { refTranslate, type RefState } from '../sdm/ref.js';

const BASE = 0x7f0000000000n;
const PAGES = 6;
const FRAMES = [0x40000n, 0x40001n, 0x40002n, 0x40003n];

type Op =
  | { k: 'map'; page: number; frame: number; rw: boolean; present: boolean; invlpg: boolean }
  | { k: 'invlpg'; page: number }
  | { k: 'cr3' }
  | { k: 'access'; page: number; write: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('map' as const), page: fc.nat(PAGES - 1), frame: fc.nat(FRAMES.length - 1), rw: fc.boolean(), present: fc.boolean(), invlpg: fc.boolean() }),
  fc.record({ k: fc.constant('invlpg' as const), page: fc.nat(PAGES - 1) }),
  fc.record({ k: fc.constant('cr3' as const) }),
  fc.record({ k: fc.constant('access' as const), page: fc.nat(PAGES - 1), write: fc.boolean() }),
  fc.record({ k: fc.constant('access' as const), page: fc.nat(PAGES - 1), write: fc.boolean() }),
);

function refStateOf(m: Machine): RefState {
  const c = m.cpu;
  return {
    cr3: c.cr3 & ~0xfffn, wp: (c.cr0 & CR0_WP) !== 0n, smep: (c.cr4 & CR4_SMEP) !== 0n, smap: (c.cr4 & CR4_SMAP) !== 0n,
    pke: (c.cr4 & CR4_PKE) !== 0n, la57: (c.cr4 & CR4_LA57) !== 0n, nxe: (c.efer & EFER_NXE) !== 0n,
    ac: (c.rflags & RFLAGS_AC) !== 0n, pkru: c.pkru, maxPhyAddr: m.mem.maxPhyAddr, page1g: true,
  };
}

test('the TLB never holds a translation the tables did not hold when it was filled', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const m = new Machine({ tlb: { sets: 2, ways: 2 } });
      const lab = new BareLab(m);
      lab.setCpl(3);
      const vpn = (p: number) => Number((BASE >> 12n) + BigInt(p));
      // Frames each page may legitimately be cached with: filled since its last invalidation.
      const seen = new Map<number, Set<number>>();
      const forget = (p: number) => seen.delete(vpn(p));
      for (const o of ops) {
        if (o.k === 'map') {
          const flags = ['us', ...(o.present ? ['p'] : []), ...(o.rw ? ['rw'] : [])];
          lab.map(BASE + BigInt(o.page) * 0x1000n, FRAMES[o.frame]! * 0x1000n, '4k', parseFlags(flags), parseFlags(['p', 'rw', 'us']));
          if (o.invlpg) {
            m.invlpg(BASE + BigInt(o.page) * 0x1000n);
            forget(o.page);
          }
        } else if (o.k === 'invlpg') {
          m.invlpg(BASE + BigInt(o.page) * 0x1000n);
          forget(o.page);
        } else if (o.k === 'cr3') {
          m.movToCr3(m.cpu.cr3);
          seen.clear(); // user pages are not global: a CR3 write drops them all
        } else {
          const va = BASE + BigInt(o.page) * 0x1000n;
          const ref = refTranslate((pa) => m.mem.read64(Number(pa)), refStateOf(m), { va, kind: o.write ? 'write' : 'read', cpl: 3 });
          const v = vpn(o.page);
          const hitsBefore = m.tlb!.hits;
          const pfn = m.translate(v, o.write ? 1 : 0, true, false);
          const hit = m.tlb!.hits > hitsBefore;
          if (hit) {
            assert.ok(pfn >= 0, 'a hit is a success');
            assert.ok(seen.get(v)?.has(pfn), `TLB hit for page ${o.page} returned frame ${pfn.toString(16)}, which the tables never held since its last invalidation`);
          } else if (pfn >= 0) {
            // A walk: it must agree with the reference reading the same tables now.
            assert.equal(ref.kind, 'ok', `machine translated page ${o.page} but the reference faults`);
            if (ref.kind === 'ok') assert.equal(BigInt(pfn) * 4096n, ref.pa);
            if (!seen.has(v)) seen.set(v, new Set());
            seen.get(v)!.add(pfn);
          } else {
            forget(o.page); // a fault invalidates the page's entries (SDM §4.10.4.1)
          }
        }
        // Every entry the TLB holds for a user page is one the tables held.
        for (const e of m.tlb!.entries()) {
          if (e.size !== 0 || e.pn < vpn(0) || e.pn >= vpn(PAGES)) continue;
          assert.ok(seen.get(e.pn)?.has(e.frame), `TLB holds frame ${e.frame.toString(16)} for page ${(e.pn - vpn(0)).toString()} never filled from the tables`);
        }
      }
    }),
    { numRuns: 400, seed: 20261121 },
  );
});

test('a stale entry is the only way a write reaches a read-only page, and INVLPG ends it', () => {
  const m = new Machine();
  const lab = new BareLab(m);
  lab.setCpl(3);
  const va = BASE;
  lab.map(va, 0x40000000n, '4k', parseFlags(['p', 'rw', 'us']), parseFlags(['p', 'rw', 'us']));
  assert.equal(m.tryAccess({ va, access: 'write', size: 1, value: 1n }).kind, 'ok');
  lab.map(va, 0x40000000n, '4k', parseFlags(['p', 'us', 'd', 'a']), parseFlags(['p', 'rw', 'us'])); // read-only now, no INVLPG
  const stale = m.tryAccess({ va, access: 'write', size: 1, value: 2n });
  assert.equal(stale.kind, 'ok', 'SDM §4.10.4.4: the cached writable entry is still used');
  m.invlpg(va);
  const after = m.tryAccess({ va, access: 'write', size: 1, value: 3n });
  assert.equal(after.kind, 'fault');
  if (after.kind === 'fault') assert.equal(after.fault.errorCode, 0x7);
});
