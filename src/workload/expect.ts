// `expect:` in a scenario step: a partial StepResult that the actual result must match.
// Only the fields written are compared, recursively; lists compare element by element and
// must have the same length. Numbers are compared by value whatever their spelling, so
// `cr2: 0x7f0000000000` (a YAML integer) matches the result's "0x7f0000000000", and
// `error_code: "0x6"` matches 6.
import * as z from 'zod';
import type { StepResult } from './result.js';
import { describeValue } from './scenario/errors.js';
import { parseLiteral } from './scenario/expr.js';
import { bad, bool, leaf, oneOf, str, strict } from './scenario/values.js';

/** An integer, or a string holding one in hex or decimal, as a bigint mod 2^64. */
export function numericValue(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt.asUintN(64, BigInt(v)) : undefined;
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v !== 'string') return undefined;
  const n = parseLiteral(v);
  return typeof n === 'bigint' ? n : undefined;
}

/** Lenient about spelling: an integer or a numeric string, kept as written for messages. */
const num = () => leaf('a number', (v) =>
  numericValue(v) !== undefined ? (v as number | bigint | string) : bad(`expected a number (or a string like "0x1000"); got ${describeValue(v)}`)).optional();

const text = () => str().optional();
const flag = () => bool().optional();

const fault = strict({ vector: num(), error_code: num(), cr2: num() });
const walk = strict({ level: text(), index: num(), entry: num(), flags: text() });
const signal = strict({ signo: num(), name: text(), code: num(), addr: num(), trapno: num(), err: num() });
const page = strict({
  present: flag(), writable: flag(), user: flag(), nx: flag(), pfn: num(),
  zero_page: flag(), accessed: flag(), dirty: flag(),
});

const machException = strict({ type: num(), code: num(), subcode: num() });

/** The schema of `expect:`: every StepResult field, all optional. */
export const expectSchema = strict({
  kernel: text(),
  step: num(),
  proc: text(),
  op: text(),
  outcome: oneOf(['ok', 'fault', 'signal', 'error', 'killed']).optional(),
  value: num(),
  pa: num(),
  faults: z.array(fault).optional(),
  walk: z.array(walk).optional(),
  tlb: oneOf(['hit', 'miss']).optional(),
  signal: signal.optional(),
  errno: text(),
  ret: num(),
  minflt: num(),
  majflt: num(),
  page: page.optional(),
  mach_exception: machException.optional(),
  message: text(),
  log: z.array(str()).optional(),
});

export type Expect = z.output<typeof expectSchema>;

// Compile-time check that `expect:` knows exactly the fields a result has.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const _expectCoversResult: SameKeys<Expect, StepResult> = true;

export interface Mismatch {
  /** The field, e.g. `faults[0].error_code`. */
  path: string;
  expected: unknown;
  actual: unknown;
}

/** The fields of `expect` whose values `result` does not have; empty when it matches. */
export function matchExpect(expect: Expect | Readonly<Record<string, unknown>>, result: StepResult | Readonly<Record<string, unknown>>): Mismatch[] {
  const out: Mismatch[] = [];
  compare(expect, result, '', out);
  return out;
}

function compare(expected: unknown, actual: unknown, path: string, out: Mismatch[]): void {
  if (expected === undefined) return;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) out.push({ path, expected, actual });
    else expected.forEach((e, i) => compare(e, actual[i], `${path}[${i}]`, out));
    return;
  }
  if (isRecord(expected)) {
    if (!isRecord(actual)) out.push({ path, expected, actual });
    else for (const [k, e] of Object.entries(expected)) compare(e, actual[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (!sameScalar(expected, actual)) out.push({ path, expected, actual });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Equal as written, or both numbers by value (mod 2^64, as registers are). */
function sameScalar(expected: unknown, actual: unknown): boolean {
  if (expected === actual) return true;
  const e = numericValue(expected);
  return e !== undefined && e === numericValue(actual);
}

/**
 * A readable diff, one block per mismatch:
 *   faults[0].error_code
 *     - expected 0x6
 *     + actual   0x7
 */
export function formatMismatches(mismatches: readonly Mismatch[], indent = ''): string {
  return mismatches.map((m) => [
    `${indent}${m.path || '(result)'}`,
    `${indent}  - expected ${show(m.expected, m.actual)}`,
    `${indent}  + actual   ${show(m.actual, m.expected)}`,
  ].join('\n')).join('\n');
}

/** `v` for a diff; a number shown next to a hex string is shown in hex too. */
function show(v: unknown, other: unknown): string {
  if (v === undefined) return '(absent)';
  const otherIsHex = typeof other === 'string' && /^0x/i.test(other);
  if ((typeof v === 'number' && Number.isSafeInteger(v) && otherIsHex) || typeof v === 'bigint') return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return v;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));
}
