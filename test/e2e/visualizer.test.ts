// End-to-end test of the visualizer in a real browser: Debian's chromium (/usr/bin/chromium,
// installed by .ci/run) driven by playwright-core. Builds the static site with Vite's API when
// web/dist is missing or older than its sources, serves it from a local static server, picks the
// seed scenario, steps to the fault and checks what each view shows; then a bad scenario shows
// its error inline. Screenshots of the main views go to test-artifacts/e2e/ (gitignored). First
// render and one step are measured and printed (the targets: 1.5 s and 50 ms).

/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

declare global {
  interface Window {
    __faultline?: { readyAt?: number; lastStepMs?: number; steps: number };
  }
}

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const SITE = join(ROOT, 'web', 'dist');
const SHOTS = join(ROOT, 'test-artifacts', 'e2e');
const CHROMIUM = process.env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium';

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const f of readdirSync(path)) if (f !== 'dist' && f !== 'node_modules') t = Math.max(t, newestMtime(join(path, f)));
  return t;
}

async function ensureBuilt(): Promise<void> {
  const index = join(SITE, 'index.html');
  const sources = ['web/src', 'web/index.html', 'web/vite.config.ts', 'src', 'scenarios', 'package-lock.json'].map((p) => join(ROOT, p)).filter(existsSync);
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    ok({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/` });
  }));
}

/** `tsc -p web`, started first so that it runs while the browser works (the slowest part). */
let typecheck: Promise<string | null>;
let browser: Browser;
let page: Page;
let server: Server;
let url: string;
/** Milliseconds per cursor move, by kernel. */
const stepTimes: Record<string, number[]> = {};

before(async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  typecheck = new Promise((done) => {
    execFile(process.execPath, [tsc, '-p', join(ROOT, 'web')], { cwd: ROOT, encoding: 'utf8' }, (err, stdout) => done(err ? `${stdout}${err.message}` : null));
  });
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium)`);
  await ensureBuilt();
  ({ server, url } = await serve(SITE));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const text = (sel: string) => page.locator(sel).first().innerText();
/** SVG nodes have no innerText. */
const svgText = async (sel: string) => (await page.locator(sel).first().textContent()) ?? '';

/** Press a control key and wait until the page has re-rendered at a new cursor. */
async function press(key: string): Promise<void> {
  const before = await page.locator('.app').getAttribute('data-cursor');
  // The shortcuts are off while a form field has the focus (typing in the editor).
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press(key);
  try {
    await page.waitForFunction((b) => document.querySelector('.app')?.getAttribute('data-cursor') !== b, before, { timeout: 5000 });
  } catch (e) {
    throw new Error(`key ${key} did not move the cursor from ${before} (at "${await text('#current-event')}")`, { cause: e });
  }
  const ms = await page.evaluate(() => window.__faultline?.lastStepMs ?? NaN);
  const kernel = (await page.locator('.app').getAttribute('data-kernel')) ?? '?';
  (stepTimes[kernel] ??= []).push(ms);
}

async function stepUntil(pattern: RegExp, limit = 200): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (pattern.test(await text('#current-event'))) return;
    await press('ArrowRight');
  }
  assert.fail(`never reached an event matching ${pattern}`);
}

test('the page loads the seed scenario and measures its first render', async () => {
  await page.goto(url);
  await page.waitForSelector('.app[data-events]:not([data-events="0"])');
  const readyAt = await page.evaluate(() => window.__faultline?.readyAt ?? NaN);
  console.log(`e2e first render: ${readyAt.toFixed(0)} ms after navigation (target < 1500 ms)`);
  assert.ok(Number.isFinite(readyAt));
  const first = await page.locator('#example option').first().getAttribute('value');
  assert.match(first ?? '', /seed|bare-user-write/, 'the seed program comes first in the picker');
  await page.selectOption('#example', 'scenarios/bare-user-write.yaml');
  await page.waitForSelector('.app[data-kernel="bare"]');
  assert.equal(await page.locator('#scenario-error').count(), 0);
  assert.match(await text('#results'), /fault/);
});

test('bare seed: step to the fault and check the page walk, the registers and the PTE bits', async () => {
  await press('f'); // run to the next fault
  assert.match(await text('#position'), /step 4 \(access, line 15\)/);
  assert.match(await text('#current-event'), /#PF error_code=0x6 cr2=0x7f0000001000/);
  assert.match(await text('#explain'), /error code 0x6 says: not-present page, write access, user-mode access/);
  assert.match(await text('[data-view="regs"] .exc'), /#PF.*vector 14 error_code=0x6 cr2=0x7f0000001000/);
  assert.equal(await text('[data-view="regs"] tr[data-reg="cr2"] .val'), '0x7f0000001000');
  // The walk: PML4 -> PDPT -> PD -> PT[1], which is empty (drawn, marked as where the walk stopped).
  assert.equal(await page.locator('[data-view="pagetables"] .pt-node.on-walk').count(), 4);
  assert.match(await svgText('[data-view="pagetables"] .pt-node.walk-fault'), /PT\[0x001\].*empty/);
  assert.match(await text('[data-view="pagetables"] h2'), /walk stopped at PT: not-present/);
  // The PTE `map` wrote in step 1, with A and D set by the write of step 3, decoded bit by bit.
  const pte = page.locator('[data-view="pagetables"] .pt-node.written');
  assert.equal(await pte.getAttribute('data-pa'), '0x114000');
  await pte.click();
  assert.equal(await page.locator('.bits').getAttribute('data-entry'), '0x40000067');
  for (const f of ['P', 'R/W', 'U/S', 'A', 'D']) assert.match(await page.locator(`.bits tr[data-field="${f}"]`).first().innerText(), /\t1\t/);
  assert.match(await page.locator('.bits tr[data-field="PFN"]').innerText(), /0x40000000/);
  assert.match(await text('[data-view="tlb"] .tlb-result'), /miss 0x7f0000001000/);
  await page.screenshot({ path: join(SHOTS, 'fault-walk.png'), fullPage: true });
  await page.locator('[data-view="pagetables"]').screenshot({ path: join(SHOTS, 'page-tables.png') });
});

test('bare seed: the delivery, the gate it took, the pushed frame, the counters', async () => {
  await stepUntil(/^\/\* deliver/);
  const gate = page.locator('[data-view="idt"] .gate-taken');
  assert.equal(await gate.getAttribute('data-vector'), '14');
  assert.match(await gate.innerText(), /64-bit interrupt gate, offset 0xffffffff810000e0, selector 0x10, IST 0.*DPL 0, present/);
  assert.equal(await page.locator('[data-view="idt"] tr.hl').getAttribute('data-vector'), '14');
  const word = (w: string) => text(`[data-view="stack"] tr[data-what="${w}"] .val`);
  assert.equal(await word('SS'), '0x2b');
  assert.equal(await word('RSP'), '0x7ffffffde000');
  assert.equal(await word('RFLAGS'), '0x202');
  assert.equal(await word('CS'), '0x33');
  assert.equal(await word('RIP'), '0x401000');
  assert.match(await text('[data-view="stack"]'), /error code 0x6: not-present page, write access, user-mode access/);
  assert.match(await text('[data-view="stack"] h2'), /TSS\.RSP0: 0x7ffffffde000 → 0xffffc90000004000/);
  assert.match(await text('[data-view="stack"]'), /not available for this kernel \(bare\)/);
  assert.match(await text('[data-view="aspace"]'), /not available for this kernel \(bare\)/);
  const counter = (n: string) => text(`[data-view="counters"] tr[data-counter="${n}"] .val`);
  assert.equal(await counter('exceptions (#PF)'), '1');
  assert.equal(await counter('deliveries'), '1');
  assert.equal(await counter('pte writes'), '1');
  assert.equal(await counter('tlb miss'), '5');
  assert.equal(await text('[data-view="regs"] tr[data-reg="cs"] .val'), '0x10');
  await page.screenshot({ path: join(SHOTS, 'delivery.png'), fullPage: true });
  await page.locator('[data-view="stack"]').screenshot({ path: join(SHOTS, 'stack.png') });
  await page.locator('[data-view="idt"]').screenshot({ path: join(SHOTS, 'idt.png') });
  // Step back by replay, then to the end.
  const at = Number(await page.locator('.app').getAttribute('data-cursor'));
  await press('ArrowLeft');
  assert.equal(Number(await page.locator('.app').getAttribute('data-cursor')), at - 1);
  assert.equal(await page.locator('[data-view="idt"] .gate-taken').count(), 1);
  await press('End');
  assert.match(await text('#current-event'), /# step 5 done: ok/);
  assert.match(await text('[data-view="tlb"] .tlb-result'), /hit 0x7f0000000000/);
});

/** The example scenarios whose kernel is an OS model this build has, seeds first. */
async function osExamples(): Promise<{ file: string; kernel: string }[]> {
  const kernels = await page.locator('#kernel option:not([disabled])').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const files = await page.locator('#example option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const out: { file: string; kernel: string }[] = [];
  for (const file of files) {
    const kernel = kernels.find((k) => k !== 'bare' && file.includes(`/${k.split('-')[0]!}`));
    if (kernel && /seed/.test(file)) out.push({ file, kernel });
  }
  return out;
}

test('the seed program on each OS kernel in this build: call stack with source links, gate, frames, new PTE', async () => {
  const list = await osExamples();
  assert.ok(list.length >= 2, `expected the Linux and XNU seed scenarios among the examples; found ${list.length}`);
  for (const { file } of list) {
    await page.selectOption('#example', file);
    await page.waitForFunction(() => Number(document.querySelector('.app')?.getAttribute('data-events')) > 0);
    const kernel = (await page.locator('.app').getAttribute('data-kernel'))!;
    await press('f');
    assert.match(await text('[data-view="regs"] .exc'), /#PF.*vector 14 error_code=0x/, `${kernel}: the fault`);
    // Into the kernel: the first function the exception entered, with a link to its source.
    for (let i = 0; i < 60 && (await page.locator('[data-view="callstack"] ol.frames li').count()) === 0; i++) await press('i');
    const link = await page.locator('[data-view="callstack"] a.srclink').first().getAttribute('href');
    assert.match(link ?? '', kernel.startsWith('linux')
      ? new RegExp(`^https://elixir\\.bootlin\\.com/linux/v${kernel.slice(6).replace('.', '\\.')}/source/`)
      : /^https:\/\/github\.com\/apple-oss-distributions\/xnu\/blob\/xnu-11417\.121\.6\//, `${kernel}: source link`);
    assert.equal(await page.locator('[data-view="idt"] .gate-taken').getAttribute('data-vector'), '14', `${kernel}: gate`);
    for (const w of ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP', 'error code']) assert.equal(await page.locator(`[data-view="stack"] tr.cpu[data-what="${w}"]`).count(), 1, `${kernel}: pushed ${w}`);
    await page.screenshot({ path: join(SHOTS, `${kernel}-entry.png`), fullPage: true });
    // Run through the kernel's handler to the end of the faulting step: the new PTE is drawn.
    await press('n');
    await press('ArrowLeft');
    assert.match(await text('#current-event'), /# step \d+ done: ok/, `${kernel}: the faulting step ends ok`);
    assert.ok(Number(await text('[data-view="counters"] tr[data-counter="pte writes"] .val')) >= 1, `${kernel}: pte writes`);
    assert.equal(await page.locator('[data-view="pagetables"] .pt-node.written').count(), 1, `${kernel}: the new PTE`);
    const layout = kernel.startsWith('linux') ? 'struct pt_regs' : 'x86_saved_state64';
    assert.equal(await page.locator(`[data-view="stack"] table.saved-frame[data-struct="${layout}"]`).count(), 1, `${kernel}: ${layout}`);
    // The address space from the kernel's own objects: the mapping the store faulted on.
    const vma = page.locator('[data-view="aspace"] table.vmas tr.hl');
    assert.equal(await vma.count(), 1, `${kernel}: the VMA / vm_map entry of the access`);
    if (kernel.startsWith('xnu')) {
      assert.ok((await page.locator('[data-view="aspace"] svg.rbtree .rb-node:not(.nil)').count()) >= 2, 'xnu: the red-black tree');
      assert.match(await vma.innerText(), /object: id=\d+ .*ref_count=1 resident_page_count=1/, 'xnu: the entry\'s VM object after a zero fill');
    } else {
      assert.match(await vma.innerText(), /read write/, `${kernel}: vm_flags`);
      assert.match(await text('[data-view="frames"] h2'), /zero page pfn 0x/, `${kernel}: the zero page`);
    }
    assert.doesNotMatch(await text('.views'), /could not be rebuilt|did not reach/);
    await page.screenshot({ path: join(SHOTS, `${kernel}-after-fault.png`), fullPage: true });
    // The same scenario on the other family's kernel, side by side, at the faulting step.
    const other = (await page.locator('#compare-kernel option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)))
      .find((k) => k !== '' && k.split('-')[0] !== kernel.split('-')[0]);
    if (other) {
      await page.selectOption('#compare-kernel', other);
      await page.waitForSelector(`[data-view="compare"] .cmp-col[data-kernel="${other}"]`);
      const cols = page.locator('[data-view="compare"] .cmp-col');
      assert.deepEqual(await cols.evaluateAll((cs) => cs.map((c) => c.getAttribute('data-kernel'))), [kernel, other]);
      for (const [k, fn] of [[kernel, kernel.startsWith('linux') ? 'handle_mm_fault' : 'vm_fault'], [other, other.startsWith('linux') ? 'handle_mm_fault' : 'vm_fault']] as const) {
        assert.match(await text(`[data-view="compare"] .cmp-col[data-kernel="${k}"]`), new RegExp(`#14 ec=0x6[\\s\\S]*\\b${fn}\\b`), `${k} beside: ${fn}`);
      }
      await page.locator('[data-view="compare"]').screenshot({ path: join(SHOTS, `${kernel}-vs-${other}.png`) });
    }
  }
});

test('a bad scenario shows its error inline, with the line and column from the parser', async () => {
  await page.selectOption('#example', 'scenarios/bare-user-write.yaml');
  await page.waitForSelector('.app[data-kernel="bare"]');
  const src = await page.locator('#scenario-text').inputValue();
  await page.locator('#scenario-text').fill(src.replace('access: {va: buf+4k, access: write', 'access: {va: buf+4k, access: wrte'));
  const err = page.locator('#scenario-error');
  await err.waitFor();
  assert.equal(await err.getAttribute('data-line'), '15');
  assert.match(await err.innerText(), /line 15, col \d+: .*steps\[3\]\.access\.access.*wrte/s);
  assert.equal(await page.locator('.gutter .err').innerText(), '15');
  await page.locator('.editor-wrap').screenshot({ path: join(SHOTS, 'editor-error.png') });
  await page.locator('#scenario-text').fill('name: x\nkernel: bare\nsteps:\n  - mmap: {addr: 0x1000, length: 4k, prot: rw, flags: [private, anonymous]}\n');
  await page.waitForFunction(() => !/wrte/.test(document.querySelector('#scenario-error')?.textContent ?? ''));
  assert.match(await err.innerText(), /'mmap' cannot run on bare/);
  assert.equal(await page.locator('#scenario-error').getAttribute('data-line'), '4');
  // A file opened from disk is read as text and parsed as data: its error names the file.
  const mine = 'name: mine\nsteps:\n  - access: {va: 0x1000, acces: read}\n';
  await page.setInputFiles('#open-file', { name: 'mine.yaml', mimeType: 'text/yaml', buffer: Buffer.from(mine) });
  await page.waitForFunction(() => /mine\.yaml:3:/.test(document.querySelector('#scenario-error')?.textContent ?? ''));
  assert.match(await err.innerText(), /unknown field "acces"; did you mean "access"\?/);
});

test('the page measures one step (a cursor move: replay, read the machine, render)', () => {
  assert.ok((stepTimes['bare'] ?? []).length >= 10);
  for (const [kernel, times] of Object.entries(stepTimes)) {
    const ok = times.filter(Number.isFinite).sort((a, b) => a - b);
    const median = ok[Math.floor(ok.length / 2)]!;
    console.log(`e2e step on ${kernel}: median ${median.toFixed(1)} ms, max ${ok[ok.length - 1]!.toFixed(1)} ms over ${ok.length} steps (target < 50 ms)`);
  }
});

test('the visualizer type-checks (web/tsconfig.json: DOM, JSX, and the model it bundles)', async () => {
  const failure = await typecheck;
  assert.equal(failure, null, `tsc -p web failed:\n${failure}`);
});
