// expect: partial, recursive matching of a step's result, numbers by value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMismatches, matchExpect } from '../../src/workload/expect.js';
import { hex, type StepResult } from '../../src/workload/result.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const result: StepResult = {
  kernel: 'linux',
  step: 3,
  proc: 'main',
  op: 'write',
  outcome: 'signal',
  faults: [{ vector: 14, error_code: 7, cr2: '0x7f0000000000' }],
  walk: [
    { level: 'pml4', index: 254, entry: '0x1067', flags: 'p rw us a' },
    { level: 'pt', index: 0, entry: '0x8000000000002065', flags: 'p us a xd' },
  ],
  signal: { signo: 11, name: 'SIGSEGV', code: 2, addr: '0x7f0000000000', trapno: 14, err: 7 },
  minflt: 0,
  page: { present: true, writable: false, user: true, nx: true, pfn: '0x2', zero_page: false, accessed: true, dirty: false },
};

test('only the fields written are compared, recursively', () => {
  assert.deepEqual(matchExpect({ outcome: 'signal' }, result), []);
  assert.deepEqual(matchExpect({ signal: { name: 'SIGSEGV' } }, result), []);
  assert.deepEqual(matchExpect({ page: { writable: false, nx: true } }, result), []);
  assert.deepEqual(matchExpect({}, result), []);
  assert.deepEqual(matchExpect({ signal: { name: 'SIGBUS', code: 2 } }, result), [
    { path: 'signal.name', expected: 'SIGBUS', actual: 'SIGSEGV' },
  ]);
  assert.deepEqual(matchExpect({ outcome: 'ok', page: { dirty: true } }, result), [
    { path: 'outcome', expected: 'ok', actual: 'signal' },
    { path: 'page.dirty', expected: true, actual: false },
  ]);
});

test('numbers, bigints and hex strings compare by value', () => {
  assert.deepEqual(matchExpect({ faults: [{ cr2: 0x7f0000000000 }] }, result), []);
  assert.deepEqual(matchExpect({ faults: [{ cr2: 0x7f0000000000n }] }, result), []);
  assert.deepEqual(matchExpect({ faults: [{ error_code: '0x7', vector: '14' }] }, result), []);
  assert.deepEqual(matchExpect({ walk: [{ entry: 0x1067 }, { entry: 0x8000000000002065n }] }, result), []);
  assert.deepEqual(matchExpect({ signal: { addr: '0x7F0000000000', err: 7 } }, result), []);
  assert.deepEqual(matchExpect({ faults: [{ error_code: 6 }] }, result), [
    { path: 'faults[0].error_code', expected: 6, actual: 7 },
  ]);
  // Strings that are not numbers compare exactly.
  assert.equal(matchExpect({ walk: [{ flags: 'p rw us' }, {}] }, result).length, 1);
  assert.equal(matchExpect({ signal: { name: 'sigsegv' } }, result).length, 1);
});

test('lists compare element-wise and must have the same length', () => {
  assert.deepEqual(matchExpect({ walk: [{ level: 'pml4' }, { level: 'pt', index: 0 }] }, result), []);
  assert.deepEqual(matchExpect({ walk: [{ level: 'pml4' }] }, result), [
    { path: 'walk', expected: [{ level: 'pml4' }], actual: result.walk },
  ]);
  assert.deepEqual(matchExpect({ faults: [] }, result), [{ path: 'faults', expected: [], actual: result.faults }]);
  assert.deepEqual(matchExpect({ faults: [{ vector: 14 }, { vector: 13 }] }, { ...result, faults: [{ vector: 14, error_code: 0, cr2: '0x0' }, { vector: 14, error_code: 0, cr2: '0x0' }] }), [
    { path: 'faults[1].vector', expected: 13, actual: 14 },
  ]);
});

test('an expected field the result lacks is a mismatch', () => {
  assert.deepEqual(matchExpect({ errno: 'ENOMEM' }, result), [{ path: 'errno', expected: 'ENOMEM', actual: undefined }]);
  assert.deepEqual(matchExpect({ tlb: 'hit' }, { ...result, tlb: 'miss' }), [{ path: 'tlb', expected: 'hit', actual: 'miss' }]);
});

test('formatMismatches prints - expected / + actual, numbers next to hex in hex', () => {
  const text = formatMismatches(matchExpect({ outcome: 'ok', faults: [{ cr2: 0x7f0000001000, error_code: 6 }], errno: 'ENOMEM' }, result), '  ');
  assert.equal(text, [
    '  outcome',
    '    - expected "ok"',
    '    + actual   "signal"',
    '  faults[0].cr2',
    '    - expected 0x7f0000001000',
    '    + actual   0x7f0000000000',
    '  faults[0].error_code',
    '    - expected 6',
    '    + actual   7',
    '  errno',
    '    - expected "ENOMEM"',
    '    + actual   (absent)',
  ].join('\n'));
  assert.equal(formatMismatches([]), '');
});

test('an expect parsed from YAML matches a result built with hex()', () => {
  const s = parseScenario([
    'name: e',
    'steps:',
    '  - read: {addr: 0xffff800000000000}',
    '    expect:',
    '      outcome: fault',
    '      faults: [{vector: 14, error_code: 0x5, cr2: 0xffff800000000000}]',
    '      pa: "0x1000"',
  ].join('\n'), 'e.yaml');
  const actual: StepResult = {
    kernel: 'bare', step: 0, proc: 'main', op: 'read', outcome: 'fault', pa: hex(0x1000),
    faults: [{ vector: 14, error_code: 5, cr2: hex(0xffff800000000000n) }],
  };
  assert.deepEqual(matchExpect(s.steps[0]!.expect!, actual), []);
  assert.deepEqual(matchExpect(s.steps[0]!.expect!, { ...actual, faults: [{ vector: 14, error_code: 5, cr2: hex(0xffff800000001000n) }] }), [
    { path: 'faults[0].cr2', expected: 0xffff800000000000n, actual: '0xffff800000001000' },
  ]);
});

test('hex() formats results: lowercase, 0x, mod 2^64', () => {
  assert.equal(hex(0), '0x0');
  assert.equal(hex(0xABCn), '0xabc');
  assert.equal(hex(-1), '0xffffffffffffffff');
});
