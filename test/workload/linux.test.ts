// The linux-5.19 / linux-6.18 sessions through the runner: registration, every process op,
// signals handle vs default, fork/exit bookkeeping, results that do not depend on tracing, and
// determinism.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findKernel, PLANNED_KERNELS } from '../../src/workload/kernels.js';
import { runScenario } from '../../src/workload/runner.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const scenario = (body: string) => parseScenario(body, 'linux.yaml');

const EVERY_OP = `name: every process op
kernel: [linux-6.18, linux-5.19]
steps:
  - mmap: {as: buf, length: 12k, prot: rw, flags: [private, anonymous]}
  - write: {addr: buf, size: 8, value: 0x1122334455667788}
  - read: {addr: buf+2, size: 2}
    expect: {outcome: ok, value: 0x5566}
  - mprotect: {addr: buf+4k, length: 4k, prot: r}
    expect: {outcome: ok, ret: 0}
  - madvise: {addr: buf, length: 4k, advice: dontneed}
    expect: {outcome: ok}
  - read: {addr: buf, size: 8}
    expect: {outcome: ok, value: 0, page: {zero_page: true}}
  - mlock: {addr: buf+8k, length: 4k}
    expect: {outcome: ok, page: {present: true}}
  - munlock: {addr: buf+8k, length: 4k}
    expect: {outcome: ok}
  - brk: {addr: brk0+4k}
    expect: {outcome: ok, ret: 0x406000}
  - getentropy: {addr: buf+8k, length: 16}
    expect: {outcome: ok, ret: 16, minflt: 0}
  - fork: {as: kid}
    expect: {outcome: ok, ret: 1001}
  - exec: {addr: 0xffffffffff600800}
    proc: kid
    expect: {outcome: ok}
  - exit: {code: 3}
    proc: kid
    expect: {outcome: ok}
  - munmap: {addr: buf, length: 12k}
    expect: {outcome: ok}
  - read: {addr: buf}
    expect: {outcome: signal, signal: {code: 1}}
`;

test('linux-5.19 and linux-6.18 are registered, no longer planned', () => {
  for (const name of ['linux-5.19', 'linux-6.18']) {
    const k = findKernel(name);
    assert.ok(k, name);
    assert.ok(k.ops.includes('mmap') && k.ops.includes('exec') && k.ops.includes('fork'));
    assert.equal(PLANNED_KERNELS[name], undefined);
  }
});

test('every process op runs and meets its expectations on both versions', () => {
  for (const run of runScenario(scenario(EVERY_OP))) {
    assert.deepEqual(run.failed, [], `${run.kernel}: ${JSON.stringify(run.failed)}`);
    assert.equal(run.results.length, 15);
  }
});

test('results are the same with tracing off, and the same run to run', () => {
  const s = scenario(EVERY_OP);
  const traced = runScenario(s, { kernels: ['linux-6.18'] })[0]!;
  const untraced = runScenario(s, { kernels: ['linux-6.18'], trace: false })[0]!;
  const again = runScenario(s, { kernels: ['linux-6.18'] })[0]!;
  assert.deepEqual(untraced.results, traced.results);
  assert.deepEqual(again.events, traced.events);
  assert.equal(untraced.events.length, 0);
});

test('signals: handle skips the instruction and goes on; default kills the process and its later steps fail', () => {
  const body = (signals: string) => `name: s
kernel: linux-6.18
signals: ${signals}
steps:
  - fork: {as: kid}
  - read: {addr: 0}
    proc: kid
  - read: {addr: 0}
    proc: kid
  - mmap: {length: 4k, prot: r, flags: [private, anonymous]}
`;
  const h = runScenario(scenario(body('handle')))[0]!;
  assert.deepEqual(h.results.map((r) => r.outcome), ['ok', 'signal', 'signal', 'ok']);
  const d = runScenario(scenario(body('default')))[0]!;
  assert.deepEqual(d.results.map((r) => r.outcome), ['ok', 'signal', 'error', 'ok']);
  assert.match(d.results[1]!.message!, /pid 1001 killed by SIGSEGV \(core dumped\)/);
  assert.match(d.results[2]!.message!, /process 'kid' has exited/);
  assert.match(d.results[1]!.log![0]!, /^a\.out\[1001\]: segfault at 0 ip 0000000000401000 sp 00007fffffffe000 error 4/);
});

test('fork: the child starts with its own fault counters; a write by either side is one COW fault', () => {
  const s = scenario(`name: f
kernel: [linux-6.18, linux-5.19]
steps:
  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}
  - write: {addr: a, value: 1}
  - fork: {as: c}
  - write: {addr: a, value: 2}
    proc: c
    expect: {outcome: ok, minflt: 1, faults: [{vector: 14, error_code: 7}]}
  - read: {addr: a}
    expect: {outcome: ok, value: 1, minflt: 0}
`);
  for (const run of runScenario(s)) assert.deepEqual(run.failed, [], run.kernel);
});

test('a process op on a dead or unknown process is a step error naming it', () => {
  const r = runScenario(scenario(`name: x
kernel: linux-6.18
steps:
  - read: {addr: 0}
    proc: ghost
`))[0]!;
  assert.equal(r.results[0]!.outcome, 'error');
  assert.match(r.results[0]!.message!, /linux\.yaml:4:\d+: no process 'ghost'/);
});

test('a RAM too small to boot is every step\'s error, not a crash; a small one runs out of memory cleanly', () => {
  const tiny = runScenario(scenario(`name: r
kernel: linux-6.18
machine: {ram: 64k}
steps:
  - read: {addr: 0}
`))[0]!;
  assert.equal(tiny.results[0]!.outcome, 'error');
  assert.match(tiny.results[0]!.message!, /^machine\.ram: 64 KiB of RAM is too little to boot Linux/);
  const small = runScenario(scenario(`name: r
kernel: linux-6.18
machine: {ram: 1m}
steps:
  - mmap: {as: a, length: 2m, prot: rw, flags: [private, anonymous, populate]}
  - fork: {as: c}
  - write: {addr: a+1m, value: 1}
`))[0]!;
  // Out of memory with no swap: reclaim frees nothing and the OOM killer (mm/oom_kill.c) kills the
  // largest process with SIGKILL; nothing crashes.
  for (const r of small.results) {
    assert.ok(['ok', 'error'].includes(r.outcome) || (r.outcome === 'signal' && r.signal?.name === 'SIGKILL'), JSON.stringify(r));
  }
  const killed = small.results.find((r) => r.outcome === 'signal');
  if (killed) assert.ok(small.results.some((r) => r.log?.some((l) => l.startsWith('Out of memory: Killed process'))), JSON.stringify(small.results));
});
