// Address expressions: parsed at load time, evaluated at run time, 64-bit wrapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ExprSyntaxError, UnknownNameError, evalExpr, exprNames, parseExpr, parseLiteral,
} from '../../src/workload/scenario/expr.js';

const names = new Map<string, bigint>([
  ['buf', 0x7f0000000000n],
  ['stack', 0x7ffffffff000n],
  ['top', 0xfffffffffffff000n],
]);
const value = (text: string | number | bigint) => evalExpr(parseExpr(text), names);

test('literals: decimal, hex, octal, binary, units, separators', () => {
  const cases: [string, bigint][] = [
    ['4096', 4096n], ['0x1000', 0x1000n], ['0X1000', 0x1000n], ['0o17', 15n], ['0b101', 5n],
    ['4k', 4096n], ['4K', 4096n], ['2m', 2n << 20n], ['1g', 1n << 30n], ['0x10k', 0x4000n],
    ['0xffff_8000_0000_0000', 0xffff800000000000n], ['0xffffffffffffffff', 2n ** 64n - 1n],
  ];
  for (const [text, want] of cases) assert.equal(parseLiteral(text), want, text);
  for (const bad of ['', 'k', '4kb', '0x', '1__0', '_1', '0x1_', '12q', '0x10000000000000000', '17179869184g']) {
    assert.equal(typeof parseLiteral(bad), 'string', `${bad} should be rejected`);
  }
});

test('names, sums and differences', () => {
  assert.equal(value('buf'), 0x7f0000000000n);
  assert.equal(value('buf+4k'), 0x7f0000001000n);
  assert.equal(value('buf + 0x1000'), 0x7f0000001000n);
  assert.equal(value('stack-8'), 0x7fffffffeff8n);
  assert.equal(value('0x1000+0x10'), 0x1010n);
  assert.equal(value('buf+4k-8+2'), 0x7f0000000ffan);
  assert.equal(value('stack - buf'), 0xfffffff000n);
  assert.deepEqual(exprNames(parseExpr('buf+stack-4k')), ['buf', 'stack']);
  assert.deepEqual(parseExpr('buf+4k'), { text: 'buf+4k', terms: [{ sign: 1, name: 'buf' }, { sign: 1, value: 4096n }] });
});

test('results wrap to 64 bits, negative literals too', () => {
  assert.equal(value('top+0x1000'), 0n);
  assert.equal(value('top+0x2000'), 0x1000n);
  assert.equal(value('-8'), 2n ** 64n - 8n);
  assert.equal(value(-8), 2n ** 64n - 8n);
  assert.equal(value('0-1'), 2n ** 64n - 1n);
  assert.equal(value(0xffff800000000000n), 0xffff800000000000n);
  assert.equal(parseExpr(0xffff800000000000n).text, '0xffff800000000000');
});

test('syntax errors are ExprSyntaxErrors that quote the expression', () => {
  for (const bad of ['buf+', '+', '', 'buf++8', 'buf 8', 'buf*2', 'buf+4q', '(buf)', 'buf-', 'a.b', '0x10000000000000000']) {
    assert.throws(() => parseExpr(bad), (e: unknown) => {
      assert.ok(e instanceof ExprSyntaxError, `${bad}: ${String(e)}`);
      assert.ok(e.message.length > 0);
      return true;
    }, bad);
  }
  assert.throws(() => parseExpr('buf+'), /bad address expression "buf\+": expected a name or number after "\+"/);
  assert.throws(() => parseExpr('buf 8'), /expected \+ or - before "8"/);
  assert.throws(() => parseExpr(1.5), /expected an integer/);
  assert.throws(() => parseExpr('x'.repeat(1000)), /too long/);
});

test('an unknown name names itself and the known names, with a suggestion', () => {
  assert.throws(() => value('buf2+8'), (e: unknown) => {
    assert.ok(e instanceof UnknownNameError);
    assert.equal(e.unknown, 'buf2');
    assert.deepEqual(e.known, ['buf', 'stack', 'top']);
    assert.equal(e.message, 'unknown name "buf2" (did you mean "buf"?); known names: buf, stack, top');
    return true;
  });
  assert.throws(() => evalExpr(parseExpr('x'), () => undefined), /unknown name "x"; no names are defined yet/);
  assert.throws(() => evalExpr(parseExpr('x'), () => undefined, ['a', 'b']), /known names: a, b/);
  assert.equal(evalExpr(parseExpr('a+1'), (n) => (n === 'a' ? 41n : undefined)), 42n);
});

test('property: a sum of literals evaluates to their sum mod 2^64', () => {
  const lit = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), lit), { minLength: 1, maxLength: 6 }), (terms) => {
    const text = terms.map(([neg, v], i) => `${neg ? '-' : i > 0 ? '+' : ''}0x${v.toString(16)}`).join(' ');
    const want = terms.reduce((acc, [neg, v]) => (neg ? acc - v : acc + v), 0n);
    assert.equal(evalExpr(parseExpr(text), new Map()), BigInt.asUintN(64, want));
  }), { numRuns: 300 });
});
