// `faultline decode-idt-entry`: the XNU article's #PF gate and bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../../src/cli/io.js';

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(['decode-idt-entry', ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** lldb `x/8hx` of XNU's IDT entry 14 (#PF), from the walkthrough of XNU's fault path. */
const XNU_PF_GATE = ['0x2560', '0x0008', '0x8e00', '0xc000', '0xf69b', '0xffff', '0x0000', '0x0000'];

test("the XNU dump: offset 0xfffff69bc0002560, selector 0x8, IST 0, interrupt gate, DPL 0, present", async () => {
  const r = await run(...XNU_PF_GATE);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, [
    'offset    0xfffff69bc0002560',
    'selector  0x8 (GDT index 1, RPL 0)',
    'IST       0 (no IST stack: RSP0 on a privilege change, else the current stack)',
    'type      0xe: 64-bit interrupt gate, clears IF on entry',
    'DPL       0',
    'present   yes',
    '',
  ].join('\n'));
});

test('words without 0x, and a pasted address column, decode the same', async () => {
  const bare = XNU_PF_GATE.map((w) => w.slice(2));
  assert.equal((await run(...bare)).stdout, (await run(...XNU_PF_GATE)).stdout);
  assert.equal((await run('0xffffff8000106000:', ...bare)).stdout, (await run(...XNU_PF_GATE)).stdout);
});

test('--json gives the fields', async () => {
  const r = await run('--json', ...XNU_PF_GATE);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    words: XNU_PF_GATE,
    offset: '0xfffff69bc0002560',
    selector: 8,
    ist: 0,
    type: 14,
    typeName: '64-bit interrupt gate',
    dpl: 0,
    present: true,
    notes: [],
  });
});

test('a user-callable trap gate on IST 1, not present, non-canonical, reserved bits set', async () => {
  // offset 0x1000, selector 0x33 (GDT index 6, RPL 3), attrs 0x6f01: P=0 DPL=3 type=0xF IST=1
  const r = await run('1000', '0033', '6f01', '0000', '0000', '0000', '0001', '0000');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^offset {4}0x1000$/m);
  assert.match(r.stdout, /^selector {2}0x33 \(GDT index 6, RPL 3\)$/m);
  assert.match(r.stdout, /^IST {7}1 \(TSS.IST1\)$/m);
  assert.match(r.stdout, /^type {6}0xf: 64-bit trap gate, leaves IF as it was$/m);
  assert.match(r.stdout, /^DPL {7}3 /m);
  assert.match(r.stdout, /^present {3}no /m);
  assert.match(r.stdout, /^note: W6\/W7 \(the reserved upper dword\) are not zero$/m);
  const nonCanonical = await run('0000', '0010', '8e00', '0000', '0000', '0001', '0000', '0000');
  assert.match(nonCanonical.stdout, /^note: offset is not canonical \(48-bit\): delivery would raise #GP$/m);
});

test('bad input: exit 2, the message names the word or count, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [XNU_PF_GATE.slice(0, 7), /^error: WORDS: expected 8 16-bit words .*, got 7$/m],
    [[...XNU_PF_GATE, '0x0000'], /got 9$/m],
    [[...XNU_PF_GATE.slice(0, 7), '0x10000'], /^error: W7 '0x10000' is over 0xffff$/m],
    [['0x2560', 'zz', ...XNU_PF_GATE.slice(2)], /^error: W1 'zz' is not hex: expected e.g. 0x8e00 or 8e00$/m],
    [[], /^error: missing required argument 'WORDS'$/m],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.ok(r.stderr.endsWith("see 'faultline decode-idt-entry --help'\n"), r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
});
