// The comparer of issue 3's "Checked against the real kernel": one scenario's records from the
// host kernel (probe.c via translate.ts) against the Linux model's StepResults, fact by fact.
// README.md "Comparing a scenario" lists the facts and the ones left out, and why.

import type { PageRecord, StepResult } from '../../src/workload/result.js';
import { evalExpr, type Expr } from '../../src/workload/scenario/expr.js';
import type { Scenario, Step } from '../../src/workload/scenario/schema.js';
import type { HostPage, HostStepRecord } from './host.js';
import { SI_KERNEL, X86_TRAP_GP } from './expect.js';
import type { ProbeProgram } from './translate.js';

export interface Disagreement {
  /** file:line of the scenario step. */
  where: string;
  /** 1-based step number, as the runner counts. */
  step: number;
  what: string;
  fact: string;
  host: string;
  model: string;
}

const PAGE_SHIFT = 12n;
const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;
const big = (h: string | undefined): bigint | undefined => (h === undefined ? undefined : BigInt(h));

/** The host's outcome in the model's words: an access that ended in a signal is `signal`. */
export function hostOutcome(r: HostStepRecord): string {
  return r.outcome === 'fault' ? 'signal' : r.outcome;
}

/** The address an expression names on one side, or undefined if a name is not bound there. */
function resolve(e: Expr, names: ReadonlyMap<string, bigint>): bigint | undefined {
  try {
    return evalExpr(e, names);
  } catch {
    return undefined;
  }
}

function stepExpr(s: Step): Expr | undefined {
  const a = s.args as { addr?: Expr };
  return a.addr;
}

/** `expr+0x10 (0x7fff...)`: an address relative to the step's own address, and absolute. */
function showAddr(addr: bigint, base: bigint | undefined, text: string | undefined): string {
  if (base === undefined || text === undefined) return hex(addr);
  const d = BigInt.asIntN(64, addr - base);
  const rel = d === 0n ? text : `${text}${d < 0n ? '-' : '+'}${hex(d < 0n ? -d : d)}`;
  return /^0x/.test(text) ? hex(addr) : `${rel} (${hex(addr)})`;
}

/**
 * PFN identity on one side. Frames are numbered by first appearance (the zero page is 0), as the
 * probe does, except that a frame seen again after every mapping of it that the comparer knew of
 * went away (munmap, MADV_DONTNEED, a new mapping over it, exit, brk shrink) counts as a new page:
 * the host's page allocator hands freed frames straight back (LIFO per-CPU lists), and whether it
 * does is not a fact about the fault path. Ids are then comparable between host and model.
 */
export class FrameIds {
  private readonly ids = new Map<bigint, { id: number; step: number }>();
  private readonly maps = new Map<string, Map<bigint, bigint>>();
  private next = 1;

  observe(proc: string, va: bigint | undefined, pfn: bigint, zero: boolean, step: number): { id: number; step: number } {
    if (zero) return { id: 0, step: 0 };
    const known = this.ids.get(pfn);
    const alive = known !== undefined && [...this.maps.values()].some((m) => [...m.values()].includes(pfn));
    const entry = alive ? known : { id: this.next++, step };
    this.ids.set(pfn, entry);
    if (va !== undefined) this.procMap(proc).set(va >> PAGE_SHIFT, pfn);
    return entry;
  }

  drop(proc: string, from: bigint, length: bigint): void {
    const m = this.maps.get(proc);
    if (!m) return;
    const lo = from >> PAGE_SHIFT;
    const hi = (from + length + 0xfffn) >> PAGE_SHIFT;
    for (const vpn of [...m.keys()]) if (vpn >= lo && vpn < hi) m.delete(vpn);
  }

  exit(proc: string): void {
    this.maps.delete(proc);
  }

  fork(parent: string, child: string): void {
    this.maps.set(child, new Map(this.maps.get(parent)));
  }

  private procMap(proc: string): Map<bigint, bigint> {
    let m = this.maps.get(proc);
    if (!m) this.maps.set(proc, (m = new Map()));
    return m;
  }
}

/** What one side knows while the steps are walked: names, placement, breaks, frames. */
class Side {
  readonly names = new Map<string, bigint>();
  readonly lastMmap = new Map<string, bigint>();
  readonly lastBrk = new Map<string, bigint>();
  readonly frames = new FrameIds();

  constructor(initial: ReadonlyMap<string, bigint>) {
    for (const [k, v] of initial) this.names.set(k, v);
  }

  /** Bookkeeping after a step: bind the mmap's name, forget frames of unmapped ranges. */
  after(s: Step, addr: bigint | undefined, outcome: string, ret: bigint | undefined, errno?: string): void {
    if (s.op === 'fork') {
      this.frames.fork(s.proc, s.args.as);
      const m = this.lastMmap.get(s.proc);
      if (m !== undefined) this.lastMmap.set(s.args.as, m);
      const b = this.lastBrk.get(s.proc);
      if (b !== undefined) this.lastBrk.set(s.args.as, b);
    }
    if (s.op === 'exit') this.frames.exit(s.proc);
    // MADV_DONTNEED over a hole still drops every mapped part, then fails with ENOMEM (#41).
    if (s.op === 'madvise' && s.args.advice === 'dontneed' && addr !== undefined && errno === 'ENOMEM') this.frames.drop(s.proc, addr, s.args.length);
    if (outcome !== 'ok') return;
    if (s.op === 'mmap' && ret !== undefined) {
      this.names.set(s.args.as ?? `_m${s.index}`, ret);
      this.lastMmap.set(s.proc, ret);
      this.frames.drop(s.proc, ret, s.args.length);
    }
    if (addr === undefined) return;
    if (s.op === 'munmap') this.frames.drop(s.proc, addr, s.args.length);
    if (s.op === 'madvise' && s.args.advice === 'dontneed') this.frames.drop(s.proc, addr, s.args.length);
    if (s.op === 'brk' && ret !== undefined) {
      const prev = this.lastBrk.get(s.proc);
      if (prev !== undefined && ret < prev) this.frames.drop(s.proc, ret, prev - ret);
      this.lastBrk.set(s.proc, ret);
    }
  }
}

export interface CompareInput {
  scenario: Scenario;
  program: ProbeProgram;
  host: readonly HostStepRecord[];
  model: readonly StepResult[];
  /** Names the model's session binds before step 1 (`brk0`, `stack`). */
  modelNames?: ReadonlyMap<string, bigint>;
  /** The host's initial break (setup.brk0), bound as `brk0` as the probe does. */
  hostBrk0: bigint;
}

/** Every disagreement between the host's records and the model's results, in step order. */
export function compareRuns(input: CompareInput): Disagreement[] {
  const { scenario: s, program, model } = input;
  const byLine = new Map(input.host.map((r) => [r.step, r]));
  const host = new Side(new Map([['brk0', input.hostBrk0]]));
  const sim = new Side(input.modelNames ?? new Map());
  const out: Disagreement[] = [];
  s.steps.forEach((step, i) => {
    const h = byLine.get(program.lineOf[i]!);
    const m = model[i];
    const row = (fact: string, hv: string, mv: string) =>
      out.push({ where: `${s.file}:${step.line}`, step: i + 1, what: `${step.proc}: ${program.lines[program.lineOf[i]!]}`, fact, host: hv, model: mv });
    if (!h) throw new Error(`${s.file}:${step.line}: the probe has no record for step ${i + 1}`);
    if (!m) {
      row('result', hostOutcome(h), '(no result)');
      return;
    }
    const e = stepExpr(step);
    const hAddr = h.addr;
    const mAddr = e ? resolve(e, sim.names) : undefined;
    if (e && mAddr === undefined) row('address', hAddr === undefined ? '-' : hex(hAddr), `cannot resolve ${JSON.stringify(e.text)} from the model's mmap results`);
    compareStep({ step, h, m, hAddr, mAddr, host, sim, row });
    const mRet = big(m.ret);
    host.after(step, step.op === 'mmap' ? h.ret : hAddr, h.outcome, h.ret, h.errno);
    sim.after(step, step.op === 'mmap' ? mRet : mAddr, m.outcome, mRet, m.errno);
  });
  return out;
}

interface StepCtx {
  step: Step;
  h: HostStepRecord;
  m: StepResult;
  hAddr: bigint | undefined;
  mAddr: bigint | undefined;
  host: Side;
  sim: Side;
  row: (fact: string, host: string, model: string) => void;
}

function compareStep(c: StepCtx): void {
  const { h, m, row } = c;
  const mOut = m.outcome === 'error' && m.errno === undefined && m.message ? `error (${m.message})` : m.outcome;
  if (hostOutcome(h) !== m.outcome) row('outcome', hostOutcome(h), mOut);
  if ((h.errno ?? '') !== (m.errno ?? '')) row('errno', h.errno ?? '-', m.errno ?? '-');
  compareSignal(c);
  compareRet(c);
  if ((c.step.op === 'read' || c.step.op === 'pread') && h.value !== undefined && h.value !== big(m.value)) row('value', hex(h.value), m.value ?? '(absent)');
  // fork, exit and proc have no fault counts on the host (the probe's warmup absorbs fork's own).
  for (const k of ['minflt', 'majflt'] as const) {
    if (h[k] !== null && h[k] !== m[k]) row(k, String(h[k]), m[k] === undefined ? '(absent)' : String(m[k]));
  }
  comparePage(c);
}

function compareSignal({ step, h, m, hAddr, mAddr, row }: StepCtx): void {
  const hs = h.signal;
  const ms = m.signal;
  if (!hs && !ms) return;
  if (!hs || !ms) {
    const show = (x: { name: string; code: number } | undefined) => (x ? `${x.name} code ${x.code}` : '(none)');
    row('signal', show(hs), show(ms));
    return;
  }
  if (hs.signo !== ms.signo) row('signal.signo', `${hs.signo} ${hs.name}`, `${ms.signo} ${ms.name}`);
  if (hs.code !== ms.code) row('signal.code', `${hs.code} ${hs.codeName}`, String(ms.code));
  // si_addr: the same value, or the same distance from the step's own address (the model places
  // mappings at other addresses than the host does).
  const text = stepExpr(step)?.text;
  const mA = BigInt(ms.addr);
  const sameRel = hAddr !== undefined && mAddr !== undefined && hs.addr - hAddr === mA - mAddr;
  if (hs.addr !== mA && !sameRel) row('signal.addr', showAddr(hs.addr, hAddr, text), showAddr(mA, mAddr, text));
  // trapno and err come from thread.trap_nr/error_code, which only set_signal_archinfo (#PF) and
  // the #GP path set. A SI_KERNEL signal from elsewhere (a misaligned vsyscall call) leaves them
  // holding the thread's previous fault, which on the host may be the probe's own warmup fault.
  const stale = hs.code === SI_KERNEL && hs.trapno !== X86_TRAP_GP;
  if (!stale && hs.trapno !== ms.trapno) row('signal.trapno', String(hs.trapno), String(ms.trapno));
  if (!stale && hs.err !== ms.err) row('signal.err', hex(BigInt(hs.err)), hex(BigInt(ms.err)));
  // cr2: SignalRecord has no cr2 (the host's is stale for every non-#PF signal anyway).
}

function compareRet({ step, h, m, hAddr, mAddr, host, sim, row }: StepCtx): void {
  const hr = h.ret;
  const mr = big(m.ret);
  if (h.outcome !== 'ok' || hr === undefined) return;
  if (mr === undefined) {
    if (step.op !== 'fork' && step.op !== 'exit') row('ret', hex(hr), '(absent)');
    return;
  }
  if (step.op === 'mmap') {
    // Placement: the distance from the process's previous mapping (top-down, checklist #36/#38).
    // The first mapping's absolute address depends on the vdso/vvar and mmap_base of the host
    // process, which the model lays out its own way; it is not compared.
    const hp = host.lastMmap.get(step.proc);
    const mp = sim.lastMmap.get(step.proc);
    if (step.args.addr && hAddr !== undefined && mAddr !== undefined) {
      if (hr - hAddr !== mr - mAddr) row('ret', showAddr(hr, hAddr, step.args.addr.text), showAddr(mr, mAddr, step.args.addr.text));
    } else if (hp !== undefined && mp !== undefined && hr - hp !== mr - mp) {
      row('ret', showAddr(hr, hp, 'previous mmap'), showAddr(mr, mp, 'previous mmap'));
    }
    return;
  }
  if (step.op === 'brk') {
    // The break, as a distance from each side's initial break (the model's heap starts elsewhere).
    const hb = host.names.get('brk0');
    const mb = sim.names.get('brk0');
    if (hb !== undefined && mb !== undefined && hr - hb !== mr - mb) row('ret', showAddr(hr, hb, 'brk0'), showAddr(mr, mb, 'brk0'));
    return;
  }
  if (hr !== mr) row('ret', hex(hr), hex(mr));
}

const isAccess = (s: Step): boolean => s.op === 'read' || s.op === 'write' || s.op === 'exec';

function comparePage({ step, h, m, hAddr, mAddr, host, sim, row }: StepCtx): void {
  const hp: HostPage | null = h.page;
  const mp: PageRecord | undefined = m.page;
  if (!hp) return; // no pagemap entry: a non-canonical or kernel address
  if (!mp) {
    if (isAccess(step)) row('page', hp.present ? 'present' : 'not present', '(absent)');
    return;
  }
  if (hp.present !== mp.present) row('page.present', String(hp.present), String(mp.present));
  if (hp.zero !== mp.zero_page) row('page.zero', String(hp.zero), String(mp.zero_page));
  const mPfn = BigInt(mp.pfn);
  if (!hp.present || !mp.present || hp.pfn === null || (mPfn === 0n && !mp.zero_page)) return;
  const hid = host.frames.observe(step.proc, hAddr, hp.pfn, hp.zero, step.index + 1);
  const mid = sim.frames.observe(step.proc, mAddr, mPfn, mp.zero_page, step.index + 1);
  if (hid.id !== mid.id) row('page.frame', frameName(hid, hp.pfn), frameName(mid, mPfn));
}

function frameName(f: { id: number; step: number }, pfn: bigint): string {
  return f.id === 0 ? 'the zero page' : `frame #${f.id} (first seen at step ${f.step}; pfn ${hex(pfn)})`;
}

/** The disagreements as a table: where, step, fact, host, model. */
export function formatTable(rows: readonly Disagreement[]): string {
  const head: Disagreement = { where: 'scenario', step: 0, what: 'step', fact: 'fact', host: 'host', model: 'model' };
  const cells = (d: Disagreement) => [d.where, d === head ? 'step' : `${d.step} ${d.what}`, d.fact, d.host, d.model];
  const all = [head, ...rows].map(cells);
  const width = all[0]!.map((_, c) => Math.min(60, Math.max(...all.map((r) => r[c]!.length))));
  return all.map((r) => r.map((x, c) => x.padEnd(width[c]!)).join(' | ').trimEnd()).join('\n');
}

/** The `expect:` fields the host probe can observe; others (walk, faults, TLB, PTE bits) are the model's alone. */
const HOST_FIELDS: Record<string, true | readonly string[]> = {
  kernel: true, step: true, proc: true, op: true, outcome: true, value: true, signal: true, errno: true, ret: true,
  minflt: true, majflt: true, page: ['present', 'zero_page', 'pfn'],
};

/** Expect fields a host record cannot show, as `page.writable` etc.; a scenario must not pin them. */
export function unobservableOnHost(expect: Readonly<Record<string, unknown>>): string[] {
  const bad: string[] = [];
  for (const [k, v] of Object.entries(expect)) {
    if (v === undefined) continue;
    const ok = HOST_FIELDS[k];
    if (ok === undefined) bad.push(k);
    else if (ok !== true && typeof v === 'object' && v !== null) {
      for (const [f, x] of Object.entries(v)) if (x !== undefined && !ok.includes(f)) bad.push(`${k}.${f}`);
    }
  }
  return bad;
}

/** A host record as a StepResult, so a scenario's `expect:` can be matched against the real kernel. */
export function hostResult(r: HostStepRecord, step: Step): StepResult {
  const res: StepResult = { kernel: 'host', step: step.index + 1, proc: r.proc, op: step.op, outcome: hostOutcome(r) as StepResult['outcome'] };
  if (r.value !== undefined && (step.op === 'read' || step.op === 'pread')) res.value = hex(r.value);
  if (r.errno !== undefined) res.errno = r.errno;
  if (r.ret !== undefined) res.ret = hex(r.ret);
  if (r.signal) {
    const { signo, name, code, addr, trapno, err } = r.signal;
    res.signal = { signo, name, code, addr: hex(addr), trapno, err };
  }
  if (r.minflt !== null) res.minflt = r.minflt;
  if (r.majflt !== null) res.majflt = r.majflt;
  if (r.page) {
    res.page = {
      present: r.page.present, zero_page: r.page.zero, pfn: hex(r.page.pfn ?? 0n),
      writable: false, user: false, nx: false, accessed: false, dirty: false, // unobservable: refused above
    };
  }
  return res;
}
