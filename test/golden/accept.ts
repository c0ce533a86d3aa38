// `npm run accept`: rewrite the golden traces from the current model, after review.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT, renderAll } from './goldens.js';

// `node --test dist/test/` runs every .js file under test/ as a test file, this one included: a
// test run must never rewrite what it checks. Only `npm run accept` passes --write.
if (process.argv.includes('--write')) accept();

function accept(): void {
  let changed = 0;
  for (const g of renderAll()) {
    const old = existsSync(g.file) ? readFileSync(g.file, 'utf8') : null;
    if (old === g.text) continue;
    writeFileSync(g.file, g.text);
    changed++;
    console.log(`${old === null ? 'new' : 'updated'}: ${relative(ROOT, g.file)}`);
  }
  console.log(changed === 0 ? 'golden traces unchanged' : `${changed} golden trace(s) written`);
}
