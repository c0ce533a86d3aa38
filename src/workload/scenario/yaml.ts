// YAML (and JSON, which YAML 1.2 contains) text -> plain data plus the source position of every
// key and value, so that a complaint about `steps[3].map.size` can name line 7, column 11.
//
// We compose the document ourselves (Parser -> Composer, as yaml's own parseDocument does) and
// convert nodes ourselves rather than calling toJS, for three reasons:
//  - positions: we record each node's position under its data path as we go;
//  - aliases: we count and bound their expansion (the role of yaml's `maxAliasCount`) and reject
//    recursive ones, so an alias bomb cannot hang or exhaust memory;
//  - depth: yaml's composer recurses once per nesting level, and a stack overflow inside V8's
//    regexp compiler aborts the whole process (seen with ~1000 nested `[`), so we measure the
//    depth on the parser's tokens, which it builds without recursion, before composing.
import { Composer, LineCounter, Parser, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import { ScenarioError, describeValue, formatPath, type FieldPath, type SourceLoc } from './errors.js';

/** Larger inputs are refused outright: scenarios are hand-written and small. */
export const MAX_TEXT_CHARS = 1 << 20;
/** Deepest nesting of mappings and lists; a scenario needs about six. */
export const MAX_DEPTH = 64;
/** How many alias uses may be expanded (cf. yaml's `maxAliasCount`). */
export const MAX_ALIAS_COUNT = 1000;
/** How many values the converted data may hold, counting each alias expansion again. */
export const MAX_VALUES = 100_000;

interface Pos { line: number; col: number }

/** Where each key and value of the converted data came from. */
export class Locations {
  private readonly values = new Map<string, Pos>();
  private readonly keys = new Map<string, Pos>();

  constructor(readonly file: string) {}

  setValue(path: FieldPath, pos: Pos): void {
    this.values.set(JSON.stringify(path), pos);
  }

  setKey(path: FieldPath, pos: Pos): void {
    this.keys.set(JSON.stringify(path), pos);
  }

  /** Whether the value at `path` was written (a missing field was not). */
  has(path: FieldPath): boolean {
    return this.values.has(JSON.stringify(path));
  }

  /**
   * The place to point at for a problem with the field at `path`: its key when `target` is
   * 'key' (an unknown field), else its value; a field that is absent points at its parent.
   */
  at(path: FieldPath, target: 'value' | 'key' = 'value'): SourceLoc {
    const own = target === 'key' ? this.keys.get(JSON.stringify(path)) : undefined;
    let pos = own;
    for (let n = path.length; pos === undefined && n >= 0; n--) pos = this.values.get(JSON.stringify(path.slice(0, n)));
    return { file: this.file, path: formatPath(path), ...(pos ?? { line: 1, col: 1 }) };
  }
}

export interface YamlData {
  data: unknown;
  locs: Locations;
}

/** Parse `text`; throws ScenarioError for syntax errors and for inputs past the limits above. */
export function readYaml(text: string, file: string): YamlData {
  if (text.length > MAX_TEXT_CHARS) {
    throw new ScenarioError({ file, line: 1, col: 1, path: '' },
      `file is too large (${text.length} characters; the limit is ${MAX_TEXT_CHARS}, 1 MiB)`);
  }
  const lc = new LineCounter();
  const at = (offset: number): SourceLoc => ({ file, path: '', ...lc.linePos(offset) });
  const bracket = firstDeepBracket(text);
  if (bracket !== undefined) throw new ScenarioError({ file, path: '', ...linePos(text, bracket) }, `nested deeper than ${MAX_DEPTH} levels`);
  try {
    const tokens = Array.from(new Parser(lc.addNewLine).parse(text));
    const deep = firstTooDeep(tokens);
    if (deep !== undefined) throw new ScenarioError(at(deep), `nested deeper than ${MAX_DEPTH} levels`);
    const doc = composeOne(tokens, text.length, at);
    const locs = new Locations(file);
    const data = new Converter(locs, lc).convert(doc.contents, [], 0);
    return { data, locs };
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    // A bug in the YAML library on hostile input is still bad input to our caller.
    throw new ScenarioError(at(0), `cannot read as YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The first document; its first error or warning (an unknown tag, say) becomes a ScenarioError.
 * Duplicate keys are left to Converter: yaml's own check is quadratic in the keys of a mapping
 * (10 s for 30,000 keys).
 */
function composeOne(tokens: Parameters<Composer['compose']>[0], end: number, at: (o: number) => SourceLoc): Document.Parsed {
  const docs = new Composer({ intAsBigInt: true, uniqueKeys: false }).compose(tokens, true, end);
  const first = docs.next();
  if (first.done) throw new ScenarioError(at(0), 'the file holds no YAML document');
  const doc = first.value;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new ScenarioError(at(problem.pos[0]), yamlMessage(problem.message));
  const second = docs.next();
  if (!second.done) {
    throw new ScenarioError(at(second.value.range[0]), 'a scenario file holds one YAML document; found a second one');
  }
  return doc;
}

/** yaml's messages sometimes end in a source excerpt; keep the first line. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return first === '' ? 'YAML syntax error' : `YAML: ${first}`;
}

/**
 * A fast first check for the cheapest way to nest deeply, `[[[[…`: the offset of a bracket
 * nested far deeper than MAX_DEPTH, counting as YAML does (skipping quoted text and comments).
 * It may overcount (brackets in plain or block scalars) but has slack for that; the exact
 * check is firstTooDeep, which needs the whole file tokenized first (seconds for 1 MiB of `[`).
 */
function firstDeepBracket(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const prev = i === 0 ? '\n' : text[i - 1]!;
    const tokenStart = /[\s[{,:]/.test(prev);
    if (c === '#' && /\s/.test(prev)) i = skipTo(text, i, '\n');
    else if ((c === '"' || c === "'") && tokenStart) i = skipQuoted(text, i, c);
    else if (c === '[' || c === '{') {
      if (++depth > 4 * MAX_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** 1-based line and column of `offset`, for errors found before the LineCounter has run. */
function linePos(text: string, offset: number): Pos {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

function skipTo(text: string, from: number, stop: string): number {
  const j = text.indexOf(stop, from + 1);
  return j < 0 ? text.length : j;
}

/** The index of the quote that closes the one at `from` (`\"` and `''` are escapes). */
function skipQuoted(text: string, from: number, quote: string): number {
  for (let i = from + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return text.length;
}

interface CstLike {
  type?: string;
  offset?: number;
  value?: unknown;
  items?: { key?: unknown; value?: unknown }[];
}

/** Offset of the first collection nested more than MAX_DEPTH deep, walking with our own stack. */
function firstTooDeep(tokens: readonly unknown[]): number | undefined {
  const todo: [unknown, number][] = tokens.map((t) => [t, 0]);
  while (todo.length > 0) {
    const [tok, depth] = todo.pop()!;
    if (tok === null || typeof tok !== 'object') continue;
    const t = tok as CstLike;
    if (t.type === 'document') todo.push([t.value, depth]);
    if (!Array.isArray(t.items)) continue;
    if (depth + 1 > MAX_DEPTH) return t.offset ?? 0;
    for (const item of t.items) todo.push([item.key, depth + 1], [item.value, depth + 1]);
  }
  return undefined;
}

function isEmpty(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  const range = (node as YamlNode).range;
  return isScalar(node) && node.value === null && range !== undefined && range !== null && range[0] === range[1];
}

/** Nodes -> plain data (objects without surprises, arrays, strings, numbers, bigints, booleans, null). */
class Converter {
  private values = 0;
  private aliases = 0;
  /** Anchors seen so far in document order; an alias means the latest one before it. */
  private readonly anchors = new Map<string, YamlNode>();
  /** Nodes being converted, to catch an alias that refers to its own ancestor. */
  private readonly active = new Set<YamlNode>();
  /** > 0 while expanding an alias: anchors inside it were already recorded in order. */
  private expanding = 0;

  constructor(private readonly locs: Locations, private readonly lc: LineCounter) {}

  /** `ownPos` is false for an alias's target: the alias's own position stands for it. */
  convert(node: unknown, path: (string | number)[], depth: number, ownPos = true): unknown {
    if (node === null || node === undefined) return null;
    if (++this.values > MAX_VALUES) this.fail(path, `the document is too large (more than ${MAX_VALUES} values after expanding aliases)`);
    if (depth > MAX_DEPTH) this.fail(path, `nested deeper than ${MAX_DEPTH} levels`);
    const n = node as YamlNode;
    if (ownPos) this.record(path, n);
    if (isAlias(n)) return this.expand(n.source, path, depth);
    if (n.anchor !== undefined && this.expanding === 0) this.anchors.set(n.anchor, n);
    this.active.add(n);
    try {
      if (isScalar(n)) return this.scalar(n.value, path);
      if (isMap(n)) return this.mapping(n.items as Pair[], path, depth);
      if (isSeq(n)) return n.items.map((item, i) => this.convert(item, [...path, i], depth + 1));
      return this.fail(path, 'unsupported YAML node');
    } finally {
      this.active.delete(n);
    }
  }

  private expand(name: string, path: (string | number)[], depth: number): unknown {
    if (++this.aliases > MAX_ALIAS_COUNT) this.fail(path, `too many aliases (more than ${MAX_ALIAS_COUNT})`);
    const target = this.anchors.get(name);
    if (target === undefined) return this.fail(path, `alias *${name} has no anchor &${name} before it`);
    if (this.active.has(target)) return this.fail(path, `alias *${name} refers to a node that contains it`);
    this.expanding++;
    try {
      // The expansion's inner positions are the anchored text's; the alias itself keeps its own.
      return this.convert(target, path, depth, false);
    } finally {
      this.expanding--;
    }
  }

  private mapping(pairs: Pair[], path: (string | number)[], depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const pair of pairs) {
      const key = this.key(pair.key, path);
      const at = [...path, key];
      const keyPos = isScalar(pair.key) ? this.pos(pair.key) : undefined;
      if (keyPos) this.locs.setKey(at, keyPos);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(at, `duplicate field ${JSON.stringify(key)}`, 'key');
      const value = this.convert(pair.value, at, depth + 1);
      // An empty value (`exit:`) has no text of its own: point at its key.
      if (keyPos && isEmpty(pair.value)) this.locs.setValue(at, keyPos);
      // defineProperty, not assignment: a key named "__proto__" must stay a plain field.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  private key(key: unknown, path: (string | number)[]): string {
    if (isScalar(key)) {
      const v = key.value;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === null) return String(v);
    }
    const pos = key !== null && typeof key === 'object' ? this.pos(key as YamlNode) : undefined;
    const at = this.locs.at(path);
    throw new ScenarioError({ ...at, ...pos }, 'mapping keys must be plain names, not lists, mappings or aliases');
  }

  private scalar(v: unknown, path: (string | number)[]): unknown {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return this.fail(path, `unsupported value ${describeValue(v)}`);
  }

  private record(path: FieldPath, node: YamlNode): void {
    const pos = this.pos(node);
    if (pos) this.locs.setValue(path, pos);
  }

  private pos(node: YamlNode): Pos | undefined {
    const offset = node.range?.[0];
    return offset === undefined ? undefined : this.lc.linePos(offset);
  }

  private fail(path: FieldPath, message: string, target: 'value' | 'key' = 'value'): never {
    throw new ScenarioError(this.locs.at(path, target), message);
  }
}
