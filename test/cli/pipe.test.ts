// The real `faultline` binary writing into a pipe whose reader stops early (`| head`): it must end
// quietly (status 0, nothing on stderr), not with an unhandled EPIPE stack trace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

test('faultline run ... | head -c 10: no EPIPE trace, status 0', () => {
  // Two Linux scenarios as JSON are well over a pipe buffer (64 KiB), so the writer does hit EPIPE.
  const cmd = 'node bin/faultline.js run scenarios/linux-seed.yaml scenarios/linux-cow-fork.yaml --format json 2>stderr.log | head -c 10 >/dev/null; '
    + 'echo "status=${PIPESTATUS[0]}"; cat stderr.log; rm -f stderr.log';
  const r = spawnSync('bash', ['-c', cmd], { cwd: root, encoding: 'utf8' });
  assert.equal(r.stdout, 'status=0\n', `the CLI said: ${r.stdout}`);
});
