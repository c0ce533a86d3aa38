// The real Machine against the SDM reference walker (test/sdm): the manual-derived case table and
// the fast-check properties, with the TLB off (the walk alone) and on (cached translations must
// give the oracle's answers too).

import { describe, test } from 'node:test';
import { runCaseTable } from '../sdm/run.js';
import { checkAgainstReference, checkInvariants } from '../sdm/props.js';
import { machineUnderTest } from './machine_adapter.js';

const SEED = 0x4857; // fixed: the suite is deterministic (STYLE.md); change it to explore
const RUNS = 300;

const noTlb = () => machineUnderTest({ tlb: 'off' });
const withTlb = () => machineUnderTest({ tlb: 'on' });

describe('SDM case table, Machine without a TLB', () => runCaseTable(noTlb));
describe('SDM case table, Machine with a TLB', () => runCaseTable(withTlb));

test('Machine without a TLB equals the reference on random tables, state and accesses', () => {
  checkAgainstReference(noTlb, RUNS, { seed: SEED });
});

test('Machine with a TLB equals the reference on random tables, state and accesses', () => {
  checkAgainstReference(withTlb, RUNS, { seed: SEED + 1 });
});

test('Machine without a TLB satisfies the walker invariants', () => {
  checkInvariants(noTlb, RUNS, { seed: SEED + 2 });
});

test('Machine with a TLB satisfies the walker invariants (repeats hit the TLB)', () => {
  checkInvariants(withTlb, RUNS, { seed: SEED + 3 });
});
