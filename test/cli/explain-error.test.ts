// `faultline explain-error`: the bit table, summary and Linux oops lines; bad CODEs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../../src/cli/io.js';

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(['explain-error', ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

test('0x6: user write to a not-present page, full output', async () => {
  const r = await run('0x6');
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, [
    '#PF error code 0x6 (6)',
    '',
    'bit  flag  Linux         value  meaning',
    '  0  P     X86_PF_PROT   0      not-present page',
    '  1  W/R   X86_PF_WRITE  1      write access',
    '  2  U/S   X86_PF_USER   1      user-mode access',
    '  3  RSVD  X86_PF_RSVD   0',
    '  4  I/D   X86_PF_INSTR  0',
    '  5  PK    X86_PF_PK     0',
    '  6  SS    X86_PF_SHSTK  0',
    '  7  HLAT  -             0',
    ' 15  SGX   X86_PF_SGX    0',
    '',
    '0x6: not-present page, write access, user-mode access',
    '',
    "Linux's oops (show_fault_oops, arch/x86/mm/fault.c) would say:",
    '  #PF: user write access in user mode',
    '  #PF: error_code(0x0006) - not-present page',
    '',
  ].join('\n'));
});

test('decimal and hex give the same answer', async () => {
  assert.equal((await run('6')).stdout, (await run('0x6')).stdout);
  assert.equal((await run('21')).stdout, (await run('0X15')).stdout);
});

test('0x15: user instruction fetch from a present (NX) page', async () => {
  const r = await run('0x15');
  assert.match(r.stdout, /^ {2}4 {2}I\/D +X86_PF_INSTR +1 +instruction fetch$/m);
  assert.match(r.stdout, /^0x15: protection violation on a present page, user-mode access, instruction fetch$/m);
  assert.match(r.stdout, /^ {2}#PF: user instruction fetch in user mode\n {2}#PF: error_code\(0x0015\) - permissions violation\n$/m);
});

test('0x7: user write to a present read-only page (COW or mprotect)', async () => {
  const r = await run('7');
  assert.match(r.stdout, /^0x7: protection violation on a present page, write access, user-mode access$/m);
  assert.match(r.stdout, /#PF: error_code\(0x0007\) - permissions violation/);
});

test('0x21: kernel read blocked by a protection key', async () => {
  const r = await run('0x21');
  assert.match(r.stdout, /^0x21: .*supervisor-mode access, protection-key violation$/m);
  assert.match(r.stdout, /#PF: supervisor read access in kernel mode\n {2}#PF: error_code\(0x0021\) - protection keys violation/);
});

test('bits the SDM does not define are reported', async () => {
  const r = await run('0x10106');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^unknown bits: 0x10100 \(bit 8, 16\), reserved in the SDM$/m);
  assert.doesNotMatch((await run('0x6')).stdout, /unknown/);
});

test('--json prints explainPfError\'s object', async () => {
  const r = await run('--json', '0x6');
  assert.equal(r.code, 0);
  const x = JSON.parse(r.stdout) as { code: number; summary: string; oops: string[]; unknownBits: number; bits: unknown[] };
  assert.equal(x.code, 6);
  assert.equal(x.summary, 'not-present page, write access, user-mode access');
  assert.deepEqual(x.oops, ['#PF: user write access in user mode', '#PF: error_code(0x0006) - not-present page']);
  assert.equal(x.unknownBits, 0);
  assert.equal(x.bits.length, 9);
});

test('bad CODEs: exit 2, the message names CODE and what was expected, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['zz'], /^error: CODE 'zz' is not a number: expected hex \(0x6\) or decimal \(6\)$/m],
    [['6.5'], /^error: CODE '6.5' is not a number/m],
    [['0x'], /^error: CODE '0x' is not a number/m],
    [['-1'], /^error: CODE '-1' is negative: expected 0 to 0xffffffff$/m],
    [['0x100000000'], /^error: CODE '0x100000000' is too large: expected 0 to 0xffffffff$/m],
    [['99999999999999999999999'], /is too large/],
    [[], /^error: missing required argument 'CODE'$/m],
    [['1', '2'], /^error: too many arguments for 'explain-error'/m],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.ok(r.stderr.endsWith("see 'faultline explain-error --help'\n"), r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
});

test('the largest code is accepted', async () => {
  const r = await run('0xffffffff');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^#PF error code 0xffffffff \(4294967295\)$/m);
});
