// `machine:` settings a kernel does not model are refused before anything runs, at the line and
// column where they are written, naming the kernels that do model them; settings a kernel models
// run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../src/workload/runner.js';
import { ScenarioError } from '../../src/workload/scenario/errors.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const scenario = (kernel: string, machine: string) => parseScenario(`name: s
kernel: ${kernel}
machine: {${machine}}
steps:
  - mmap: {as: a, length: 4k, prot: rw, flags: [private, anonymous]}
`, 'settings.yaml');

test('a Linux-only setting on XNU is an error at its place, naming the kernels that model it', () => {
  assert.throws(() => runScenario(scenario('xnu-11417', 'ram: 64m, swap: 16m')), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    assert.equal(e.line, 3);
    assert.equal(e.col, 27); // the value 16m
    assert.match(e.format(), /^settings\.yaml:3:27: machine\.swap: not modelled by xnu-11417; it is a setting of linux-6\.18, linux-5\.19: remove it or run on one of those$/);
    assert.equal(e.path, 'machine.swap');
    return true;
  });
});

test('ram on the bare lab (no OS, no allocator) is refused too; the hardware settings are for every kernel', () => {
  const bare = parseScenario('name: b\nkernel: bare\nmachine: {ram: 64m}\nsteps:\n  - set: {cpl: 3}\n', 'bare.yaml');
  assert.throws(() => runScenario(bare), /^bare\.yaml:3:16: machine\.ram: not modelled by bare; it is a setting of xnu-11417, linux-6\.18, linux-5\.19/);
  const [xnu] = runScenario(scenario('xnu-11417', 'ram: 64m, maxphyaddr: 40, tlb: {sets: 8, ways: 2}'), { trace: false });
  assert.equal(xnu!.results[0]!.outcome, 'ok');
  const [linux] = runScenario(scenario('linux-6.18', 'ram: 64m, swap: 16m, thp: madvise, pku: true, rlimit: {stack: 1m}, stack_guard_gap: 16'), { trace: false });
  assert.equal(linux!.results[0]!.outcome, 'ok');
});
