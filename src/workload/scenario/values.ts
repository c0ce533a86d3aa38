// The leaf types of the scenario language as zod schemas that write their own messages
// ("expected one of 4k, 2m, 1g; got \"3k\""), plus the error map for zod's built-in checks.
// Each leaf takes `unknown` and converts it, so a missing required field reaches the leaf too
// and gets a message that says what belonged there.
import * as z from 'zod';
import { describeValue, unknownFieldMessage } from './errors.js';
import { ExprSyntaxError, isName, parseExpr, parseLiteral, type Expr } from './expr.js';

/** What a leaf's converter returns for bad input: the message, without the location. */
export class Invalid {
  constructor(readonly message: string) {}
}

export function bad(message: string): Invalid {
  return new Invalid(message);
}

/** Where a custom issue should point: at the field's key (an unknown field) or its value. */
export interface IssueParams { at?: 'key' | 'value' }

/** A schema from a converter. `expected` completes "required field is missing (expected …)". */
export function leaf<T>(expected: string, convert: (v: unknown) => T | Invalid) {
  return z.unknown().transform((v, ctx): T => {
    const out = v === undefined ? bad(`required field is missing (expected ${expected})`) : convert(v);
    if (!(out instanceof Invalid)) return out;
    ctx.addIssue({ code: 'custom', message: out.message, input: v });
    return z.NEVER;
  });
}

/** A YAML integer (safe integers arrive as numbers, others as bigints) as a bigint. */
function asInteger(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return undefined;
}

export const str = () => leaf('a string', (v) => (typeof v === 'string' ? v : bad(`expected a string; got ${describeValue(v)}`)));

export const bool = () => leaf('true or false', (v) => (typeof v === 'boolean' ? v : bad(`expected true or false; got ${describeValue(v)}`)));

export function int(min: number, max: number) {
  const range = `an integer in ${min}..${max}`;
  return leaf(range, (v) => {
    const n = asInteger(v);
    return n !== undefined && n >= BigInt(min) && n <= BigInt(max) ? Number(n) : bad(`expected ${range}; got ${describeValue(v)}`);
  });
}

/** One of a fixed set of strings or numbers, compared exactly. */
export function oneOf<const T extends string | number>(values: readonly T[]) {
  const list = values.join(', ');
  return leaf(`one of ${list}`, (v) =>
    (values as readonly unknown[]).includes(v) ? (v as T) : bad(`expected one of ${list}; got ${describeValue(v)}`));
}

/** A name for `as:` and `proc:`, usable in address expressions. */
export const name = () => leaf('a name', (v) =>
  typeof v === 'string' && isName(v) ? v : bad(`expected a name (a letter or _, then letters, digits, _); got ${describeValue(v)}`));

/** An address expression, parsed now and evaluated when the step runs. */
export const expr = () => leaf('an address (a number, or a name like buf+0x10)', (v): Expr | Invalid => {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') {
    return bad(`expected an address (a number, or a name like buf+0x10); got ${describeValue(v)}`);
  }
  try {
    return parseExpr(v);
  } catch (e) {
    if (e instanceof ExprSyntaxError) return bad(e.message);
    throw e;
  }
});

/** A byte count: an integer or a string with an optional unit (`4096`, `0x1000`, `4k`, `2m`, `1g`). */
export function size(min: bigint) {
  const what = 'a size like 4096, 0x1000, 4k, 2m or 1g';
  return leaf(what, (v): bigint | Invalid => {
    const n = typeof v === 'string' ? parseLiteral(v) : asInteger(v);
    if (n === undefined) return bad(`expected ${what}; got ${describeValue(v)}`);
    if (typeof n === 'string') return bad(`expected ${what}; ${n}`);
    return n >= min ? n : bad(`expected ${what}, at least ${min}; got ${describeValue(v)}`);
  });
}

/** A 64-bit value: an integer or a numeric string (`0x8000000000000067`). */
export const u64 = () => leaf('a 64-bit integer', (v): bigint | Invalid => {
  const n = typeof v === 'string' ? parseLiteral(v) : asInteger(v);
  if (typeof n === 'bigint' && n >= 0n) return n;
  return bad(typeof n === 'string' ? n : `expected a 64-bit integer; got ${describeValue(v)}`);
});

/** A list of distinct strings from `values`. */
export function enumList<const T extends string>(values: readonly T[]) {
  return z.array(oneOf(values)).superRefine(noDuplicates);
}

/** A flag listed twice is almost always a typo for another flag. */
function noDuplicates<T>(items: readonly T[], ctx: z.RefinementCtx, keyOf: (x: T) => string = String): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `${key} is listed twice`, path: [i] });
    seen.add(key);
  });
}

/** A page-table entry flag: a named bit, a protection key, or an arbitrary bit by number. */
export type PteFlag =
  | { name: 'p' | 'rw' | 'us' | 'pwt' | 'pcd' | 'a' | 'd' | 'ps' | 'g' | 'xd' }
  | { name: 'pkey'; value: number }
  | { name: 'bit'; value: number };

export type PteFlagName = PteFlag['name'];

const PARAM_RANGE: Record<'pkey' | 'bit', number> = { pkey: 15, bit: 63 };

/** A list of PTE flags from `allowed`: plain names, or `pkey=N` (0..15) and `bit=N` (0..63). */
export function pteFlags(allowed: readonly PteFlagName[]) {
  const list = allowed.map((f) => (f === 'pkey' || f === 'bit' ? `${f}=N` : f)).join(', ');
  const flag = leaf(`one of ${list}`, (v): PteFlag | Invalid => {
    const m = typeof v === 'string' ? /^(pkey|bit)\s*=\s*(\d{1,3})$/.exec(v.trim().toLowerCase()) : null;
    if (m) {
      const kind = m[1] as 'pkey' | 'bit';
      const n = Number(m[2]);
      if (!allowed.includes(kind)) return bad(`expected one of ${list}; got ${describeValue(v)}`);
      return n <= PARAM_RANGE[kind] ? { name: kind, value: n } : bad(`${kind}=N needs N in 0..${PARAM_RANGE[kind]}; got ${n}`);
    }
    const plain = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
    const named = allowed.find((f) => f === plain && f !== 'pkey' && f !== 'bit');
    return named ? ({ name: named } as PteFlag) : bad(`expected one of ${list}; got ${describeValue(v)}`);
  });
  // Two pkey=N are a conflict whatever the Ns, so they share one key.
  return z.array(flag).superRefine((flags, ctx) => noDuplicates(flags, ctx, (f) => (f.name === 'pkey' ? 'pkey' : formatPteFlag(f))));
}

/** `rw`, `pkey=3`, `bit=52`: a flag as written. */
export function formatPteFlag(f: PteFlag): string {
  return 'value' in f ? `${f.name}=${f.value}` : f.name;
}

/** A mapping whose unknown fields are errors that suggest the closest known field. */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? unknownFieldMessage(String(iss.keys[0]), known) : undefined),
  });
}

/** Messages for zod's own checks (mappings and lists); the leaves above write their own. */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  const got = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      const what = iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : `a ${iss.expected}`;
      return got === undefined ? `required field is missing (expected ${what})` : `expected ${what}; got ${describeValue(got)}`;
    }
    case 'too_small':
      return iss.origin === 'array' ? `expected at least ${iss.minimum} item(s); got ${(got as unknown[]).length}` : undefined;
    case 'unrecognized_keys':
      return `unknown field ${JSON.stringify(iss.keys[0])}`;
    default:
      return undefined;
  }
};
