// The property helpers run with the reference against itself (trivially equal, but it exercises
// the generator and the invariants), then against planted bugs: each mutant must be caught, which
// shows the random tables and accesses actually reach the rule the mutant breaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgainstReference, checkInvariants } from './props.js';
import { refUnderTest, type WalkUnderTest } from './harness.js';
import { refCommit, refTranslateWithEffects, type RefAccess, type RefResult, type RefState } from './ref.js';

const SEED = 0x5d3; // fixed: the suite is deterministic (STYLE.md); change it to explore
const RUNS = 300;

test('reference equals itself on random tables, state and accesses', () => {
  checkAgainstReference(refUnderTest, RUNS, { seed: SEED });
});

test('reference satisfies the walker invariants', () => {
  checkInvariants(refUnderTest, RUNS, { seed: SEED + 1 });
});

/** The reference with a planted bug: a changed view of the state, access, result, or commit. */
function mutant(opts: {
  state?: (st: RefState) => RefState;
  access?: (acc: RefAccess) => RefAccess;
  result?: (r: RefResult) => RefResult;
  commitD?: boolean;
}): () => WalkUnderTest {
  return () => {
    const mem = new Map<bigint, bigint>();
    let st: RefState | null = null;
    const read64 = (pa: bigint): bigint => mem.get(pa) ?? 0n;
    const write64 = (pa: bigint, v: bigint): void => { mem.set(pa, v); };
    return {
      reset(s) { mem.clear(); st = opts.state ? opts.state(s) : s; },
      read64,
      write64,
      translate(acc) {
        if (st === null) throw new Error('mutant: translate before reset');
        const fx = refTranslateWithEffects(read64, st, opts.access ? opts.access(acc) : acc);
        refCommit({ read64, write64 }, opts.commitD === false ? { ...fx, setD: [] } : fx);
        return opts.result ? opts.result(fx.result) : fx.result;
      },
    };
  };
}

const pfOnly = (f: (ec: number) => number) => (r: RefResult): RefResult =>
  r.kind === 'pf' ? { ...r, errorCode: f(r.errorCode) } : r;

const MUTANTS: Array<[string, () => WalkUnderTest]> = [
  ['ignores CR0.WP', mutant({ state: (s) => ({ ...s, wp: false }) })],
  ['ignores CR4.SMAP', mutant({ state: (s) => ({ ...s, smap: false }) })],
  ['ignores RFLAGS.AC', mutant({ state: (s) => ({ ...s, ac: false }) })],
  ['ignores CR4.SMEP', mutant({ state: (s) => ({ ...s, smep: false }) })],
  ['ignores CR4.PKE', mutant({ state: (s) => ({ ...s, pke: false }) })],
  ['treats NXE as always 1', mutant({ state: (s) => ({ ...s, nxe: true }) })],
  ['assumes 1-GByte pages', mutant({ state: (s) => ({ ...s, page1g: true }) })],
  ['assumes MAXPHYADDR 52', mutant({ state: (s) => ({ ...s, maxPhyAddr: 52 }) })],
  ['reads PKRU one key off', mutant({ state: (s) => ({ ...s, pkru: (s.pkru >>> 2) }) })],
  ['never sets PK', mutant({ result: pfOnly((ec) => ec & ~0x20) })],
  ['never sets I/D', mutant({ result: pfOnly((ec) => ec & ~0x10) })],
  ['checks only the first page of an access', mutant({ access: (a) => ({ ...a, size: 1 }) })],
  ['treats implicit accesses as explicit', mutant({ access: (a) => ({ ...a, implicit: false }) })],
  ['never commits D', mutant({ commitD: false })],
];

for (const [name, make] of MUTANTS) {
  test(`the property test catches a walker that ${name}`, () => {
    assert.throws(() => checkAgainstReference(make, 2000, { seed: SEED }), /Property failed/);
  });
}
