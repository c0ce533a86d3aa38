// A scenario (parsed by the project's own parser) as a probe step list (README.md "Step format"),
// so the same file runs on the host kernel and on the Linux model. Each scenario step becomes one
// probe line; a change of process (`proc:` on a step) adds a `proc` line before it. `lineOf[i]` is
// the probe line (and so the record's `step`) of scenario step i.

import type { Expr } from '../../src/workload/scenario/expr.js';
import type { Scenario, Step } from '../../src/workload/scenario/schema.js';

export interface ProbeProgram {
  lines: string[];
  /** Scenario step index -> probe line index. */
  lineOf: number[];
}

/** A scenario the probe cannot run (a machine operation, a file mapping, `main` exiting, ...). */
export class UntranslatableError extends Error {
  override name = 'UntranslatableError';
}

const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** `name+0x10`, `name-0x1000` or a literal; the probe knows one name per address. */
export function probeAddr(e: Expr, where: string): string {
  const names = e.terms.filter((t): t is { sign: 1 | -1; name: string } => 'name' in t);
  let off = 0n;
  for (const t of e.terms) if ('value' in t) off += t.sign < 0 ? -t.value : t.value;
  if (names.length === 0) return hex(off);
  if (names.length > 1 || names[0]!.sign < 0) {
    throw new UntranslatableError(`${where}: the probe takes NAME+OFFSET addresses; ${JSON.stringify(e.text)} has ${names.length > 1 ? 'several names' : 'a negated name'}`);
  }
  const n = names[0]!.name;
  if (off === 0n) return n;
  return off > 0n ? `${n}+${hex(off)}` : `${n}-${hex(-off)}`;
}

const MMAP_FLAG: Record<string, string | null> = {
  private: 'private', shared: 'shared', anonymous: null, fixed: 'fixed', fixed_noreplace: 'noreplace',
  populate: 'populate', growsdown: 'growsdown', noreserve: 'noreserve', locked: 'locked', stack: 'stack',
};

/** The probe line for one scenario step (without the process switch). */
export function probeLine(s: Step, where: string, thp = false): string {
  const a = (e: Expr) => probeAddr(e, where);
  switch (s.op) {
    case 'mmap': {
      const m = s.args;
      if (m.file === undefined && (m.offset !== undefined || m.open !== undefined)) throw new UntranslatableError(`${where}: offset and open are for file mappings`);
      const flags = m.flags.map((f) => MMAP_FLAG[f]).filter((f): f is string => f !== null);
      if (thp) flags.push('thp'); // machine.thp: the probe leaves THP to sysfs (the host: madvise)
      if (m.file !== undefined) flags.push(`file:${m.file}`, ...(m.offset ? [`off:${hex(m.offset)}`] : []), ...(m.open ? [`open:${m.open}`] : []));
      const name = m.as ?? `_m${s.index}`;
      return [`mmap ${name} ${hex(m.length)} ${m.prot} ${flags.join('|') || 'private'}`, ...(m.addr ? [a(m.addr)] : [])].join(' ');
    }
    case 'munmap': return `munmap ${a(s.args.addr)} ${hex(s.args.length)}`;
    case 'mprotect': return `mprotect ${a(s.args.addr)} ${hex(s.args.length)} ${s.args.prot}`;
    case 'madvise': return `madvise ${a(s.args.addr)} ${hex(s.args.length)} ${s.args.advice}`;
    case 'mlock': return `mlock ${a(s.args.addr)} ${hex(s.args.length)}`;
    case 'munlock': return `munlock ${a(s.args.addr)} ${hex(s.args.length)}`;
    case 'brk': return `brk ${a(s.args.addr)}`;
    case 'read': return `read ${a(s.args.addr)} ${s.args.size}`;
    case 'write': return `write ${a(s.args.addr)} ${s.args.size} ${hex(s.args.value)}`;
    case 'exec': return `exec ${a(s.args.addr)}`;
    case 'file': {
      const c = s.args.content;
      if (c !== undefined && 'host' in c) throw new UntranslatableError(`${where}: the probe writes pattern files only (no {host: PATH})`);
      if (s.args.size === undefined) throw new UntranslatableError(`${where}: file needs a size`);
      const pat = c === undefined ? '-' : Buffer.from(c.pattern, 'utf8').toString('hex');
      if (pat.length > 128) throw new UntranslatableError(`${where}: the probe takes patterns of at most 64 bytes`);
      return `file ${s.args.as} ${hex(s.args.size)} ${pat}${s.args.fs === 'tmpfs' ? ' tmpfs' : ''}`;
    }
    case 'drop_caches': return 'drop_caches';
    case 'pread': return `pread ${s.args.file} ${hex(s.args.offset)} ${s.args.size}`;
    case 'fork': return `fork ${s.args.as}`;
    case 'exit':
      if (s.proc === 'main') throw new UntranslatableError(`${where}: the probe's main process cannot exit (fork a child and exit that)`);
      return 'exit';
    default: throw new UntranslatableError(`${where}: '${s.op}' is a machine operation; the host probe runs process operations only`);
  }
}

export function toProbe(s: Scenario): ProbeProgram {
  const lines: string[] = [];
  const lineOf: number[] = [];
  let cur = 'main';
  for (const step of s.steps) {
    const where = `${s.file}:${step.line}`;
    if (step.proc !== cur) {
      lines.push(`proc ${step.proc}`);
      cur = step.proc;
    }
    lineOf.push(lines.length);
    lines.push(probeLine(step, where, s.machine.thp === 'madvise'));
  }
  return { lines, lineOf };
}
