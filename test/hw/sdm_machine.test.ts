// The real Machine against the SDM reference walker (test/sdm): the manual-derived case table and
// the fast-check properties, with the TLB off (the walk alone) and on (cached translations must
// give the oracle's answers too).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WalkUnderTest } from '../sdm/harness.js';
import { runCaseTable } from '../sdm/run.js';
import { checkAgainstReference, checkInvariants } from '../sdm/props.js';
import { machineUnderTest } from './machine_adapter.js';

const SEED = 0x4857; // fixed: the suite is deterministic (STYLE.md); change it to explore
const RUNS = 300;

const noTlb = () => machineUnderTest({ tlb: 'off' });

/** The TLB-on variant, counting TLB hits so a test can show the cached path was exercised. */
function withTlb(): { make: () => WalkUnderTest; hits: () => number } {
  let hits = 0;
  const make = (): WalkUnderTest => {
    const ut = machineUnderTest({ tlb: 'on' });
    return {
      reset: (st) => ut.reset(st),
      write64: (pa, v) => ut.write64(pa, v),
      read64: (pa) => ut.read64(pa),
      translate(acc) {
        const tlb = ut.machine().tlb!;
        const before = tlb.hits;
        const r = ut.translate(acc);
        hits += tlb.hits - before;
        return r;
      },
    };
  };
  return { make, hits: () => hits };
}

describe('SDM case table, Machine without a TLB', () => runCaseTable(noTlb));
describe('SDM case table, Machine with a TLB', () => runCaseTable(withTlb().make));

test('Machine without a TLB equals the reference on random tables, state and accesses', () => {
  checkAgainstReference(noTlb, RUNS, { seed: SEED });
});

test('Machine with a TLB equals the reference on random tables, state and accesses', () => {
  const v = withTlb();
  checkAgainstReference(v.make, RUNS, { seed: SEED + 1 });
  assert.ok(v.hits() > 0, 'some accesses were answered by the TLB');
});

test('Machine without a TLB satisfies the walker invariants', () => {
  checkInvariants(noTlb, RUNS, { seed: SEED + 2 });
});

test('Machine with a TLB satisfies the walker invariants (repeats hit the TLB)', () => {
  const v = withTlb();
  checkInvariants(v.make, RUNS, { seed: SEED + 3 });
  assert.ok(v.hits() >= 100, `repeated accesses hit the TLB (${v.hits()} hits)`);
});
