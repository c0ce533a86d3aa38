// Shared CLI plumbing: where output goes, how a command reports a user mistake, and parsers for
// the number formats users paste (hex from debuggers and dmesg, decimal from scripts).
//
// Commands never touch process.stdout or process.exit: they write through an `Io` and throw
// `UsageError` / `CliExit`, so tests run the whole CLI in-process and read what it printed.

/** Where a command writes. Each call writes its string as is (add your own '\n'). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** True when `out` is a terminal: a command may colour its output then (and not in pipes). */
  readonly isTTY?: boolean;
}

/** The real streams. */
export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  isTTY: process.stdout.isTTY === true,
};

/** An Io that keeps everything, for tests: `const io = captureIo(); await main([...], io); io.stdout`. */
export interface CapturedIo extends Io {
  readonly stdout: string;
  readonly stderr: string;
}

export function captureIo(opts: { isTTY?: boolean } = {}): CapturedIo {
  let stdout = '';
  let stderr = '';
  return {
    out: (s) => void (stdout += s),
    err: (s) => void (stderr += s),
    isTTY: opts.isTTY === true,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

/**
 * A mistake in what the user typed or supplied (an argument, an option, an input file). main()
 * prints the message and `see 'faultline <cmd> --help'`, with no stack trace, and exits 2.
 * Say what was wrong and what was expected: "CODE 'zz' is not a number: expected hex (0x6) or decimal (6)".
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Finish the command with an exit code and no further output, e.g. 1 when a check found a
 * difference. (Output is the command's to write before throwing.)
 */
export class CliExit extends Error {
  override readonly name = 'CliExit';
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Exit codes: 0 success, 1 the command ran and reports failure, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const HEX = /^0x[0-9a-f]+$/i;
const DEC = /^[0-9]+$/;

/**
 * An unsigned integer in hex (`0x6`) or decimal (`6`), at most `max`. `what` names the
 * argument in the error ("CODE"), so the user knows which one to fix.
 */
export function parseUint(what: string, text: string, max = 0xffffffff): number {
  const t = text.trim();
  if (t.startsWith('-')) throw new UsageError(`${what} '${text}' is negative: expected 0 to ${hexOf(max)}`);
  if (!HEX.test(t) && !DEC.test(t)) {
    throw new UsageError(`${what} '${text}' is not a number: expected hex (0x6) or decimal (6)`);
  }
  const v = Number(t);
  if (!(v <= max)) throw new UsageError(`${what} '${text}' is too large: expected 0 to ${hexOf(max)}`);
  return v;
}

/** A hex number with or without 0x (as debuggers print memory), at most `max`. */
export function parseHex(what: string, text: string, max: number): number {
  const t = text.trim();
  const digits = t.replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(digits)) throw new UsageError(`${what} '${text}' is not hex: expected e.g. 0x8e00 or 8e00`);
  const v = Number.parseInt(digits, 16);
  if (v > max) throw new UsageError(`${what} '${text}' is over ${hexOf(max)}`);
  return v;
}

export const hexOf = (n: number): string => `0x${n.toString(16)}`;

/** Pretty JSON with a trailing newline; bigints become hex strings (JSON has no 64-bit integers). */
export function writeJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) + '\n');
}

/** Help-text trailer listing example invocations, for `.addHelpText('after', examples([...]))`. */
export function examples(lines: readonly string[]): string {
  return '\nExamples:\n' + lines.map((l) => `  $ faultline ${l}`).join('\n') + '\n';
}

/** Left-aligned columns, as a table for a terminal: each row's cells padded to the widest. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => indent + r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
    .join('\n') + '\n';
}
