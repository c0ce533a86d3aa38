// Runs the SDM case table (cases.ts) against any translator. One node:test test per case, so a
// second walker is plugged in with one line: `runCaseTable(() => myWalkUnderTest())`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SDM_CASES } from './cases.js';
import { buildTables, hex, leafLevelOf, A, D, type Built, type SdmCase, type WalkUnderTest } from './harness.js';
import { refState, type RefLevel, type RefResult } from './ref.js';

export function runCaseTable(makeUnderTest: () => WalkUnderTest, cases: readonly SdmCase[] = SDM_CASES): void {
  for (const c of cases) {
    test(`${c.id} [${c.sdm}] ${c.what}`, () => runCase(makeUnderTest(), c));
  }
}

export function showResult(r: RefResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? hex(v) : v));
}

/** Build the case's tables in a fresh translator, do the access, check outcome and A/D bits. */
export function runCase(ut: WalkUnderTest, c: SdmCase): void {
  const st = refState(c.state);
  ut.reset(st);
  const built = buildTables(ut, c.tables, st.la57);
  const r = ut.translate(c.access);
  const e = c.expect;
  const got = showResult(r);
  if ('gp' in e) {
    assert.deepEqual(r, { kind: 'gp', errorCode: 0 }, `expected #GP(0), got ${got}`);
    return;
  }
  if ('pf' in e) {
    assert.equal(r.kind, 'pf', `expected #PF ${hex(e.pf)}, got ${got}`);
    if (r.kind !== 'pf') return;
    assert.equal(hex(r.errorCode), hex(e.pf), `error code, got ${got}`);
    assert.equal(hex(r.cr2), hex(e.cr2 ?? c.access.va), `cr2, got ${got}`);
  } else {
    assert.equal(r.kind, 'ok', `expected a translation, got ${got}`);
    if (r.kind !== 'ok') return;
    if (e.pa !== undefined) assert.equal(hex(r.pa), hex(e.pa), `pa, got ${got}`);
    if (e.pageSize !== undefined) assert.equal(r.pageSize, e.pageSize, `page size, got ${got}`);
  }
  if (e.after !== undefined) checkAD(ut, c, built, e.after.accessed, e.after.dirty);
}

const LEVEL_ORDER: RefLevel[] = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'];

function checkAD(ut: WalkUnderTest, c: SdmCase, built: Built, accessed: boolean, dirty: boolean): void {
  const maps = Array.isArray(c.tables) ? c.tables : [c.tables];
  built.entries.forEach((at, i) => {
    const m = maps[i];
    if (m === undefined) return;
    const leaf = leafLevelOf(m);
    for (const level of LEVEL_ORDER) {
      const pa = at[level];
      if (pa === undefined) continue;
      const v = ut.read64(pa);
      assert.equal((v & A) !== 0n, accessed, `mapping ${i} ${level} entry ${hex(pa)} = ${hex(v)}: A should be ${accessed}`);
      if (level === leaf) {
        assert.equal((v & D) !== 0n, dirty, `mapping ${i} leaf ${hex(pa)} = ${hex(v)}: D should be ${dirty}`);
      }
    }
  });
}
