// Bad scenario files: every error is a ScenarioError that names the line, column and field
// of the mistake and says what was expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioError, closestName, editDistance, formatPath } from '../../src/workload/scenario/errors.js';
import { loadScenarioFile, parseScenario } from '../../src/workload/scenario/parse.js';

function errorOf(lines: readonly string[], file = 'bad.yaml'): ScenarioError {
  try {
    parseScenario(lines.join('\n'), file);
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    return e;
  }
  return assert.fail(`the scenario parsed: ${file}`);
}

/** Line (1-based) and column of the first `needle` on line `line` of `lines`. */
function posOf(lines: readonly string[], line: number, needle: string): { line: number; col: number } {
  const col = lines[line - 1]!.indexOf(needle);
  assert.ok(col >= 0, `"${needle}" is not on line ${line}`);
  return { line, col: col + 1 };
}

function assertError(lines: readonly string[], where: { line: number; col: number }, path: string, message: RegExp): ScenarioError {
  const e = errorOf(lines);
  assert.deepEqual({ line: e.line, col: e.col, path: e.path }, { ...where, path }, e.format());
  assert.match(e.message, message);
  assert.equal(e.format(), `bad.yaml:${where.line}:${where.col}: ${path ? `${path}: ` : ''}${e.message}`);
  return e;
}

test('a bad page size on line 7 is reported on line 7, with the choices', () => {
  const lines = [
    'name: sizes',
    'steps:',
    '  - map: {va: 0x1000, flags: [p]}',
    '  - map: {va: 0x2000, flags: [p]}',
    '  - map:',
    '      va: 0x3000',
    '      size: 3k',
    '      flags: [p]',
  ];
  const e = assertError(lines, posOf(lines, 7, '3k'), 'steps[2].map.size', /^expected one of 4k, 2m, 1g; got "3k"$/);
  assert.equal(e.format(), 'bad.yaml:7:13: steps[2].map.size: expected one of 4k, 2m, 1g; got "3k"');
});

test('an unknown field points at its key and suggests the close one', () => {
  const lines = ['name: typo', 'steps:', '  - mmap: {lenght: 4k, prot: rw, flags: [private]}'];
  assertError(lines, posOf(lines, 3, 'lenght'), 'steps[0].mmap.lenght', /unknown field "lenght"; did you mean "length"\?/);
  const top = ['name: x', 'stpes: []'];
  assertError(top, posOf(top, 2, 'stpes'), 'stpes', /did you mean "steps"/);
  const op = ['name: x', 'steps:', '  - mpa: {va: 0, flags: [p]}'];
  assertError(op, posOf(op, 3, 'mpa'), 'steps[0].mpa', /did you mean "map"/);
  const far = ['name: x', 'steps:', '  - read: {addr: 1, zzzzzz: 2}'];
  assertError(far, posOf(far, 3, 'zzzzzz'), 'steps[0].read.zzzzzz', /unknown field "zzzzzz"; expected one of addr, size$/);
});

test('a step with two operations names both, at the second', () => {
  const lines = [
    'name: two',
    'steps:',
    '  - mmap: {length: 4k, prot: rw, flags: [private]}',
    '    munmap: {addr: 0, length: 4k}',
  ];
  assertError(lines, posOf(lines, 4, 'munmap'), 'steps[0].munmap', /exactly one operation; this one has mmap, munmap/);
});

test('a step with no operation says which ones exist', () => {
  const lines = ['name: none', 'steps:', '  - proc: main', '    note: nothing to do'];
  assertError(lines, posOf(lines, 3, 'proc'), 'steps[0]', /needs one operation, one of: mmap, munmap, .*tss/);
});

test('missing steps points at the top-level mapping', () => {
  const lines = ['name: empty', 'seed: 1'];
  assertError(lines, { line: 1, col: 1 }, 'steps', /required field is missing \(expected a list\)/);
  const none = ['name: empty', 'steps: []'];
  assertError(none, posOf(none, 2, '[]'), 'steps', /at least 1/);
});

test('a missing argument points at the mapping that lacks it and says what belongs there', () => {
  const lines = ['name: m', 'steps:', '  - munmap: {addr: 0x1000}'];
  assertError(lines, posOf(lines, 3, '{'), 'steps[0].munmap.length', /required field is missing \(expected a size like 4096, 0x1000, 4k/);
});

test('YAML syntax errors carry the library\'s position', () => {
  const lines = ['name: syntax', 'steps:', '  - mmap: {length: 4k', '  - read: {addr: 1}'];
  const e = assertError(lines, { line: 4, col: 3 }, '', /^YAML: Flow map .* must be .* end with a \}/);
  assert.ok(e.line >= 1 && e.line <= lines.length);
  const tabs = ['name: t', 'steps:', '\t- exit:'];
  assertError(tabs, { line: 3, col: 1 }, '', /YAML: Tabs are not allowed/);
  const dup = ['name: a', 'name: b', 'steps: [{exit: }]'];
  assertError(dup, { line: 2, col: 1 }, 'name', /duplicate field "name"/);
});

test('JSON input with an error names the JSON line', () => {
  const lines = [
    '{',
    '  "name": "json",',
    '  "steps": [',
    '    {"read": {"addr": 1}},',
    '    {"read": {"addr": "buf+", "size": 1}}',
    '  ]',
    '}',
  ];
  assertError(lines, posOf(lines, 5, '"buf+"'), 'steps[1].read.addr', /bad address expression "buf\+"/);
  const syntax = ['{', '  "name": "json",', '  "steps": [', '    {"read": {"addr": 1}}', '    {"read": {"addr": 2}}', '  ]', '}'];
  const e = errorOf(syntax);
  assert.equal(e.line, 5, e.format());
  assert.match(e.message, /^YAML: /);
});

test('values out of range say the range', () => {
  const cases: [string, string, RegExp][] = [
    ['  - read: {addr: 1, size: 3}', 'steps[0].read.size', /expected one of 1, 2, 4, 8; got 3/],
    ['  - mmap: {length: 0, prot: rw, flags: [private]}', 'steps[0].mmap.length', /at least 1; got 0/],
    ['  - mmap: {length: 4k, prot: rwz, flags: [private]}', 'steps[0].mmap.prot', /expected one of none, r, w, x, rw, rx, wx, rwx; got "rwz"/],
    ['  - mmap: {length: 4k, prot: rw, flags: [private, huge]}', 'steps[0].mmap.flags[1]', /got "huge"/],
    ['  - map: {va: 0, flags: [p, pkey=16]}', 'steps[0].map.flags[1]', /pkey=N needs N in 0..15; got 16/],
    ['  - map: {va: 0, flags: [p, a]}', 'steps[0].map.flags[1]', /expected one of p, rw, us, pwt, pcd, g, xd, pkey=N; got "a"/],
    ['  - pte: {va: 0, level: pt, set: [bit=64]}', 'steps[0].pte.set[0]', /0..63/],
    ['  - set: {pkru: 0x100000000}', 'steps[0].set.pkru', /an integer in 0..4294967295; got 4294967296/],
    ['  - set: {cpl: 1}', 'steps[0].set.cpl', /expected one of 0, 3; got 1/],
    ['  - idt: {vector: 256}', 'steps[0].idt.vector', /0..255; got 256/],
    ['  - invpcid: {type: 1, pcid: 4096}', 'steps[0].invpcid.pcid', /0..4095/],
    ['  - write: {addr: 0, value: 256}', 'steps[0].write.value', /256 does not fit in 1 byte/],
    ['  - write: {addr: 0, value: "123456789"}', 'steps[0].write.value', /1..8 bytes; got 9/],
    ['  - access: {va: 0, access: read, value: 1}', 'steps[0].access.value', /only for write accesses/],
    ['  - fork: {as: 2child}', 'steps[0].fork.as', /expected a name/],
    ['  - read: {addr: [1]}', 'steps[0].read.addr', /expected an address .*; got a list/],
    ['  - read: {addr: 0x10000000000000000}', 'steps[0].read.addr', /does not fit in 64 bits/],
  ];
  for (const [step, path, message] of cases) {
    const lines = ['name: r', 'steps:', step];
    const key = path.split('.').at(-1)!.replace(/\[\d+\]$/, '');
    const e = errorOf(lines, step);
    assert.equal(e.path, path, e.format());
    assert.equal(e.line, 3, e.format());
    assert.ok(e.col > lines[2]!.indexOf(key), `${e.format()}: column should be at or after "${key}"`);
    assert.match(e.message, message, e.format());
  }
});

test('rules across fields: pte, invpcid, set, tss', () => {
  const pte = ['name: p', 'steps:', '  - pte: {va: 0, level: pt, raw: 5, set: [p]}'];
  assertError(pte, posOf(pte, 3, '5'), 'steps[0].pte.raw', /cannot be combined with set or clear/);
  const pteNone = ['name: p', 'steps:', '  - pte: {va: 0, level: pt}'];
  assertError(pteNone, posOf(pteNone, 3, '{'), 'steps[0].pte', /at least one of set, clear, raw/);
  const both = ['name: p', 'steps:', '  - pte: {va: 0, level: pt, set: [rw], clear: [rw]}'];
  assertError(both, posOf(both, 3, 'rw]'), 'steps[0].pte.set[0]', /rw is both set and cleared/);
  const inv = ['name: i', 'steps:', '  - invpcid: {type: 0, pcid: 1}'];
  assertError(inv, posOf(inv, 3, '{'), 'steps[0].invpcid', /type 0 needs va/);
  const inv3 = ['name: i', 'steps:', '  - invpcid: {type: 3, pcid: 1}'];
  assertError(inv3, posOf(inv3, 3, '1}'), 'steps[0].invpcid.pcid', /type 3 takes no pcid/);
  const set = ['name: s', 'steps:', '  - set: {}'];
  assertError(set, posOf(set, 3, '{}'), 'steps[0].set', /set needs at least one of cr0.wp/);
  const tss = ['name: s', 'steps:', '  - tss:'];
  assertError(tss, posOf(tss, 3, 'tss'), 'steps[0].tss', /tss needs at least one of rsp0, ist1/);
});

test('expect: unknown result fields are errors at load time', () => {
  const lines = ['name: e', 'steps:', '  - read: {addr: 1}', '    expect: {outcome: ok, faults: [{vectr: 14}]}'];
  assertError(lines, posOf(lines, 4, 'vectr'), 'steps[0].expect.faults[0].vectr', /did you mean "vector"/);
  const bad = ['name: e', 'steps:', '  - read: {addr: 1}', '    expect: {outcome: crashed}'];
  assertError(bad, posOf(bad, 4, 'crashed'), 'steps[0].expect.outcome', /one of ok, fault, signal, error, killed/);
  const hex = ['name: e', 'steps:', '  - read: {addr: 1}', '    expect: {pa: "0xzz"}'];
  assertError(hex, posOf(hex, 4, '"0xzz"'), 'steps[0].expect.pa', /expected a number/);
});

test('the whole file must be a mapping; limits give clear errors', () => {
  assertError([''], { line: 1, col: 1 }, '', /the file is empty/);
  assertError(['- a', '- b'], { line: 1, col: 1 }, '', /a scenario is a mapping .*; got a list/);
  assertError(['name: a', '---', 'name: b'], { line: 2, col: 1 }, '', /one YAML document/);
  const deep = ['name: deep', `steps: ${'['.repeat(100)}${']'.repeat(100)}`];
  const e = errorOf(deep);
  assert.match(e.message, /nested deeper than 64 levels/);
  assert.equal(e.line, 2);
  const big = errorOf(['name: big', `note: ${'x'.repeat(1 << 20)}`]);
  assert.match(big.message, /too large .*1 MiB/);
  const rec = ['name: &n [*n]', 'steps: []'];
  assertError(rec, posOf(rec, 1, '*n'), 'name[0]', /alias \*n refers to a node that contains it/);
  const key = ['name: x', '? [a]', ': b'];
  assertError(key, posOf(key, 2, '[a]'), '', /mapping keys must be plain names/);
});

test('an alias bomb is refused (a hang would fail the timeout)', { timeout: 30_000 }, () => {
  const rows = ['name: bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const [n, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f']]) {
    rows.push(`${n}: &${n} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  }
  const e = errorOf(rows);
  assert.match(e.message, /too many aliases|too large/);
});

test('loadScenarioFile: an unreadable file is a ScenarioError without a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-scenario-'));
  try {
    const missing = join(dir, 'nope.yaml');
    assert.throws(() => loadScenarioFile(missing), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.format(), `${missing}: cannot read the scenario: no such file (ENOENT)`);
      assert.equal(e.stack, e.format());
      return true;
    });
    assert.throws(() => loadScenarioFile(dir), /is a directory/);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\nsteps:\n  - read: {addr: 1, size: 5}\n');
    assert.throws(() => loadScenarioFile(file), (e: unknown) => e instanceof ScenarioError && e.file === file && e.line === 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formatPath, editDistance and closestName', () => {
  assert.equal(formatPath(['steps', 3, 'map', 'size']), 'steps[3].map.size');
  assert.equal(formatPath(['steps', 0, 'set', 'cr0.wp']), 'steps[0].set.cr0.wp');
  assert.equal(formatPath(['a b', 1]), '["a b"][1]');
  assert.equal(editDistance('lenght', 'length'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(closestName('flgas', ['flags', 'prot']), 'flags');
  assert.equal(closestName('Length', ['length']), 'length');
  assert.equal(closestName('xyz', ['flags', 'prot']), undefined);
});
