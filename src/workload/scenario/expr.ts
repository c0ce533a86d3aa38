// Address expressions: `0x7f0000000000`, `buf`, `buf+4k`, `stack - 8`, `0x1000+0x10`.
// Parsed when the scenario is loaded (so typos are reported with their line before anything
// runs) and evaluated when the step runs, when the names (`mmap: {as: buf}`) have values.
// Arithmetic is on 64-bit unsigned values and wraps, like the registers it stands for.

import { closestName } from './errors.js';

/** One `+name`, `-name` or `+literal` term of a sum. */
export type ExprTerm = { sign: 1 | -1; name: string } | { sign: 1 | -1; value: bigint };

export interface Expr {
  /** The expression as written, for messages and traces. */
  text: string;
  terms: readonly ExprTerm[];
}

/** A malformed expression or literal; the caller adds the file position. */
export class ExprSyntaxError extends Error {
  override name = 'ExprSyntaxError';
}

/** A name used in an expression that nothing defined (yet). */
export class UnknownNameError extends Error {
  override name = 'UnknownNameError';
  constructor(readonly unknown: string, readonly known: readonly string[]) {
    super(unknownNameMessage(unknown, known));
  }
}

const UNITS: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n };
const U64 = 1n << 64n;
/** Longer literals are refused before BigInt() sees them: 64 bits is 20 decimal digits. */
const MAX_LITERAL_CHARS = 80;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^(0x[0-9a-f](?:_?[0-9a-f])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*|[0-9](?:_?[0-9])*)([kmg]?)$/i;
// A term is a run of name/number characters; operators and spaces separate terms.
const TOKEN = /\s*(?:([+-])|([A-Za-z0-9_]+))\s*/y;

/** True for a valid name for `as:`, `proc:` and expressions. */
export function isName(s: string): boolean {
  return NAME.test(s);
}

/**
 * An integer literal with an optional binary unit (`4096`, `0x1000`, `0o17`, `0b101`, `4k`,
 * `2M`, `1g`, `0xffff_8000_0000_0000`), or an error message saying why it is not one.
 */
export function parseLiteral(text: string): bigint | string {
  const t = text.trim();
  if (t.length > MAX_LITERAL_CHARS) return `number is too long (${t.length} characters)`;
  const m = LITERAL.exec(t);
  if (!m) return `expected a number like 4096, 0x1000 or 4k; got ${JSON.stringify(t)}`;
  const digits = m[1]!.replaceAll('_', '');
  const value = BigInt(digits) * UNITS[m[2]!.toLowerCase()]!;
  return value >= U64 ? `${JSON.stringify(t)} does not fit in 64 bits` : value;
}

/** Parse an expression given as a YAML integer or string; throws ExprSyntaxError. */
export function parseExpr(input: string | number | bigint): Expr {
  if (typeof input !== 'string') {
    if (typeof input === 'number' && !Number.isSafeInteger(input)) throw new ExprSyntaxError(`expected an integer address; got ${input}`);
    const value = BigInt(input);
    const abs = value < 0n ? -value : value;
    if (abs >= U64) throw new ExprSyntaxError(`0x${value.toString(16)} does not fit in 64 bits`);
    // Addresses read best in hex, whatever the YAML spelling was.
    return { text: `${value < 0n ? '-' : ''}0x${abs.toString(16)}`, terms: [{ sign: value < 0n ? -1 : 1, value: abs }] };
  }
  return { text: input, terms: parseTerms(input) };
}

function parseTerms(text: string): ExprTerm[] {
  const tokens = tokenize(text);
  const terms: ExprTerm[] = [];
  let i = 0;
  let sign: 1 | -1 = 1;
  if (tokens[0] === '+' || tokens[0] === '-') sign = tokens[i++] === '-' ? -1 : 1;
  for (;;) {
    const word = tokens[i++];
    if (word === undefined || word === '+' || word === '-') {
      throw new ExprSyntaxError(`bad address expression ${JSON.stringify(text)}: expected a name or number${terms.length || sign < 0 ? ` after "${tokens[i - 2] ?? ''}"` : ''}`);
    }
    terms.push(term(word, sign, text));
    if (i === tokens.length) return terms;
    const op = tokens[i++];
    if (op !== '+' && op !== '-') throw new ExprSyntaxError(`bad address expression ${JSON.stringify(text)}: expected + or - before ${JSON.stringify(op)}`);
    sign = op === '-' ? -1 : 1;
  }
}

function tokenize(text: string): string[] {
  if (text.length > 200) throw new ExprSyntaxError(`address expression is too long (${text.length} characters)`);
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new ExprSyntaxError(`bad address expression ${JSON.stringify(text)}: unexpected ${JSON.stringify(text.slice(start, start + 1))}`);
    out.push(m[1] ?? m[2]!);
  }
  return out;
}

function term(word: string, sign: 1 | -1, text: string): ExprTerm {
  if (/^[0-9]/.test(word)) {
    const value = parseLiteral(word);
    if (typeof value === 'string') throw new ExprSyntaxError(`bad address expression ${JSON.stringify(text)}: ${value}`);
    return { sign, value };
  }
  return { sign, name: word };
}

/** The names an expression refers to, in order. */
export function exprNames(e: Expr): string[] {
  return e.terms.flatMap((t) => ('name' in t ? [t.name] : []));
}

export type NameLookup = ((name: string) => bigint | undefined) | ReadonlyMap<string, bigint>;

/**
 * The value of `e`, modulo 2^64. Throws UnknownNameError for a name `lookup` does not know;
 * the message lists `known` (or the map's keys) so a typo is easy to spot.
 */
export function evalExpr(e: Expr, lookup: NameLookup, known?: Iterable<string>): bigint {
  let sum = 0n;
  for (let i = 0; i < e.terms.length; i++) {
    const t = e.terms[i]!;
    const v = !('name' in t) ? t.value : typeof lookup === 'function' ? lookup(t.name) : lookup.get(t.name);
    if (v === undefined) {
      const names = [...(known ?? (typeof lookup === 'function' ? [] : lookup.keys()))];
      throw new UnknownNameError((t as { name: string }).name, names);
    }
    sum = t.sign < 0 ? sum - v : sum + v;
  }
  return BigInt.asUintN(64, sum);
}

function unknownNameMessage(name: string, known: readonly string[]): string {
  if (known.length === 0) return `unknown name ${JSON.stringify(name)}; no names are defined yet (name a mapping with "as:")`;
  const near = closestName(name, known);
  const hint = near ? ` (did you mean "${near}"?)` : '';
  return `unknown name ${JSON.stringify(name)}${hint}; known names: ${known.join(', ')}`;
}
