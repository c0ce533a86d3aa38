// Valid scenarios parse to the structure a runner needs: every operation, defaults filled in,
// 64-bit values exact, and each step knowing its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, parseScenario } from '../../src/workload/scenario/parse.js';
import { evalExpr } from '../../src/workload/scenario/expr.js';
import type { Step } from '../../src/workload/scenario/schema.js';

// Compiled tests run from dist/test/scenario; the fixtures stay in the source tree.
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/scenarios/${name}`, import.meta.url));

/** The step's arguments, with expressions replaced by their text for easy comparison. */
function plain(step: Step): unknown {
  return JSON.parse(JSON.stringify(step.args, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v !== null && typeof v === 'object' && 'terms' in v && 'text' in v) return `expr:${(v as { text: string }).text}`;
    return v;
  }));
}

test('process operations parse with their arguments, defaults and lines', () => {
  const s = loadScenarioFile(fixture('process-ops.yaml'));
  assert.equal(s.name, 'process operations');
  assert.equal(s.description, 'one of each');
  assert.deepEqual(s.kernel, ['linux', 'xnu']);
  assert.equal(s.seed, 7);
  assert.equal(s.signals, 'default');
  assert.deepEqual(s.machine, { maxphyaddr: 39, tlb: { sets: 16, ways: 4 }, ram: 64n << 20n });
  assert.deepEqual(s.steps.map((st) => st.op), [
    'mmap', 'mmap', 'munmap', 'mprotect', 'madvise', 'mlock', 'munlock', 'brk', 'fork', 'read', 'read',
    'write', 'write', 'exec', 'exit', 'exit',
  ]);
  assert.deepEqual(s.steps.map((st) => st.line), [9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 27, 28, 29, 31]);
  const args = s.steps.map(plain);
  assert.deepEqual(args[0], { as: 'buf', length: '8192n', prot: 'rw', flags: ['private', 'anonymous'] });
  assert.deepEqual(args[1], { as: 'file', addr: 'expr:0x7f0000000000', length: '4096n', prot: 'r', flags: ['shared', 'fixed'], file: 'data.bin', offset: '4096n' });
  assert.deepEqual(args[2], { addr: 'expr:buf+4k', length: '4096n' });
  assert.deepEqual(args[3], { addr: 'expr:buf', length: '4096n', prot: 'none' });
  assert.deepEqual(args[4], { addr: 'expr:buf', length: '4096n', advice: 'dontneed' });
  assert.deepEqual(args[7], { addr: 'expr:0x555555560000' });
  assert.deepEqual(args[8], { as: 'child' });
  assert.deepEqual(args[9], { addr: 'expr:buf + 0x10', size: 1 });
  assert.deepEqual(args[10], { addr: 'expr:buf', size: 8 });
  assert.deepEqual(args[11], { addr: 'expr:buf', size: 4, value: `${0xdeadbeef}n` });
  // "AB" is the bytes 0x41, 0x42 in memory order: little-endian 0x4241, a 2-byte write.
  assert.deepEqual(args[12], { addr: 'expr:buf', size: 2, value: `${0x4241}n` });
  assert.deepEqual(args[13], { addr: 'expr:stack-8' });
  assert.deepEqual(args[14], {});
  assert.deepEqual(args[15], { code: 3 });
  assert.equal(s.steps[0]!.note, 'two pages');
  assert.deepEqual(s.steps.map((st) => st.proc).filter((p) => p !== 'main'), ['child', 'child']);
});

test('expect is kept as written, numbers and hex strings alike', () => {
  const s = loadScenarioFile(fixture('process-ops.yaml'));
  assert.deepEqual(s.steps[11]!.expect, {
    outcome: 'signal',
    faults: [{ vector: 14, error_code: 7, cr2: 0x7f0000000000 }],
    signal: { signo: 11, name: 'SIGSEGV', addr: '0x7f0000000000' },
  });
});

test('machine operations parse, flags become structured', () => {
  const s = loadScenarioFile(fixture('machine-ops.yaml'));
  const args = s.steps.map(plain);
  assert.deepEqual(args[0], {
    'cr0.wp': true, 'cr4.smep': true, 'cr4.smap': false, 'cr4.pke': true, 'cr4.la57': false,
    'cr4.pcide': true, 'cr4.pge': true, 'efer.nxe': true, 'rflags.ac': false, pkru: 0x55555554, cpl: 3,
  });
  assert.deepEqual(args[1], {
    as: 'kbuf', va: 'expr:0xffff800000000000', pa: 'expr:0x200000', size: '2m',
    flags: [{ name: 'p' }, { name: 'rw' }, { name: 'g' }, { name: 'xd' }],
    table_flags: [{ name: 'p' }, { name: 'rw' }, { name: 'us' }],
  });
  assert.deepEqual(args[2], { va: 'expr:0x400000', size: '4k', flags: [{ name: 'p' }, { name: 'us' }, { name: 'pkey', value: 5 }] });
  assert.deepEqual(args[3], {
    va: 'expr:kbuf', level: 'pd',
    set: [{ name: 'a' }, { name: 'd' }, { name: 'bit', value: 52 }], clear: [{ name: 'rw' }],
  });
  assert.deepEqual(args[4], { va: 'expr:0x400000', level: 'pt', raw: `${0x8000000000001067n}n` });
  assert.deepEqual(args[5], { va: 'expr:kbuf+0x1000' });
  assert.deepEqual(args[6], { type: 0, pcid: 1, va: 'expr:0x400000' });
  assert.deepEqual(args[7], { type: 2 });
  assert.deepEqual(args[8], { pcid: 5, noflush: true });
  assert.deepEqual(args[9], {});
  assert.deepEqual(args[10], { va: 'expr:0x400000', access: 'write', size: 8, cpl: 3, value: `${2n ** 64n - 1n}n` });
  assert.deepEqual(args[11], { va: 'expr:kbuf', access: 'read', size: 1, implicit: true });
  assert.deepEqual(args[12], { vector: 14, present: true, type: 'interrupt', dpl: 0, ist: 1, offset: 'expr:0xffffffff81000000' });
  assert.deepEqual(args[13], { rsp0: 'expr:0xffffc90000004000', ist1: 'expr:0xffffc90000008000' });
  assert.deepEqual(s.machine, { maxphyaddr: 46 });
  assert.equal(s.seed, 0);
  assert.equal(s.signals, 'handle');
  assert.equal(s.kernel, undefined);
});

test('64-bit addresses are exact, written as YAML integers or as strings', () => {
  const s = parseScenario([
    'name: hex',
    'steps:',
    '  - invlpg: {va: 0xffff800000000000}',
    '  - invlpg: {va: "0xffff800000000001"}',
    '  - invlpg: {va: 0xffffffffffffffff}',
    '  - invlpg: {va: 18446744073709551615}',
    '  - invlpg: {va: 0x0000_7fff_ffff_f000}',
    '  - pte: {va: 0, level: pml4, raw: 0x8000000000000001}',
  ].join('\n'), 'hex.yaml');
  const vas = s.steps.slice(0, 5).map((st) => (st.op === 'invlpg' ? evalExpr(st.args.va, new Map()) : undefined));
  assert.deepEqual(vas, [0xffff800000000000n, 0xffff800000000001n, 2n ** 64n - 1n, 2n ** 64n - 1n, 0x7ffffffff000n]);
  const pte = s.steps[5]!;
  assert.ok(pte.op === 'pte');
  assert.equal(pte.args.raw, 0x8000000000000001n);
});

test('JSON input parses the same way', () => {
  const s = loadScenarioFile(fixture('json-scenario.json'));
  assert.equal(s.name, 'json form');
  assert.deepEqual(s.steps.map((st) => [st.op, st.line]), [['mmap', 4], ['write', 5]]);
  assert.deepEqual(s.steps[1]!.expect, { outcome: 'ok', minflt: 1 });
});

test('a single kernel name becomes a list; aliases expand', () => {
  const s = parseScenario([
    'name: alias',
    'kernel: linux',
    'steps:',
    '  - map: {va: 0x1000, flags: &kflags [p, rw]}',
    '  - map: {va: 0x2000, flags: *kflags}',
  ].join('\n'), 'a.yaml');
  assert.deepEqual(s.kernel, ['linux']);
  assert.deepEqual(s.steps.map(plain).map((a) => (a as { flags: unknown }).flags), [
    [{ name: 'p' }, { name: 'rw' }], [{ name: 'p' }, { name: 'rw' }],
  ]);
});

test('step.loc and step.argLoc name the line and column of a field', () => {
  const s = parseScenario([
    'name: loc',
    'steps:',
    '  - mmap: {length: 4k, prot: rw, flags: [private, anonymous]}',
    '  - read:',
    '      addr: buf2',
    '    proc: main',
  ].join('\n'), 'loc.yaml');
  const read = s.steps[1]!;
  assert.deepEqual(read.argLoc('addr'), { file: 'loc.yaml', line: 5, col: 13, path: 'steps[1].read.addr' });
  assert.deepEqual(read.loc('proc'), { file: 'loc.yaml', line: 6, col: 11, path: 'steps[1].proc' });
  assert.deepEqual(s.steps[0]!.argLoc('flags[1]'), { file: 'loc.yaml', line: 3, col: 51, path: 'steps[0].mmap.flags[1]' });
  // An absent field points at the nearest one written: here the step's `size` defaults.
  assert.equal(read.argLoc('size').line, 5);
  assert.deepEqual([read.line, read.col, read.index], [4, 5, 1]);
});

test('write sizes: a string picks the smallest access that holds it; negative values wrap', () => {
  const s = parseScenario([
    'name: w',
    'steps:',
    '  - write: {addr: 0, value: "abc"}',
    '  - write: {addr: 0, value: "abc", size: 8}',
    '  - write: {addr: 0, value: -1, size: 2}',
    '  - write: {addr: 0, value: 0xffffffffffffffff, size: 8}',
  ].join('\n'), 'w.yaml');
  const got = s.steps.map((st) => (st.op === 'write' ? [st.args.size, st.args.value] : undefined));
  assert.deepEqual(got, [[4, 0x636261n], [8, 0x636261n], [2, 0xffffn], [8, 2n ** 64n - 1n]]);
});

test('map size accepts bytes and any case; sizes accept units in any case', () => {
  const s = parseScenario([
    'name: sizes',
    'machine: {ram: 1G}',
    'steps:',
    '  - map: {va: 0, size: 0x200000, flags: [p]}',
    '  - map: {va: 0, size: 1G, flags: [P, RW]}',
    '  - munmap: {addr: 0, length: 2M}',
  ].join('\n'), 's.yaml');
  assert.equal(s.machine.ram, 1n << 30n);
  assert.deepEqual(s.steps.map((st) => (st.op === 'map' ? st.args.size : st.op === 'munmap' ? st.args.length : 0)), ['2m', '1g', 2n << 20n]);
  assert.deepEqual(plain(s.steps[1]!), { va: 'expr:0x0', size: '1g', flags: [{ name: 'p' }, { name: 'rw' }] });
});
