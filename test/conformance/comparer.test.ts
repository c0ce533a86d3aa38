// The harness itself: the scenario -> probe translation and the comparer, on hand-made host records
// and model results (no kernel runs here), so a comparer that stopped seeing disagreements fails.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StepResult } from '../../src/workload/result.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';
import { FrameIds, compareRuns, formatTable, hostResult, unobservableOnHost } from './compare.js';
import type { HostPage, HostStepRecord } from './host.js';
import { UntranslatableError, toProbe } from './translate.js';

const scenario = (steps: string) => parseScenario(`name: t\nsteps:\n${steps}`, 't.yaml');

describe('translate: scenario steps -> probe lines', () => {
  test('every process operation, addresses as NAME+OFF, a proc line when the process changes', () => {
    const s = scenario(`
  - mmap: {as: a, length: 8k, prot: rw, flags: [private, anonymous, populate]}
  - mmap: {addr: a-4k, length: 4k, prot: none, flags: [private, anonymous, fixed_noreplace, stack]}
  - write: {addr: a+0x10, size: 8, value: 0x4142}
  - fork: {as: c}
  - read: {addr: a - 8}
    proc: c
  - exec: {addr: 0xffffffffff600000}
    proc: c
  - exit:
    proc: c
  - mprotect: {addr: a, length: 4k, prot: r}
  - madvise: {addr: a, length: 4k, advice: dontneed}
  - mlock: {addr: a, length: 4k}
  - munlock: {addr: a, length: 4k}
  - munmap: {addr: a, length: 8k}
  - brk: {addr: brk0+4k}
`);
    const p = toProbe(s);
    assert.deepEqual(p.lines, [
      'mmap a 0x2000 rw private|populate', 'mmap _m1 0x1000 none private|noreplace|stack a-0x1000', 'write a+0x10 8 0x4142',
      'fork c', 'proc c', 'read a-0x8 1', 'exec 0xffffffffff600000', 'exit', 'proc main', 'mprotect a 0x1000 r',
      'madvise a 0x1000 dontneed', 'mlock a 0x1000', 'munlock a 0x1000', 'munmap a 0x2000', 'brk brk0+0x1000',
    ]);
    assert.deepEqual(p.lineOf, [0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14]);
  });

  test('what the probe cannot run is refused with the step\'s line', () => {
    assert.throws(() => toProbe(scenario('  - set: {cpl: 3}')), (e) => e instanceof UntranslatableError && /t.yaml:3: 'set' is a machine operation/.test(e.message));
    assert.throws(() => toProbe(scenario('  - exit:')), /main process cannot exit/);
    assert.throws(() => toProbe(scenario('  - read: {addr: a+b}')), /several names/);
    assert.throws(() => toProbe(scenario('  - file: {as: f, content: {host: /etc/hostname}}')), /pattern files only/);
    assert.throws(() => toProbe(scenario('  - mmap: {length: 4k, prot: r, flags: [private, anonymous], offset: 4k}')), /offset and open are for file mappings/);
  });

  test('files (issue 5): file, drop_caches, pread, and a file mapping with its offset and open mode', () => {
    const p = toProbe(scenario(`  - file: {as: f, size: 8k, content: "ab"}
  - file: {as: z, size: 4k}
  - mmap: {as: m, length: 4k, prot: r, flags: [shared], file: f, offset: 4k, open: r}
  - drop_caches: {}
  - pread: {file: f, offset: 2, size: 2}`));
    assert.deepEqual(p.lines, ['file f 0x2000 6162', 'file z 0x1000 -', 'mmap m 0x1000 r shared|file:f|off:0x1000|open:r', 'drop_caches', 'pread f 0x2 2']);
  });
});

const page = (p: Partial<HostPage>): HostPage => ({ present: true, swapped: false, file: false, exclusive: true, pfn: 0x1000n, pfnId: 1, zero: false, ...p });
const hrec = (step: number, r: Partial<HostStepRecord>): HostStepRecord => ({ step, line: '', proc: 'main', op: 'read', outcome: 'ok', minflt: 0, majflt: 0, page: null, ...r });
const mres = (step: number, r: Partial<StepResult>): StepResult => ({ kernel: 'linux-6.18', step, proc: 'main', op: 'read', outcome: 'ok', minflt: 0, majflt: 0, ...r });
const mpage = (present: boolean, pfn: string, zero = false) => ({ present, pfn, zero_page: zero, writable: false, user: true, nx: true, accessed: true, dirty: false });

// Host mapping at 0x7000_0000_0000, model mapping at 0x5000_0000_0000: addresses compare relative.
const H = 0x700000000000n;
const M = 0x500000000000n;
const COW = scenario(`
  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}
  - write: {addr: a, value: 1}
  - fork: {as: c}
  - write: {addr: a, value: 2}
    proc: c
  - write: {addr: a, value: 3}
  - read: {addr: a+0x10}
`);

function cowHost(): HostStepRecord[] {
  return [
    hrec(0, { op: 'mmap', ret: H, addr: H, page: page({ present: false, pfn: null, pfnId: null }) }),
    hrec(1, { op: 'write', addr: H, minflt: 1, page: page({ pfn: 0x111n }) }),
    hrec(2, { op: 'fork', minflt: null, majflt: null }),
    hrec(3, { op: 'proc', minflt: null, majflt: null }),
    hrec(4, { op: 'write', proc: 'c', addr: H, minflt: 1, page: page({ pfn: 0x222n }) }),
    hrec(5, { op: 'proc', minflt: null, majflt: null }),
    hrec(6, { op: 'write', addr: H, minflt: 1, page: page({ pfn: 0x111n }) }),
    hrec(7, { outcome: 'fault', addr: H + 0x10n, minflt: 0, page: page({ pfn: 0x111n }),
      signal: { signo: 11, name: 'SIGSEGV', code: 2, codeName: 'SEGV_ACCERR', addr: H + 0x10n, trapno: 14, err: 5, cr2: H + 0x10n } }),
  ];
}

function cowModel(): StepResult[] {
  return [
    mres(1, { op: 'mmap', ret: `0x${M.toString(16)}`, page: mpage(false, '0x0') }),
    mres(2, { op: 'write', minflt: 1, page: mpage(true, '0x31') }),
    mres(3, { op: 'fork', ret: '0x3e9' }),
    mres(4, { op: 'write', proc: 'c', minflt: 1, page: mpage(true, '0x40') }),
    mres(5, { op: 'write', minflt: 1, page: mpage(true, '0x31') }),
    mres(6, { outcome: 'signal', page: mpage(true, '0x31'), signal: { signo: 11, name: 'SIGSEGV', code: 2, addr: `0x${(M + 0x10n).toString(16)}`, trapno: 14, err: 5 } }),
  ];
}

const compare = (host: HostStepRecord[], model: StepResult[]) =>
  compareRuns({ scenario: COW, program: toProbe(COW), host, model, hostBrk0: 0x600000n });

describe('compareRuns', () => {
  test('the same facts at other addresses and other PFNs: no disagreement', () => {
    assert.deepEqual(compare(cowHost(), cowModel()), []);
  });

  test('each differing fact is one row with its file:line, step, host and model values', () => {
    const m = cowModel();
    m[3] = { ...m[3]!, minflt: 0, page: mpage(true, '0x31') }; // the child's write reused the parent's frame
    m[5] = { ...m[5]!, signal: { ...m[5]!.signal!, code: 1, addr: `0x${(M + 0x18n).toString(16)}`, err: 4 } };
    const rows = compare(cowHost(), m);
    assert.deepEqual(rows.map((r) => [r.where, r.step, r.fact]), [
      ['t.yaml:7', 4, 'minflt'], ['t.yaml:7', 4, 'page.frame'],
      ['t.yaml:10', 6, 'signal.code'], ['t.yaml:10', 6, 'signal.addr'], ['t.yaml:10', 6, 'signal.err'],
    ]);
    assert.equal(rows[1]!.host, 'frame #2 (first seen at step 4; pfn 0x222)');
    assert.equal(rows[1]!.model, 'frame #1 (first seen at step 2; pfn 0x31)');
    assert.equal(rows[3]!.host, `a+0x10 (0x${(H + 0x10n).toString(16)})`);
    assert.equal(rows[3]!.model, `a+0x10+0x8 (0x${(M + 0x18n).toString(16)})`);
    const table = formatTable(rows);
    assert.match(table.split('\n')[0]!, /^scenario\s+\| step\s+\| fact\s+\| host\s+\| model$/);
    assert.match(table, /t\.yaml:7 +\| 4 c: write a 1 0x2 +\| minflt +\| 1 +\| 0/);
  });

  test('outcome, errno, a missing signal and missing fault counts are disagreements', () => {
    const m = cowModel();
    m[1] = { ...m[1]!, outcome: 'error', errno: 'ENOMEM', minflt: undefined };
    m[5] = { ...m[5]!, outcome: 'ok', signal: undefined };
    const rows = compare(cowHost(), m).map((r) => `${r.step} ${r.fact}: ${r.host} / ${r.model}`);
    assert.deepEqual(rows, [
      '2 outcome: ok / error', '2 errno: - / ENOMEM', '2 minflt: 1 / (absent)',
      '6 outcome: signal / ok', '6 signal: SIGSEGV code 2 / (none)',
    ]);
  });

  test('placement: mmap results compare as distances from the previous mapping', () => {
    const s = scenario(`
  - mmap: {as: a, length: 4k, prot: rw, flags: [private]}
  - mmap: {as: b, length: 8k, prot: rw, flags: [private]}
`);
    const host = [hrec(0, { op: 'mmap', ret: H, addr: H }), hrec(1, { op: 'mmap', ret: H - 0x2000n, addr: H - 0x2000n })];
    const model = (d: bigint) => [mres(1, { op: 'mmap', ret: `0x${M.toString(16)}` }), mres(2, { op: 'mmap', ret: `0x${(M - d).toString(16)}` })];
    const run = (d: bigint) => compareRuns({ scenario: s, program: toProbe(s), host, model: model(d), hostBrk0: 0n });
    assert.deepEqual(run(0x2000n), []);
    assert.deepEqual(run(0x3000n).map((r) => [r.fact, r.host, r.model]), [
      ['ret', `previous mmap-0x2000 (0x${(H - 0x2000n).toString(16)})`, `previous mmap-0x3000 (0x${(M - 0x3000n).toString(16)})`],
    ]);
  });

  test('trapno and err of a SI_KERNEL signal that is not #GP are stale on the host and not compared', () => {
    const s = scenario('  - exec: {addr: 0xffffffffff600100}');
    const sig = { signo: 11, name: 'SIGSEGV', code: 0x80, addr: 0n, trapno: 14, err: 6 };
    const host = [hrec(0, { op: 'exec', outcome: 'fault', signal: { ...sig, codeName: 'SI_KERNEL', cr2: 0n } })];
    const model = [mres(1, { op: 'exec', outcome: 'signal', signal: { ...sig, addr: '0x0', trapno: 13, err: 0 } })];
    assert.deepEqual(compareRuns({ scenario: s, program: toProbe(s), host, model, hostBrk0: 0n }), []);
    host[0]!.signal!.trapno = 13;
    host[0]!.signal!.err = 0;
    model[0]!.signal!.trapno = 14;
    assert.deepEqual(compareRuns({ scenario: s, program: toProbe(s), host, model, hostBrk0: 0n }).map((r) => r.fact), ['signal.trapno']);
  });
});

describe('FrameIds', () => {
  test('ids by first appearance, 0 for the zero page; a frame seen again after its mappings went is a new page', () => {
    const f = new FrameIds();
    assert.equal(f.observe('main', 0x1000n, 0x77n, true, 1).id, 0);
    assert.equal(f.observe('main', 0x1000n, 0x50n, false, 2).id, 1);
    assert.equal(f.observe('main', 0x2000n, 0x51n, false, 3).id, 2);
    assert.equal(f.observe('main', 0x1000n, 0x50n, false, 4).id, 1, 'still mapped: the same page');
    f.drop('main', 0x1000n, 0x1000n);
    assert.equal(f.observe('main', 0x3000n, 0x50n, false, 5).id, 3, 'freed, then handed out again');
    f.fork('main', 'c');
    f.exit('main');
    assert.equal(f.observe('c', 0x2000n, 0x51n, false, 6).id, 2, 'the child still maps it');
  });
});

describe('host records as StepResults for expect:', () => {
  test('a fault is outcome signal; page fields the probe cannot see are refused', () => {
    const COW1 = COW.steps[5]!;
    const r = hostResult(cowHost()[7]!, COW1);
    assert.equal(r.outcome, 'signal');
    assert.equal(r.signal!.addr, `0x${(H + 0x10n).toString(16)}`);
    assert.deepEqual(unobservableOnHost({ outcome: 'ok', page: { present: true, writable: true }, walk: [] }), ['page.writable', 'walk']);
  });
});
