// madvise names that exist on one kernel only: XNU's MADV_ZERO / MADV_FREE_REUSABLE /
// MADV_FREE_REUSE run on xnu-11417 and are EINVAL on Linux (madvise_behavior_valid() knows no such
// advice); the same scenario text runs on both.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../src/workload/runner.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';

const SCENARIO = `name: xnu-only advice
kernel: [xnu-11417, linux-6.18, linux-5.19]
steps:
  - mmap: {as: buf, length: 8k, prot: rw, flags: [private, anonymous]}
  - write: {addr: buf, size: 8, value: 0x1122334455667788}
  - madvise: {addr: buf, length: 4k, advice: zero}
  - read: {addr: buf, size: 8}
  - madvise: {addr: buf, length: 8k, advice: free_reusable}
  - madvise: {addr: buf, length: 8k, advice: free_reuse}
`;

test('MADV_ZERO zeroes the page on XNU; Linux refuses XNU-only advice with EINVAL and keeps the data', () => {
  const [xnu, ...linux] = runScenario(parseScenario(SCENARIO, 'advice.yaml'), { trace: false });
  assert.deepEqual(xnu!.results.map((r) => r.outcome), ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  assert.equal(xnu!.results[3]!.value, '0x0', 'MADV_ZERO: the page reads as zeros');
  for (const run of linux) {
    assert.deepEqual([2, 4, 5].map((i) => run.results[i]!.errno), ['EINVAL', 'EINVAL', 'EINVAL'], run.kernel);
    assert.equal(run.results[3]!.value, '0x1122334455667788', `${run.kernel}: nothing was zeroed`);
  }
});
