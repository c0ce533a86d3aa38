// Errors in user-written scenario files. Every one names the file, the 1-based line and column,
// the field (a path like `steps[3].map.size`) and what was expected, so a user can fix the file
// without reading our source. These are bad *input*, the one place STYLE.md allows `throw`.

/** A field's place in the parsed data: keys of mappings and indices of lists. */
export type FieldPath = readonly (string | number)[];

/** A position in a scenario file. `line` and `col` are 1-based; 0 means "no position". */
export interface SourceLoc {
  file: string;
  line: number;
  col: number;
  /** The field, formatted (`steps[3].map.size`); empty for the whole file. */
  path: string;
}

export class ScenarioError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;

  constructor(at: SourceLoc, message: string) {
    super(message);
    this.name = 'ScenarioError';
    this.file = at.file;
    this.line = at.line;
    this.col = at.col;
    this.path = at.path;
    // The stack of a user's typo is noise: whoever prints this error prints the location instead.
    this.stack = this.format();
  }

  /** `file:line:col: path: message`, omitting the parts that are unknown. */
  format(): string {
    const where = this.line > 0 ? `${this.file}:${this.line}:${this.col}` : this.file;
    return this.path ? `${where}: ${this.path}: ${this.message}` : `${where}: ${this.message}`;
  }

  override toString(): string {
    return this.format();
  }
}

/** `['steps', 3, 'map', 'size']` -> `steps[3].map.size`; odd keys are quoted (`["a b"]`). */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][\w.]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value as it appears in a message: strings quoted, long ones cut, lists/maps summarised. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/**
 * The known name closest to `word`, if it is close enough to be a likely typo. Uses the
 * optimal-string-alignment distance so a swapped pair (`lenght`) costs one edit, like a slip.
 */
export function closestName(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDist = limit + 1;
  for (const k of known) {
    const d = editDistance(w, k.toLowerCase(), bestDist);
    if (d < bestDist) [best, bestDist] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance; gives up (returns `cap`) once it must exceed `cap`. */
export function editDistance(a: string, b: string, cap = Infinity): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  // Three rolling rows: the transposition rule looks two rows back.
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin >= cap) return cap;
    [prev2, prev] = [prev, cur];
  }
  return prev[b.length]!;
}

/** The message for a field nobody asked for, with a suggestion when one is close. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const near = closestName(key, known);
  const hint = near === undefined ? `expected one of ${known.join(', ')}` : `did you mean "${near}"?`;
  return `unknown field ${JSON.stringify(key)}; ${hint}`;
}
