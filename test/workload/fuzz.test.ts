// Property: whatever scenario a user (or a fuzzer) writes, parse + run ends in one of two ways:
// a ScenarioError that points into the file (or names the kernel), or one result per step whose
// outcome is ok|fault|signal|error|killed and whose facts are self-consistent (a #PF error code
// uses only the SDM's bits, RSVD implies P, nothing runs after a shutdown). Never another
// exception, never a hang. Inputs start from the example scenarios and are mutated as data
// (addresses, flags, levels, CPLs, IDT/TSS/set fields, step order, duplicates, new random steps)
// and as text. A second property drives the CLI's main() with random argv.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { mutate, type Mutation as TextEdit } from '../fixtures/mutate.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { renderRun } from '../../src/cli/commands/run.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { runScenario } from '../../src/workload/runner.js';
import { ScenarioError } from '../../src/workload/scenario/errors.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIOS = join(ROOT, 'scenarios');
const EXAMPLES = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(SCENARIOS, f));
const SEED_TEXTS = EXAMPLES.map((f) => readFileSync(f, 'utf8'));
const SEED_DATA = SEED_TEXTS.map((t) => parseYaml(t, { intAsBigInt: true }) as Record<string, unknown>);
const MAX_STEPS = 60;
const OUTCOMES = new Set(['ok', 'fault', 'signal', 'error', 'killed']);

// --- values ---------------------------------------------------------------------------------

const U64 = 1n << 64n;
const NEAR = [0n, 0x400000n, 0x7f0000000000n, 0x7f0000001000n, 0x7ffffffff000n, 0x800000000000n, 0xffff800000000000n,
  0xfffffe0000000000n, 0xfffffe0000011000n, 0xffffc90000004000n, 0xffffffff81000000n, 0x00ff000000000000n, U64 - 0x1000n];
const NAMES = ['buf', 'buf+4k', 'buf-8', 'buf + 0x10', 'top+1', 'big+2m', 'far', 'nope', '-0x1000'];

/** A valid address expression: any 64-bit value (canonical or not), near interesting places, or a name. */
const address: fc.Arbitrary<unknown> = fc.oneof(
  fc.bigInt({ min: 0n, max: U64 - 1n }),
  fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }),
  fc.bigInt({ min: 0xffff800000000000n, max: U64 - 1n }),
  fc.bigInt({ min: 1n << 47n, max: 0xffff7fffffffffffn }), // the 4-level hole
  fc.tuple(fc.constantFrom(...NEAR), fc.integer({ min: -0x3000, max: 0x3000 })).map(([b, d]) => BigInt.asUintN(64, b + BigInt(d))),
  fc.constantFrom(...NAMES),
).chain((v) => (typeof v === 'bigint'
  ? fc.constantFrom(v, `0x${v.toString(16)}`) // a YAML integer, or a hex string as users write it
  : fc.constant(v)));

/** Values no field accepts, for sprinkling: each should end in a ScenarioError at its line. */
const junk = fc.constantFrom<unknown>(U64, -(U64 + 1n), '0x', 'buf+', '', 1.5, true, null, [], {}, 'pkey=99', 'bit=64', 'pte', 9, -1);

const MAP_FLAGS = ['p', 'rw', 'us', 'pwt', 'pcd', 'g', 'xd', 'P', 'Rw'];
const PTE_FLAGS = [...MAP_FLAGS, 'a', 'd', 'ps'];
const flagsFrom = (names: string[], withBits: boolean) => fc.uniqueArray(fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...names) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }).map((n) => `pkey=${n}`) },
  { weight: withBits ? 2 : 0, arbitrary: fc.integer({ min: 0, max: 63 }).map((n) => `bit=${n}`) },
), { maxLength: 6, selector: (f) => (f.startsWith('pkey') ? 'pkey' : f.toLowerCase()) });
const mapFlags = flagsFrom(MAP_FLAGS, false);
const pteFlags = flagsFrom(PTE_FLAGS, true);
const level = fc.constantFrom('pml5', 'pml4', 'pdpt', 'pd', 'pt');
const cpl = fc.constantFrom(0, 3);
const pcid = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4095 }));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const SET_FIELDS = ['cr0.wp', 'cr4.smep', 'cr4.smap', 'cr4.pke', 'cr4.la57', 'cr4.pcide', 'cr4.pge', 'efer.nxe', 'rflags.ac'];

const accessStep = fc.record({
  va: address, access: fc.constantFrom('read', 'write', 'exec'), size: opt(fc.constantFrom(1, 2, 4, 8)), cpl: opt(cpl), implicit: opt(fc.boolean()),
}, { requiredKeys: ['va', 'access'] }).chain((a) => (a.access === 'write'
  ? opt(fc.bigInt({ min: 0n, max: (1n << BigInt(8 * (a.size ?? 1))) - 1n })).map((value) => ({ access: { ...a, value } }))
  : fc.constant({ access: a })));

const invpcidStep = fc.constantFrom(0, 1, 2, 3).chain((type) => fc.record({
  type: fc.constant(type),
  pcid: type < 2 ? pcid : fc.constant(undefined),
  va: type === 0 ? address : fc.constant(undefined),
})).map((v) => ({ invpcid: v }));

/** One random, well-formed step, as YAML data: its values are random, its shape is valid. */
const randomStep: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 6, arbitrary: accessStep },
  { weight: 3, arbitrary: fc.record({ as: opt(fc.constantFrom('buf', 'big', 'top', 'far')), va: address, pa: opt(address), size: opt(fc.constantFrom('4k', '2m', '1g')), flags: mapFlags, table_flags: opt(mapFlags) }, { requiredKeys: ['va', 'flags'] }).map((m) => ({ map: m })) },
  { weight: 2, arbitrary: fc.record({ va: address, level, set: pteFlags }).map((p) => ({ pte: p })) },
  { weight: 1, arbitrary: fc.record({ va: address, level, clear: pteFlags }).map((p) => ({ pte: p })) },
  { weight: 1, arbitrary: fc.record({ va: address, level, raw: fc.bigInt({ min: 0n, max: U64 - 1n }) }).map((p) => ({ pte: p })) },
  { weight: 2, arbitrary: fc.record({ vector: fc.integer({ min: 0, max: 255 }), present: opt(fc.boolean()), type: opt(fc.constantFrom('interrupt', 'trap')), dpl: opt(fc.integer({ min: 0, max: 3 })), ist: opt(fc.integer({ min: 0, max: 7 })), offset: opt(address) }, { requiredKeys: ['vector'] }).map((i) => ({ idt: i })) },
  { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('rsp0', 'ist1', 'ist2', 'ist3', 'ist4', 'ist7'), address, { minKeys: 1, maxKeys: 3 }).map((t) => ({ tss: t })) },
  { weight: 3, arbitrary: fc.dictionary(fc.constantFrom(...SET_FIELDS), fc.boolean(), { minKeys: 1, maxKeys: 3 }).map((s) => ({ set: s })) },
  { weight: 1, arbitrary: fc.record({ pkru: fc.integer({ min: 0, max: 0xffffffff }) }).map((s) => ({ set: s })) },
  { weight: 1, arbitrary: fc.record({ cpl }).map((s) => ({ set: s })) },
  { weight: 1, arbitrary: fc.record({ va: address }).map((v) => ({ invlpg: v })) },
  { weight: 1, arbitrary: invpcidStep },
  { weight: 1, arbitrary: fc.record({ pcid: opt(pcid), noflush: opt(fc.boolean()) }).map((v) => ({ mov_cr3: v })) },
);

const randomExpect = fc.record({
  outcome: opt(fc.constantFrom('ok', 'fault', 'killed', 'error')),
  faults: opt(fc.array(fc.record({ vector: opt(fc.constantFrom(8, 11, 13, 14)), error_code: opt(fc.integer({ min: 0, max: 0x3f })), cr2: opt(address) }, { requiredKeys: [] }), { maxLength: 3 })),
  value: opt(fc.nat()),
  tlb: opt(fc.constantFrom('hit', 'miss')),
  page: opt(fc.record({ present: opt(fc.boolean()), dirty: opt(fc.boolean()), pfn: opt(fc.nat()) }, { requiredKeys: [] })),
}, { requiredKeys: [] });

// --- data mutations -------------------------------------------------------------------------

type Mutation =
  | { kind: 'insert'; at: number; step: Record<string, unknown> }
  | { kind: 'replaceArg'; at: number; key: number; value: ArgValue }
  | { kind: 'expect'; at: number; expect: unknown }
  | { kind: 'dup' | 'drop'; at: number; to: number }
  | { kind: 'shuffle'; keys: number[] }
  | { kind: 'top'; key: 'kernel' | 'machine' | 'seed'; value: unknown };

/** A replacement for each kind of field; `applyMutation` picks by the field's name (or junk, 1 in 10). */
const argValue = fc.record({
  address, mapFlags, level, cpl, junk, useJunk: fc.nat({ max: 9 }),
  vector: fc.integer({ min: 0, max: 255 }), ist: fc.integer({ min: 0, max: 7 }), bool: fc.boolean(),
  size: fc.constantFrom<unknown>(1, 2, 4, 8, '4k', '2m', '1g'), kind: fc.constantFrom('read', 'write', 'exec', 'interrupt', 'trap'),
});
type ArgValue = typeof argValue extends fc.Arbitrary<infer T> ? T : never;

function valueFor(key: string, v: ArgValue): unknown {
  if (v.useJunk === 0) return v.junk;
  if (/^(va|pa|offset|rsp0|ist\d|value)$/.test(key)) return v.address;
  if (/flags|^set$|^clear$/.test(key)) return v.mapFlags;
  if (key === 'level') return v.level;
  if (key === 'cpl') return v.cpl;
  if (key === 'vector') return v.vector;
  if (key === 'ist' || key === 'dpl') return v.ist % 4;
  if (key === 'size') return v.size;
  if (key === 'access' || key === 'type') return v.kind;
  if (key.includes('.') || key === 'present' || key === 'noflush' || key === 'implicit') return v.bool;
  return v.address;
}
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), step: randomStep }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replaceArg' as const), at: fc.nat(), key: fc.nat(), value: argValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expect' as const), at: fc.nat(), expect: randomExpect }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('dup' as const, 'drop' as const), at: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shuffle' as const), keys: fc.array(fc.nat(), { maxLength: MAX_STEPS }) }) },
  { weight: 1, arbitrary: fc.record({
    kind: fc.constant('top' as const),
    key: fc.constantFrom('kernel' as const, 'machine' as const, 'seed' as const),
    value: fc.oneof(fc.constantFrom('bare', ['bare', 'bare'], 'nope', 'linux-6.18', [], 3), fc.record({ maxphyaddr: fc.integer({ min: 30, max: 60 }), tlb: opt(fc.record({ sets: fc.constantFrom(1, 2, 16, 3, 8192), ways: fc.integer({ min: 0, max: 70 }) })) })),
  }) },
);

function applyMutation(data: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const steps = Array.isArray(data.steps) ? [...(data.steps as unknown[])] : [];
  const i = steps.length === 0 || !('at' in m) ? 0 : m.at % steps.length;
  switch (m.kind) {
    case 'insert': steps.splice(m.at % (steps.length + 1), 0, m.step); break;
    case 'dup': if (steps.length) steps.splice(m.to % (steps.length + 1), 0, steps[i]); break;
    case 'drop': steps.splice(i, 1); break;
    case 'shuffle': {
      const order = steps.map((s, k) => ({ s, key: m.keys[k] ?? k }));
      order.sort((a, b) => a.key - b.key);
      steps.splice(0, steps.length, ...order.map((o) => o.s));
      break;
    }
    case 'replaceArg': {
      const step = steps[i] as Record<string, unknown> | undefined;
      if (!step || typeof step !== 'object') break;
      const op = Object.keys(step).find((k) => !['expect', 'note', 'proc'].includes(k));
      const args = op ? step[op] : undefined;
      if (!op || !args || typeof args !== 'object') break;
      const keys = Object.keys(args);
      const key = keys[m.key % Math.max(1, keys.length)] ?? 'va';
      steps[i] = { ...step, [op]: { ...(args as object), [key]: valueFor(key, m.value) } };
      break;
    }
    case 'expect': if (steps[i]) steps[i] = { ...(steps[i] as object), expect: m.expect }; break;
    case 'top': return { ...data, [m.key]: m.value };
  }
  return { ...data, steps: steps.slice(0, MAX_STEPS) };
}

// --- text mutations -------------------------------------------------------------------------

type TextMutation = TextEdit;
const TEXT_BITS = ['{', '}', '[', ']', ':', ', ', '- ', '#', '0x', 'buf', '  ', '\n', 'access: ', 'va: ', 'expect: ', '&a ', '*a', '"', '~'];
const textMutation = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'replace', 'dupLine', 'dropLine'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 12 }),
  text: fc.oneof(fc.constantFrom(...TEXT_BITS), fc.string({ maxLength: 6 })),
}) as fc.Arbitrary<TextMutation>;

// --- the property ---------------------------------------------------------------------------

/** A hang or a runaway blow-up fails here; speed itself is not tested (npm run bench measures it). */
const HANG_GUARD = { timeout: 300_000 };

const stats = { inputs: 0, scenarioErrors: 0, runs: 0, steps: 0, faults: 0, killed: 0, slowestMs: 0 };

/** Parse and run `text`; fail with the input if anything but the two allowed endings happens. */
function check(text: string, traced: boolean): void {
  const start = performance.now();
  stats.inputs++;
  const lines = text.split('\n').length;
  try {
    const s = parseScenario(text, 'fuzz.yaml');
    const runs = runScenario(s, { trace: traced });
    stats.runs++;
    for (const r of runs) {
      assert.equal(r.results.length, s.steps.length);
      checkResults(r.results);
      if (traced) {
        assert.equal(r.events.filter((e) => e.ev === 'step').length, s.steps.length);
        assert.ok(renderRun(r).includes('# results\n'));
      }
    }
  } catch (e) {
    if (!(e instanceof ScenarioError)) {
      throw new Error(`not a ScenarioError: ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${text.slice(0, 4000)}`, { cause: e });
    }
    stats.scenarioErrors++;
    // Only the runner's kernel check has no line: it is about the whole file (or the CLI's --kernel).
    if (e.line === 0) assert.ok(e.path === '' || e.path === 'kernel', `no line for ${e.format()}`);
    else assert.ok(e.line >= 1 && e.line <= lines + 1, `line ${e.line} outside 1..${lines + 1}: ${e.format()}`);
    assert.ok(e.message.trim().length > 0);
  } finally {
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - start);
  }
}

function checkResults(results: ReturnType<typeof runScenario>[number]['results']): void {
  let stopped = false;
  results.forEach((x, k) => {
    stats.steps++;
    assert.equal(x.step, k + 1);
    assert.ok(OUTCOMES.has(x.outcome), `outcome ${x.outcome}`);
    if (stopped) assert.ok(x.outcome === 'error' && /^not run: /.test(x.message ?? ''), `step ${x.step} ran after a shutdown`);
    if (x.outcome === 'error' || x.outcome === 'killed') assert.ok((x.message ?? '').length > 0, 'an error without a message');
    if (x.outcome === 'killed') {
      stopped = true;
      stats.killed++;
    }
    if (x.outcome === 'fault' || x.outcome === 'killed') assert.ok((x.faults ?? []).length > 0, 'a fault without a fault record');
    for (const f of x.faults ?? []) {
      stats.faults++;
      assert.match(f.cr2, /^0x[0-9a-f]+$/);
      if (f.vector !== 14) continue;
      // SDM Vol. 3 §4.7: the model produces P, W/R, U/S, RSVD, I/D and PK only; RSVD and PK
      // are set only on present entries (P=1); a fetch is never a write and has no PK.
      assert.equal(f.error_code & ~0x3f, 0, `#PF error code 0x${f.error_code.toString(16)}`);
      if (f.error_code & 0x28) assert.ok(f.error_code & 1, `RSVD/PK without P: 0x${f.error_code.toString(16)}`);
      if (f.error_code & 0x10) assert.equal(f.error_code & 0x22, 0, `fetch with W or PK: 0x${f.error_code.toString(16)}`);
    }
  });
}

const style = fc.constantFrom<'block' | 'flow'>('block', 'flow');

test('mutated example scenarios parse and run to a ScenarioError or to well-formed results', HANG_GUARD, () => {
  fc.assert(fc.property(
    fc.nat({ max: SEED_DATA.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }), style, fc.array(textMutation, { maxLength: 2 }), fc.boolean(),
    (seed, ms, st, tms, traced) => {
      const data = ms.reduce(applyMutation, SEED_DATA[seed]!);
      const text = tms.reduce(mutate, stringifyYaml(data, { collectionStyle: st }));
      check(text, traced && ms.length % 4 === 0);
    },
  ), { numRuns: 1500 });
});

test('scenarios made only of random steps run to well-formed results', HANG_GUARD, () => {
  fc.assert(fc.property(fc.array(randomStep, { minLength: 1, maxLength: 40 }), fc.boolean(), (steps, cpl3) => {
    const prefix = cpl3 ? [{ map: { as: 'buf', va: '0x7f0000000000', flags: ['p', 'rw', 'us'] } }, { set: { cpl: 3 } }] : [];
    check(stringifyYaml({ name: 'random', steps: [...prefix, ...steps] }), false);
  }), { numRuns: 1200 });
});

test('random text mutations of the examples end cleanly', HANG_GUARD, () => {
  fc.assert(fc.property(fc.constantFrom(...SEED_TEXTS), fc.array(textMutation, { minLength: 1, maxLength: 6 }), (text, tms) => {
    check(tms.reduce(mutate, text), false);
  }), { numRuns: 800 });
});

test('the fuzzers reached every ending', (t) => {
  // stats.slowestMs is a diagnostic only: a hang fails HANG_GUARD, and speed is the bench's business.
  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.runs > 500 && stats.scenarioErrors > 100, JSON.stringify(stats));
  assert.ok(stats.faults > 1000 && stats.killed > 0, JSON.stringify(stats));
});

// --- the CLI --------------------------------------------------------------------------------

test('random command lines: exit 0, 1 or 2, and never a stack trace or an internal error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-fuzz-'));
  const cwd = process.cwd();
  // Commander's `help` derives its exit code from process.exitCode, which node:test sets to 1
  // once any test has failed: keep the ambient value out of this property.
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  process.chdir(dir); // a stray relative --out lands here, not in the repository
  try {
    const failing = join(dir, 'failing.yaml');
    writeFileSync(failing, 'name: f\nsteps:\n  - set: {cpl: 3}\n    expect: {outcome: fault}\n');
    const files = [...EXAMPLES.slice(0, 3), failing, join(ROOT, 'test/fixtures/scenarios/process-ops.yaml'), join(dir, 'missing.yaml'), dir, join(ROOT, 'package.json')];
    const codes = new Map<number, number>();
    // Random strings may be options too, but none that could be an --out (-o, -fo…, --out=…).
    const noOut = fc.string({ maxLength: 12 }).filter((s) => !(s.startsWith('-') && /o/i.test(s)));
    const token = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('--kernel', '-k', '--format', '-f', '--no-trace', '--color', '--json', '--help', '-h', '--out', '-o', '-V', '--', '-') },
      { weight: 3, arbitrary: fc.constantFrom(...files) },
      { weight: 2, arbitrary: fc.constantFrom('text', 'json', 'jsonl', 'perfetto', 'xml', 'bare', 'nope', 'linux-6.18', 'bare,bare', '') },
      { weight: 2, arbitrary: fc.oneof(fc.integer().map(String), fc.nat().map((n) => `0x${n.toString(16)}`), fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String), fc.constantFrom('0x6', '2560', '8e00', 'ffff', '0x', '-1')) },
      { weight: 2, arbitrary: noOut },
    );
    const command = fc.constantFrom('run', 'run', 'run', 'kernels', 'demo', 'explain-error', 'decode-idt-entry', 'help', '--help', '--version', 'frobnicate', '');
    const argv = fc.tuple(command, fc.array(token, { maxLength: 7 })).map(([c, rest]) =>
      [c, ...rest].flatMap((t) => (t === '--out' || t === '-o' ? [t, join(dir, 'out.txt')] : [t])));
    await fc.assert(fc.asyncProperty(argv, async (args) => {
      const io = captureIo();
      const code = await main(args, io);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      const what = `argv ${JSON.stringify(args)} -> ${code}\n${io.stderr.slice(0, 2000)}`;
      assert.ok(code === 0 || code === 1 || code === 2, what);
      assert.ok(!io.stderr.includes('internal error'), what);
      assert.doesNotMatch(io.stderr, /^ {4}at /m, what);
      if (code === 2) assert.ok(io.stderr.length > 0, `exit 2 without a message: ${what}`);
    }), {
      numRuns: 300,
      examples: [[['run', failing]], [['run', files[0]!, '--format', 'perfetto']], [['demo']], [['run', dir]], [['decode-idt-entry', '2560']]],
    });
    t.diagnostic(`exit codes: ${JSON.stringify([...codes].sort())}`);
    assert.ok([0, 1, 2].every((c) => (codes.get(c) ?? 0) > 0), 'every exit code was reached');
    assert.deepEqual(readdirSync(dir).filter((f) => f !== 'out.txt' && f !== 'failing.yaml'), [], 'only --out wrote a file');
  } finally {
    process.exitCode = exitCode;
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
