// `faultline run`, `kernels` and `demo`, driven in-process through main(): each output format
// parses and says what the run did, --out writes a file, and every kind of bad input is exit 2
// with a positioned message and no stack trace; a failed expectation is exit 1 with a diff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = join(ROOT, 'scenarios', 'bare-user-write.yaml');
const TRIPLE = join(ROOT, 'scenarios', 'bare-triple-fault.yaml');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** A scratch directory for scenario files and --out, removed after `fn`. */
async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-run-test-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A user mistake: exit 2, nothing on stdout, the message, and no stack trace. */
function assertUsage(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.match(r.stderr, /see 'faultline run --help'\n$/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.doesNotMatch(r.stderr, /internal error/);
}

test('text: a header, the trace, and one results row per step', async () => {
  const r = await cli('run', DEMO);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^# faultline: user write to a not-present page \(bare machine\) on bare \(.*bare-user-write\.yaml\)\n/);
  assert.match(r.stdout, /\/\* walk fault at PT: not-present error_code=0x6 \*\//);
  const table = r.stdout.slice(r.stdout.indexOf('# results\n'));
  assert.deepEqual(table.split('\n').slice(1, 7).map((l) => l.trim().split(/\s+/).slice(0, 3)), [
    ['step', 'op', 'outcome'], ['1', 'map', 'ok'], ['2', 'set', 'ok'], ['3', 'access', 'ok'], ['4', 'access', 'fault'], ['5', 'access', 'ok'],
  ]);
  assert.match(table, /^ {2}4 +access +fault +#PF error_code=0x6 cr2=0x7f0000001000 \(not-present page, write access, user-mode access\) tlb=miss$/m);
});

test('--no-trace prints the results only; a killed step and the steps not run are rows too', async () => {
  const r = await cli('run', TRIPLE, '--no-trace');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /walk|deliver/);
  assert.match(r.stdout, /^ {2}5 +access +killed +#PF error_code=0x6 .* #DF error_code=0x0 .*triple fault: the processor shut down$/m);
  assert.match(r.stdout, /^ {2}6 +access +error +not run: the machine stopped at step 5/m);
});

test('--format json: runs[0] has the scenario, results and events', async () => {
  const r = await cli('run', DEMO, '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runs: { scenario: string; kernel: string; results: { step: number; outcome: string; faults?: { error_code: number; cr2: string }[] }[]; failed: unknown[]; events: { ev: string }[] }[] };
  assert.equal(out.runs.length, 1);
  const run = out.runs[0]!;
  assert.equal(run.kernel, 'bare');
  assert.deepEqual(run.results.map((x) => x.outcome), ['ok', 'ok', 'ok', 'fault', 'ok']);
  assert.deepEqual(run.results[3]!.faults, [{ vector: 14, error_code: 6, cr2: '0x7f0000001000' }]);
  assert.deepEqual(run.failed, []);
  assert.equal(run.events.filter((e) => e.ev === 'step').length, 5);
});

test('--format jsonl: every line is JSON, events then one result per step', async () => {
  const r = await cli('run', DEMO, '-f', 'jsonl');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.endsWith('\n'));
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { ev: string; step?: number; outcome?: string });
  const results = lines.filter((l) => l.ev === 'result');
  assert.deepEqual(results.map((l) => [l.step, l.outcome]), [[1, 'ok'], [2, 'ok'], [3, 'ok'], [4, 'fault'], [5, 'ok']]);
  assert.deepEqual(lines.slice(-5), results, 'results come last');
  assert.ok(lines.some((l) => l.ev === 'exception'));
});

test('--format perfetto: a Chrome trace whose B/E slices balance on every track', async () => {
  const r = await cli('run', DEMO, '--format', 'perfetto');
  assert.equal(r.code, 0, r.stderr);
  const trace = JSON.parse(r.stdout) as { traceEvents: { ph: string; tid: number; name: string }[] };
  const depth = new Map<number, string[]>();
  for (const e of trace.traceEvents) {
    const open = depth.get(e.tid) ?? [];
    if (e.ph === 'B') open.push(e.name);
    if (e.ph === 'E') assert.equal(open.pop(), e.name, `E without a matching B on track ${e.tid}`);
    depth.set(e.tid, open);
  }
  for (const [tid, open] of depth) assert.deepEqual(open, [], `unclosed slices on track ${tid}`);
  assert.ok(trace.traceEvents.some((e) => e.ph === 'B' && e.name === 'bare_handler'));
});

test('--out writes the output to a file and nothing to stdout', async () => {
  await inTmp(async (dir) => {
    const out = join(dir, 'results.json');
    const r = await cli('run', DEMO, '--format', 'json', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const data = JSON.parse(readFileSync(out, 'utf8')) as { runs: unknown[] };
    assert.equal(data.runs.length, 1);
  });
});

test('--out to a path that cannot be written is exit 2', async () => {
  await inTmp(async (dir) => {
    assertUsage(await cli('run', DEMO, '--out', join(dir, 'no', 'such', 'dir', 'x.txt')), /^error: --out '.*x\.txt': cannot write: ENOENT\n/);
  });
});

test('several files: one run each, in order', async () => {
  const r = await cli('run', DEMO, TRIPLE, '--no-trace');
  assert.equal(r.code, 0, r.stderr);
  const heads = r.stdout.split('\n').filter((l) => l.startsWith('# faultline: '));
  assert.equal(heads.length, 2);
  assert.match(heads[0]!, /bare-user-write\.yaml/);
  assert.match(heads[1]!, /bare-triple-fault\.yaml/);
});

test('a bad scenario file is exit 2 with file:line:col and the field', async () => {
  await inTmp(async (dir) => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['name: bad', 'steps:', '  - map: {va: 0x1000, flags: [p, rw]}', '  - access: {va: 0x1000, access: poke}', ''].join('\n'));
    const r = await cli('run', bad);
    assertUsage(r, new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: steps\\[1\\]\\.access\\.access: expected one of read, write, exec; got "poke"\\n`));
  });
});

test('a failing expectation is exit 1: the output on stdout, a diff per mismatch on stderr', async () => {
  await inTmp(async (dir) => {
    const f = join(dir, 'wrong.yaml');
    writeFileSync(f, [
      'name: wrong expectation',
      'steps:',
      '  - map: {as: buf, va: 0x7f0000000000, flags: [p, rw, us]}',
      '  - access: {va: buf+4k, access: write, value: 1, cpl: 3}',
      '    expect: {outcome: fault, faults: [{vector: 14, error_code: 0x7}]}',
      '',
    ].join('\n'));
    const r = await cli('run', f, '--no-trace');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /# results\n/);
    assert.equal(r.stderr, [
      `${f}:4: step 2 on bare: expectation failed`,
      '  faults[0].error_code',
      // Error codes are numbers in results, so the diff shows them in decimal.
      '    - expected 7',
      '    + actual   6',
      '',
    ].join('\n'));
  });
});

test('--kernel: an unknown or planned kernel is exit 2 naming the available ones', async () => {
  assertUsage(await cli('run', DEMO, '--kernel', 'nope'), /^error: .*bare-user-write\.yaml: kernel: unknown kernel 'nope'; available: bare, .*linux-6\.18, linux-5\.19\n/);
  const ok = await cli('run', DEMO, '--kernel', 'bare', '--no-trace');
  assert.equal(ok.code, 0, ok.stderr);
});

test('a process operation on bare is exit 2 naming its line, before anything runs', async () => {
  await inTmp(async (dir) => {
    const f = join(dir, 'proc.yaml');
    writeFileSync(f, ['name: p', 'steps:', '  - set: {cpl: 3}', '  - mmap: {length: 4k, prot: rw, flags: [private, anonymous]}', ''].join('\n'));
    assertUsage(await cli('run', f), /proc\.yaml:4:\d+: .*'mmap' cannot run on bare: it is a process operation/);
  });
});

test('a missing file, a directory and a bad --format are exit 2', async () => {
  await inTmp(async (dir) => {
    assertUsage(await cli('run', join(dir, 'missing.yaml')), /missing\.yaml: cannot read the scenario: no such file \(ENOENT\)\n/);
    assertUsage(await cli('run', dir), /: is a directory, not a scenario file\n/);
  });
  assertUsage(await cli('run', DEMO, '--format', 'xml'), /^error: --format 'xml' is not one of text, json, jsonl, perfetto\n/);
  assertUsage(await cli('run'), /^error: missing required argument 'FILE'\n/);
});

test('kernels lists bare as available and the planned ones; --json parses', async () => {
  const r = await cli('kernels');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^bare +available +no OS/m);
  assert.match(r.stdout, /^linux-6\.18 +available +Linux 6\.18/m);
  assert.match(r.stdout, /^linux-5\.19 +available +Linux 5\.19/m);
  const j = await cli('kernels', '--json');
  const rows = JSON.parse(j.stdout) as { name: string; status: string; ops: string[] }[];
  assert.deepEqual(rows.find((k) => k.name === 'bare')?.ops, ['set', 'map', 'pte', 'invlpg', 'invpcid', 'mov_cr3', 'access', 'idt', 'tss']);
  assert.ok(rows.find((k) => k.name === 'linux-6.18')?.ops.includes('getentropy'));
});

test('demo prints the traced demo scenario, the same text as run', async () => {
  const demo = await cli('demo');
  assert.equal(demo.code, 0, demo.stderr);
  // The seed program on Linux 6.18 first: #PF through asm_exc_page_fault to do_anonymous_page and back.
  assert.match(demo.stdout, /^# faultline: the seed program .* on linux-6\.18 /m);
  assert.match(demo.stdout, /asm_exc_page_fault\(vector=14, cfunc=exc_page_fault, has_error_code=1\) \{/);
  assert.match(demo.stdout, /do_anonymous_page\(\) \{/);
  const linux = await cli('run', join(ROOT, 'scenarios', 'linux-seed.yaml'), '-k', 'linux-6.18');
  assert.ok(demo.stdout.startsWith(linux.stdout), 'the demo starts with the Linux 6.18 run');
});
