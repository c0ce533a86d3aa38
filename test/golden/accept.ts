// `npm run accept`: rewrite the golden traces from the current model, after review.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT, renderAll } from './goldens.js';

let changed = 0;
for (const g of renderAll()) {
  const old = existsSync(g.file) ? readFileSync(g.file, 'utf8') : null;
  if (old === g.text) continue;
  writeFileSync(g.file, g.text);
  changed++;
  console.log(`${old === null ? 'new' : 'updated'}: ${relative(ROOT, g.file)}`);
}
console.log(changed === 0 ? 'golden traces unchanged' : `${changed} golden trace(s) written`);
