// Property tests for any translator (`WalkUnderTest`), with fast-check:
//  - checkAgainstReference: on random tables, control state and access sequences, every result
//    equals refTranslate's and memory after each access (the A/D bits) equals the reference's.
//  - checkInvariants: properties that hold for any correct walker, checked on the walker alone:
//    error-code bits agree with the access, faults change no memory, successes set A (and D on
//    writes) in what they report, and repeating an access gives the same outcome.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex, type WalkUnderTest } from './harness.js';
import { refCommit, refTranslateWithEffects, type RefAccess, type RefResult, type RefState } from './ref.js';
import { showResult } from './run.js';
import { accessOf, arbScenario, buildScenario, showScenario, type Scenario } from './props_gen.js';

export interface PropOptions { seed?: number; path?: string; verbose?: boolean }

function params(numRuns: number, o: PropOptions): fc.Parameters<[Scenario]> {
  const p: fc.Parameters<[Scenario]> = { numRuns };
  if (o.seed !== undefined) p.seed = o.seed;
  if (o.path !== undefined) p.path = o.path;
  if (o.verbose === true) p.verbose = true;
  return p;
}

/** The reference over its own Map memory, exposing the reason for each outcome. */
class RefMachine {
  private readonly mem = new Map<bigint, bigint>();
  constructor(private readonly st: RefState) {}
  read64 = (pa: bigint): bigint => this.mem.get(pa) ?? 0n;
  write64 = (pa: bigint, v: bigint): void => { this.mem.set(pa, BigInt.asUintN(64, v)); };
  translate(acc: RefAccess): { result: RefResult; why: string } {
    const fx = refTranslateWithEffects(this.read64, this.st, acc);
    refCommit(this, fx);
    return { result: fx.result, why: fx.why };
  }
}

function showAccess(acc: RefAccess): string {
  return `${acc.kind} cpl=${acc.cpl}${acc.implicit === true ? ' implicit' : ''} va=${hex(acc.va)} size=${acc.size ?? 1}`;
}

/** One scenario: same tables in both, same accesses in order, same results and memory. */
export function compareScenario(ut: WalkUnderTest, sc: Scenario): void {
  const ref = new RefMachine(sc.st);
  ut.reset(sc.st);
  const written = buildScenario([ref, ut], sc);
  sc.accesses.forEach((a, i) => {
    const acc = accessOf(sc, a);
    const want = ref.translate(acc);
    const got = ut.translate(acc);
    const ctx = `access #${i} ${showAccess(acc)}: reference says ${want.why} ${showResult(want.result)}, got ${showResult(got)}`;
    assert.deepEqual(got, want.result, ctx);
    for (const pa of written) {
      assert.equal(hex(ut.read64(pa)), hex(ref.read64(pa)), `${ctx}; entry at ${hex(pa)} after the access`);
    }
  });
}

/** Compare a translator with the reference on `numRuns` random scenarios. */
export function checkAgainstReference(makeUnderTest: () => WalkUnderTest, numRuns: number, o: PropOptions = {}): void {
  fc.assert(fc.property(arbScenario, (sc) => {
    try {
      compareScenario(makeUnderTest(), sc);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nscenario: ${showScenario(sc)}`, { cause: e });
    }
  }), params(numRuns, o));
}

// ---- invariants of any walker ----------------------------------------------------------------

const PF_P = 0x1, PF_W = 0x2, PF_U = 0x4, PF_RSVD = 0x8, PF_I = 0x10, PF_PK = 0x20;

function snapshot(ut: WalkUnderTest, pas: bigint[]): bigint[] {
  return pas.map((pa) => ut.read64(pa));
}

/** The start of every page the access touches after its first. */
function laterPages(acc: RefAccess): bigint[] {
  const last = BigInt.asUintN(64, acc.va + BigInt((acc.size ?? 1) - 1)) & ~0xfffn;
  const out: bigint[] = [];
  for (let p = acc.va & ~0xfffn; p !== last;) {
    p = BigInt.asUintN(64, p + 0x1000n);
    out.push(p);
  }
  return out;
}

/** §4.7: the access-type bits of the error code follow from the access alone. */
function checkErrorCode(acc: RefAccess, r: Extract<RefResult, { kind: 'pf' }>): void {
  const ec = r.errorCode;
  const userMode = acc.cpl === 3 && acc.implicit !== true;
  assert.equal((ec & PF_W) !== 0, acc.kind === 'write', 'W/R bit is 1 exactly for writes');
  assert.equal((ec & PF_U) !== 0, userMode, 'U/S bit is 1 exactly for user-mode accesses');
  if ((ec & PF_I) !== 0) assert.equal(acc.kind, 'exec', 'I/D only for fetches');
  if ((ec & PF_RSVD) !== 0) assert.ok((ec & PF_P) !== 0, 'RSVD implies P');
  if ((ec & PF_PK) !== 0) {
    assert.ok((ec & PF_P) !== 0 && (ec & PF_RSVD) === 0, 'PK implies P and not RSVD');
    assert.notEqual(acc.kind, 'exec', 'fetches never set PK');
  }
  assert.equal(ec & ~0x3f, 0, 'only P, W/R, U/S, RSVD, I/D and PK are modelled');
  assert.ok(r.cr2 === acc.va || laterPages(acc).includes(r.cr2), `cr2 ${hex(r.cr2)} is the va or a later page's start`);
}

function checkOk(ut: WalkUnderTest, acc: RefAccess, r: Extract<RefResult, { kind: 'ok' }>): void {
  const mask = r.pageSize === '4k' ? 0xfffn : r.pageSize === '2m' ? 0x1f_ffffn : 0x3fff_ffffn;
  assert.equal(hex(r.pa & mask), hex(acc.va & mask), 'pa keeps the page offset');
  assert.equal(r.setD !== null, acc.kind === 'write', 'D is set exactly on writes');
  if (r.setD !== null) assert.ok(r.setA.includes(r.setD), 'the dirty leaf is also accessed');
  const pages = 1 + laterPages(acc).length;
  assert.ok(r.setA.length >= 2 && r.setA.length <= 5 * pages, 'A in 2..5 entries per page');
  for (const pa of r.setA) assert.ok((ut.read64(pa) & 0x20n) !== 0n, `A committed at ${hex(pa)}`);
  if (r.setD !== null) assert.ok((ut.read64(r.setD) & 0x40n) !== 0n, `D committed at ${hex(r.setD)}`);
}

/** One scenario: invariants on the walker alone, no reference involved. */
export function invariantsScenario(ut: WalkUnderTest, sc: Scenario): void {
  ut.reset(sc.st);
  const written = buildScenario([ut], sc);
  for (const a of sc.accesses) {
    const acc = accessOf(sc, a);
    const before = snapshot(ut, written);
    const r = ut.translate(acc);
    if (r.kind === 'pf') {
      checkErrorCode(acc, r);
      assert.deepEqual(snapshot(ut, written), before, 'a fault changes no paging-structure entry');
    } else if (r.kind === 'gp') {
      assert.deepEqual(snapshot(ut, written), before, '#GP changes no paging-structure entry');
    } else {
      checkOk(ut, acc, r);
    }
    // With A/D now committed the same access must decide the same way (§4.8: A/D never deny).
    assert.deepEqual(ut.translate(acc), r, `repeating ${showAccess(acc)} gives the same outcome`);
  }
}

/** Invariants of any correct walker on `numRuns` random scenarios. */
export function checkInvariants(makeUnderTest: () => WalkUnderTest, numRuns: number, o: PropOptions = {}): void {
  fc.assert(fc.property(arbScenario, (sc) => {
    try {
      invariantsScenario(makeUnderTest(), sc);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nscenario: ${showScenario(sc)}`, { cause: e });
    }
  }), params(numRuns, o));
}
