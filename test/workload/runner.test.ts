// The scenario runner, one decision per test: which kernels run, which operations are refused
// before anything runs, how a step's result is matched against its `expect`, what a user
// mistake found while running becomes, what a triple fault does to the steps after it, and that
// a run is a pure function of the scenario. Scenarios are written inline so each test shows the
// whole input; the last tests run every example in scenarios/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRun } from '../../src/cli/commands/run.js';
import { MemorySink, type TraceEvent } from '../../src/trace/events.js';
import { KERNELS } from '../../src/workload/kernels.js';
import { runScenario, type KernelRun } from '../../src/workload/runner.js';
import { ScenarioError } from '../../src/workload/scenario/errors.js';
import { loadScenarioFile, parseScenario } from '../../src/workload/scenario/parse.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIOS = join(ROOT, 'scenarios');

const scenario = (lines: string[], file = 'inline.yaml') => parseScenario(lines.join('\n') + '\n', file);

/** Run on the one kernel the scenario names and return that run. */
function runOne(lines: string[], file?: string): KernelRun {
  const runs = runScenario(scenario(lines, file));
  assert.equal(runs.length, 1);
  return runs[0]!;
}

/** Whatever `fn` throws, asserted to be a ScenarioError; returned for further checks. */
function scenarioError(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ScenarioError, nothing was thrown');
}

//   0x7f0000000000  buf   user rw page (pa 0x40000000)
//   0x7f0000001000        unmapped
const USER_PAGE = [
  'name: runner test',
  'steps:',
  '  - map: {as: buf, va: 0x7f0000000000, flags: [p, rw, us]}', // line 3
  '  - set: {cpl: 3}', // line 4
];

test('a step whose result matches its expect is not listed in failed', () => {
  const r = runOne([
    ...USER_PAGE,
    '  - access: {va: buf+4k, access: write, value: 1}',
    '    expect: {outcome: fault, faults: [{vector: 14, error_code: 0x6, cr2: 0x7f0000001000}]}',
  ]);
  assert.deepEqual(r.failed, []);
  assert.equal(r.results[2]!.outcome, 'fault');
  assert.deepEqual(r.results[2]!.faults, [{ vector: 14, error_code: 6, cr2: '0x7f0000001000' }]);
});

test('failed expectations name the step, its line and each mismatching field path', () => {
  const r = runOne([
    ...USER_PAGE,
    '  - access: {va: buf, access: write, value: 0x41}', // line 5, step 3
    '    expect: {outcome: ok, value: 0x42, tlb: miss}',
    '  - access: {va: buf+4k, access: read}', // line 7, step 4
    '    expect:',
    '      outcome: fault',
    '      faults: [{vector: 14, error_code: 0x6, cr2: 0x7f0000001000}]',
    '      page: {present: true}',
    '  - access: {va: buf, access: read}', // line 12, step 5: matches
    '    expect: {outcome: ok, value: 0x41, tlb: hit}',
    '  - access: {va: buf, access: read}', // line 14, step 6: list length differs
    '    expect: {faults: [{vector: 14}]}',
  ]);
  assert.deepEqual(r.failed.map((f) => [f.step, f.line]), [[3, 5], [4, 7], [6, 14]]);
  assert.deepEqual(r.failed[0]!.mismatches, [{ path: 'value', expected: 0x42, actual: '0x41' }]);
  // A read, not a write: bit 1 of the error code differs; the page is not present.
  assert.deepEqual(r.failed[1]!.mismatches.map((m) => [m.path, m.actual]), [['faults[0].error_code', 4], ['page.present', false]]);
  assert.deepEqual(r.failed[2]!.mismatches.map((m) => [m.path, m.actual]), [['faults', undefined]]);
});

test('a process operation on the bare kernel is refused before anything runs, naming its line', () => {
  const s = scenario([
    'name: process op on bare',
    'kernel: bare',
    'steps:',
    '  - map: {va: 0x400000, flags: [p, us]}',
    '  - mmap: {as: buf, length: 4k, prot: rw, flags: [private, anonymous]}', // line 5
  ], 'proc.yaml');
  const sink = new MemorySink();
  const e = scenarioError(() => runScenario(s, { sink }));
  assert.equal(e.file, 'proc.yaml');
  assert.equal(e.line, 5);
  assert.match(e.message, /'mmap' cannot run on bare: it is a process operation and needs an OS kernel; bare runs set, map, pte/);
  assert.match(e.format(), /^proc\.yaml:5:\d+: /);
  assert.deepEqual(sink.events, [], 'no step ran');
});

test('an unknown kernel and a planned kernel are refused with the list of available kernels', () => {
  const available = KERNELS.map((k) => k.name).join(', ');
  const s = scenario(['name: k', 'kernel: nope', 'steps:', '  - set: {cpl: 3}']);
  const unknown = scenarioError(() => runScenario(s));
  assert.equal(unknown.message, `unknown kernel 'nope'; available: ${available}`);
  assert.equal(unknown.path, 'kernel');

  // Every planned kernel has landed; a machine operation on an OS kernel is refused by name.
  const onLinux = scenarioError(() => runScenario(s, { kernels: ['linux-6.18'] }));
  assert.match(onLinux.message, /^'set' cannot run on linux-6\.18: kernel linux-6\.18 does not run it; linux-6\.18 runs mmap, /);

  // The CLI's choice overrides the scenario's (here, a bad one) in both directions.
  assert.equal(runScenario(s, { kernels: ['bare'] })[0]!.kernel, 'bare');
});

test('a scenario without kernel: runs on bare', () => {
  const runs = runScenario(scenario(USER_PAGE));
  assert.deepEqual(runs.map((r) => r.kernel), ['bare']);
});

test('an unknown name in an address is an error outcome with file:line, and later steps still run', () => {
  const r = runOne([
    ...USER_PAGE,
    '  - access: {va: bfu+8, access: read}', // line 5, step 3
    '    expect: {outcome: error}',
    '  - access: {va: buf, access: write, value: 7}', // line 7, step 4
    '    expect: {outcome: ok, value: 7}',
  ], 'names.yaml');
  assert.deepEqual(r.failed, []);
  const err = r.results[2]!;
  assert.equal(err.outcome, 'error');
  assert.match(err.message ?? '', /^names\.yaml:5:\d+: unknown name "bfu" \(did you mean "buf"\?\); known names: buf$/);
  assert.equal(r.results[3]!.outcome, 'ok');
});

test('a failed map step leaves the frame allocator as it was (the next map gets the first data frame)', () => {
  const r = runOne([
    'name: failed map',
    'steps:',
    '  - map: {va: 0x0000800000000000, flags: [p, rw, us]}',
    '  - map: {va: 0x7f0000000001, flags: [p, rw, us]}',
    '  - map: {va: 0x7f0000000000, flags: [p, rw, us]}',
  ]);
  assert.deepEqual(r.results.map((x) => x.outcome), ['error', 'error', 'ok']);
  assert.match(r.results[0]!.message ?? '', /not a canonical address/);
  assert.match(r.results[1]!.message ?? '', /must be 4k-aligned/);
  assert.equal(r.results[2]!.pa, '0x40000000');
});

test('idt and tss after the lab\'s own tables were unmapped are error outcomes, not crashes', () => {
  //   PML4 entry for 0xfffffe0000000000 (IDT, GDT, TSS) zeroed: the lab cannot find its pages.
  const r = runOne([
    'name: unmapped IDT',
    'steps:',
    '  - pte: {va: 0xfffffe0000000000, level: pml4, raw: 0}',
    '  - idt: {vector: 14, type: trap}', // line 4
    '  - tss: {rsp0: 0xffffc90000004000}', // line 5
  ], 'lab.yaml');
  assert.deepEqual(r.results.map((x) => x.outcome), ['ok', 'error', 'error']);
  assert.match(r.results[1]!.message ?? '', /^lab\.yaml:4:\d+: no table maps 0xfffffe0000000000 at level pt/);
  assert.match(r.results[2]!.message ?? '', /^lab\.yaml:5:\d+: no table maps 0xfffffe0000002000 at level pt/);
});

test('after a triple fault the machine is stopped: the step is killed and every later step is an error, not run', () => {
  //   TSS.RSP0 and TSS.IST1 point at unmapped stacks: #PF -> #PF on push -> #DF -> #PF on IST1.
  const r = runOne([
    ...USER_PAGE,
    '  - tss: {rsp0: 0xffffc90000008000, ist1: 0xffffc9000000a000}',
    '  - access: {va: buf+4k, access: write, value: 1}', // step 4
    '  - access: {va: buf, access: read}',
    '  - set: {cpl: 0}',
  ]);
  assert.equal(r.results[3]!.outcome, 'killed');
  assert.deepEqual(r.results[3]!.faults?.map((f) => f.vector), [14, 14, 8, 14]);
  for (const later of r.results.slice(4)) {
    assert.equal(later.outcome, 'error');
    assert.equal(later.message, 'not run: the machine stopped at step 4 (triple fault: the processor shut down)');
  }
  // Nothing ran after the shutdown: the last events are the two later steps' markers.
  const shutdownAt = r.events.findIndex((e) => e.ev === 'shutdown');
  assert.deepEqual(r.events.slice(shutdownAt + 1).map((e) => e.ev), ['step_end', 'step', 'step_end', 'step', 'step_end']);
});

test('trace: false keeps no events but gives the same results; an extra sink sees every event', () => {
  const s = scenario([...USER_PAGE, '  - access: {va: buf+4k, access: write, value: 1}']);
  const traced = runScenario(s)[0]!;
  const untraced = runScenario(s, { trace: false })[0]!;
  assert.deepEqual(untraced.events, []);
  assert.deepEqual(untraced.results, traced.results);
  const sink = new MemorySink();
  const both = runScenario(s, { sink })[0]!;
  assert.deepEqual(sink.events, both.events);
  assert.ok(traced.events.length > 50);
});

test('step markers carry the step number, op and source line', () => {
  const r = runOne(USER_PAGE);
  const steps = r.events.filter((e): e is Extract<TraceEvent, { ev: 'step' }> => e.ev === 'step');
  assert.deepEqual(steps.map((e) => [e.step, e.op, e.line, e.kernel, e.proc]), [[1, 'map', 3, 'bare', 'main'], [2, 'set', 4, 'bare', 'main']]);
});

test('determinism: the same scenario run twice gives identical events, results and text', () => {
  for (const name of ['bare-double-fault.yaml', 'bare-pcid.yaml', 'bare-la57.yaml']) {
    const s = loadScenarioFile(join(SCENARIOS, name));
    const a = runScenario(s);
    const b = runScenario(loadScenarioFile(join(SCENARIOS, name)));
    assert.deepEqual(a, b, name);
    assert.equal(renderRun(a[0]!), renderRun(b[0]!), name);
    // The same Scenario object twice: running must not mutate it.
    assert.deepEqual(runScenario(s), a, name);
  }
});

test('interrupt gate vs trap gate: only the interrupt gate clears IF (bare-trap-gate.yaml)', () => {
  const r = runScenario(loadScenarioFile(join(SCENARIOS, 'bare-trap-gate.yaml')))[0]!;
  const delivers = r.events.filter((e): e is Extract<TraceEvent, { ev: 'deliver' }> => e.ev === 'deliver');
  // Step 3: interrupt gate from CPL 3; step 11: trap gate; step 14: interrupt gate with IST3.
  assert.deepEqual(delivers.map((d) => [d.ifCleared, d.rsp]), [
    [true, '0xffffc90000003fd0'],
    [false, '0xffffc90000003fd0'],
    [true, '0xfffffe0000012fd0'],
  ]);
});

const examples = readdirSync(SCENARIOS).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

test('there are example scenarios, and each one has expectations', () => {
  assert.ok(examples.length >= 16, examples.join(', '));
  for (const name of examples) {
    const s = loadScenarioFile(join(SCENARIOS, name));
    assert.ok(s.steps.some((step) => step.expect !== undefined), `${name} has no expect:`);
    assert.ok(s.description, `${name} has no description:`);
  }
});

for (const name of examples) {
  test(`example scenario ${name}: every expectation holds`, () => {
    for (const r of runScenario(loadScenarioFile(join(SCENARIOS, name)))) {
      assert.deepEqual(r.failed, [], `${name} on ${r.kernel}`);
      assert.equal(r.results.length, r.results.filter((x) => ['ok', 'fault', 'signal', 'error', 'killed'].includes(x.outcome)).length);
    }
  });
}
