import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderAll } from './goldens.js';

for (const g of renderAll()) {
  test(`golden trace: ${g.scenario} on ${g.kernel}`, () => {
    assert.ok(existsSync(g.file), `no golden file ${g.file}: review the output and run \`npm run accept\``);
    const want = readFileSync(g.file, 'utf8');
    // A plain equality would print two huge strings; show the first differing line instead.
    if (want !== g.text) {
      const a = want.split('\n');
      const b = g.text.split('\n');
      const i = a.findIndex((l, k) => l !== b[k]);
      const at = i < 0 ? Math.min(a.length, b.length) : i;
      assert.fail(`${g.file}:${at + 1} differs\n- ${a[at] ?? '(end)'}\n+ ${b[at] ?? '(end)'}\nreview, then \`npm run accept\``);
    }
  });
}
