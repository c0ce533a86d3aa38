// Property: whatever text a user (or a fuzzer) hands the parser, it either parses or throws a
// ScenarioError that points inside the text and says something; nothing else escapes, and no
// input takes long. Inputs start from valid scenarios and are mutated at the character, line
// and data level, plus wholly random text and values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mutate, type Mutation } from '../fixtures/mutate.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ScenarioError } from '../../src/workload/scenario/errors.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const SEEDS = [
  [
    'name: process',
    'kernel: [linux, xnu]',
    'machine: {tlb: {sets: 16, ways: 4}, ram: 64m}',
    'steps:',
    '  - mmap: {as: buf, length: 8k, prot: rw, flags: [private, anonymous]}',
    '    note: two pages',
    '  - write: {addr: buf+4k, value: 0xdeadbeef, size: 4}',
    '    expect:',
    '      outcome: ok',
    '      faults: [{vector: 14, error_code: 6, cr2: 0x7f0000001000}]',
    '  - fork: {as: child}',
    '  - read: {addr: buf}',
    '    proc: child',
    '  - madvise: {addr: buf, length: 4k, advice: dontneed}',
    '  - exit:',
  ].join('\n'),
  [
    'name: machine',
    'steps:',
    '  - set: {cr0.wp: true, cr4.smap: true, pkru: 0x4, cpl: 3}',
    '  - map: {as: k, va: 0xffff800000000000, pa: 0x200000, size: 2m, flags: &f [p, rw, g, pkey=1]}',
    '  - pte: {va: k, level: pd, set: [a, d, bit=52], clear: [rw]}',
    '  - invpcid: {type: 0, pcid: 1, va: "k + 0x1000"}',
    '  - access: {va: k, access: write, size: 8, value: 1, cpl: 0}',
    '    expect: {outcome: fault, walk: [{level: pml4, index: 256}], page: {dirty: true}}',
    '  - idt: {vector: 14, type: trap, ist: 1, offset: 0xffffffff81000000}',
    '  - tss: {rsp0: 0xffffc90000004000}',
    '  - mov_cr3: {pcid: 1, noflush: true}',
  ].join('\n'),
  '{\n  "name": "json",\n  "steps": [\n    {"mmap": {"as": "b", "length": "4k", "prot": "r", "flags": ["private"]}},\n    {"read": {"addr": "b"}, "expect": {"minflt": 1}}\n  ]\n}',
];

/** Bits of YAML syntax and values that exercise the library's corners. */
const YAML_BITS = [
  '[', ']', '{', '}', ':', ': ', '- ', ',', '#', '&a ', '*a', '*nope', '!!str ', '!!binary aGk=', '!foo ',
  '!!set {a}', '!!omap [a: 1]', '!!timestamp 2001-12-14', '? ', '|\n  text', '>-\n  folded', '---\n', '...\n',
  '%YAML 1.1\n---\n', '<<: *a', '~', 'null', 'true', 'yes', '0x', '0xffffffffffffffffff', '-0x10', '1e400',
  '.inf', '-.nan', '0o17', '"\\u0000"', "'it''s'", '"unterminated', '\t', '\r\n', '\r', '\u2028', '\ufeff',
  '\u0000', '\ud800', 'steps', 'name', 'mmap', 'expect', '__proto__', 'constructor', 'buf+', 'pkey=99',
];

const longText = fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n));
const deepText = fc.tuple(fc.integer({ min: 20, max: 300 }), fc.constantFrom('[', '{a: ', '- ', '  ', '{', '[[')).map(([n, s]) => s.repeat(n));
const balancedDeep = fc.integer({ min: 20, max: 120 }).map((n) => `${'{k: '.repeat(n)}1${'}'.repeat(n)}`);
const flowValue = fc.jsonValue({ maxDepth: 5 }).map((v) => stringifyYaml(v, { collectionStyle: 'flow' }).trimEnd());

const fragment = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...YAML_BITS) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: flowValue },
  { weight: 1, arbitrary: longText },
  { weight: 1, arbitrary: deepText },
  { weight: 1, arbitrary: balancedDeep },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete', 'dropLine', 'dupLine', 'swapLines'), at: fc.nat(), len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constantFrom('insert', 'replace', 'value', 'insertLine'), at: fc.nat(), len: fc.integer({ min: 1, max: 10 }), text: fragment }),
) as fc.Arbitrary<Mutation>;

/** Replace one value deep in the data (a valid YAML file, bad scenario) with `value`. */
function replaceDeep(data: unknown, path: readonly number[], value: unknown): unknown {
  if (path.length === 0 || data === null || typeof data !== 'object') return value;
  const keys = Object.keys(data);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(data) ? [...data] as unknown as Record<string, unknown> : { ...data };
  copy[key] = replaceDeep((data as Record<string, unknown>)[key], path.slice(1), value);
  return copy;
}

let slowest = 0;

/** A hang or a runaway blow-up fails here; speed itself is not tested (npm run bench measures it). */
const HANG_GUARD = { timeout: 120_000 };

/** The property: parse, or a well-formed ScenarioError inside the text. */
function check(text: string): void {
  const start = performance.now();
  const lines = text.split('\n').length;
  try {
    const s = parseScenario(text, 'fuzz.yaml');
    assert.ok(s.steps.length >= 1);
    for (const step of s.steps) assert.ok(step.line >= 1 && step.line <= lines, `step line ${step.line}`);
  } catch (e) {
    if (!(e instanceof ScenarioError)) {
      throw new Error(`not a ScenarioError: ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${text.slice(0, 2000)}`, { cause: e });
    }
    assert.ok(e.line >= 1 && e.line <= lines + 1, `line ${e.line} outside 1..${lines + 1}: ${e.format()}`);
    assert.ok(e.col >= 1, `column ${e.col}: ${e.format()}`);
    assert.ok(e.message.trim().length > 0, 'empty message');
    assert.ok(e.format().startsWith(`fuzz.yaml:${e.line}:${e.col}: `));
  } finally {
    const took = performance.now() - start;
    slowest = Math.max(slowest, took);
  }
}

test('mutated scenario texts parse or fail with a positioned ScenarioError', HANG_GUARD, () => {
  const seed = fc.constantFrom(...SEEDS);
  fc.assert(fc.property(seed, fc.array(mutation, { minLength: 1, maxLength: 6 }), (text, ms) => {
    check(ms.reduce(mutate, text));
  }), { numRuns: 2000 });
});

test('valid YAML with random values in random places fails cleanly at the right place', HANG_GUARD, () => {
  const seeds = SEEDS.map((s) => parseYaml(s) as unknown);
  const value = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(null, '', 0, -1, 2 ** 64, 1.5, '0x', 'buf+', [], {}));
  fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(fc.nat(), { maxLength: 6 }), value, fc.constantFrom<'block' | 'flow'>('block', 'flow'), (data, path, v, style) => {
    const text = stringifyYaml(replaceDeep(data, path, v), { collectionStyle: style });
    check(text);
  }), { numRuns: 1000 });
});

test('random text and random documents fail cleanly', HANG_GUARD, () => {
  fc.assert(fc.property(fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.array(fc.constantFrom(...YAML_BITS), { maxLength: 40 }).map((xs) => xs.join('')),
    fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.stringify(v, null, 2)),
  ), check), { numRuns: 1500 });
});

test('edge inputs: limits and pathological shapes', HANG_GUARD, () => {
  check('x'.repeat((1 << 20) + 1));
  check('['.repeat(200_000));
  check(`name: x\nsteps: ${'['.repeat(60)}${']'.repeat(60)}`);
  check(`a: &a [${'x, '.repeat(99)}x]\n${Array.from({ length: 8 }, (_, i) => `b${i}: &b${i} [${`*${i ? `b${i - 1}` : 'a'}, `.repeat(20)}1]`).join('\n')}`);
  check(`name: x\nsteps:\n${'  - exit:\n'.repeat(5_000)}`);
  check('\n'.repeat(1000));
  check('');
});

test('the slowest input (a diagnostic, not a speed claim: a hang fails the timeout above)', (t) => {
  t.diagnostic(`slowest parse: ${slowest.toFixed(0)} ms`);
  assert.ok(Number.isFinite(slowest) && slowest > 0, 'the fuzzers ran');
});
