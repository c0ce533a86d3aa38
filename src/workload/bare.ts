// Runs the bare-machine operations of a scenario (set, map, pte, invlpg, invpcid, mov_cr3, access,
// idt, tss) on a Machine booted by the bare lab, and turns what happened into step results.
// No OS: a fault is delivered through the IDT and the lab's handler skips the access (IRETQ).

import { VECTORS } from '../hw/exceptions.js';
import type { Machine } from '../hw/machine.js';
import { LEVEL_NAMES, R_RW, R_US, R_XD, W_NOT_PRESENT, W_OK } from '../hw/paging.js';
import { A, D, HI_XD, RW, US, pteFlagString } from '../hw/pte.js';
import { CONTROL_BITS, CR4_LA57 } from '../hw/regs.js';
import { BareLab, parseFlags, type EntryBits } from '../kernel/bare/lab.js';
import { hex as traceHex } from '../trace/events.js';
import { hex, type FaultRecord, type PageRecord, type StepResult, type WalkRecord } from './result.js';
import type { Step } from './scenario/schema.js';
import { evalExpr, type Expr } from './scenario/expr.js';

/** A user mistake found while running (an unknown name, an unmapped table): reported as outcome 'error'. */
export class StepError extends Error {}

export const BARE_OPS = ['set', 'map', 'pte', 'invlpg', 'invpcid', 'mov_cr3', 'access', 'idt', 'tss'] as const;

const DEFAULT_TABLE_FLAGS = ['p', 'rw', 'us'];
const PAGE_ALIGN = { '4k': 1, '2m': 512, '1g': 262144 } as const;

export class BareSession {
  readonly lab: BareLab;
  private readonly names = new Map<string, bigint>();
  /** Frames handed to `map` without a `pa`, from 1 GiB up, so they never collide with the lab's tables. */
  private nextDataPfn = 0x40000;

  constructor(readonly m: Machine) {
    this.lab = new BareLab(m);
  }

  addr(e: Expr): bigint {
    return evalExpr(e, this.names);
  }

  run(step: Step, base: Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>): StepResult {
    const ok: StepResult = { ...base, outcome: 'ok' };
    switch (step.op) {
      case 'set': return this.set(step.args, ok);
      case 'map': return this.map(step.args, ok);
      case 'pte': return this.pte(step.args, ok);
      case 'invlpg':
        this.m.invlpg(this.addr(step.args.va));
        return ok;
      case 'invpcid': {
        const a = step.args;
        this.m.invpcid(a.type as 0 | 1 | 2 | 3, a.pcid ?? 0, a.va === undefined ? 0n : this.addr(a.va));
        return ok;
      }
      case 'mov_cr3':
        this.lab.reloadRoot(step.args.pcid ?? 0, step.args.noflush ?? false);
        return ok;
      case 'access': return this.access(step.args, ok);
      case 'idt': {
        const { vector, offset, ...rest } = step.args;
        const at = offset === undefined ? undefined : this.addr(offset);
        this.guard(() => this.lab.setGate(vector, { ...rest, offset: at })); // the IDT page may have been unmapped
        return ok;
      }
      case 'tss': {
        const fields: Record<string, bigint> = {};
        for (const [k, v] of Object.entries(step.args)) if (v !== undefined) fields[k] = this.addr(v as Expr);
        this.guard(() => this.lab.setTss(fields));
        return ok;
      }
      default:
        throw new StepError(`'${step.op}' is a process operation: it needs an OS kernel, not bare`);
    }
  }

  private set(a: Extract<Step, { op: 'set' }>['args'], r: StepResult): StepResult {
    const m = this.m;
    for (const [key, on] of Object.entries(a)) {
      if (on === undefined) continue;
      if (key === 'pkru') m.setPkru(Number(on));
      else if (key === 'cpl') this.lab.setCpl(Number(on) as 0 | 3);
      else {
        const [reg, bit] = CONTROL_BITS[key as keyof typeof CONTROL_BITS];
        const v = on ? m.cpu[reg] | bit : m.cpu[reg] & ~bit;
        if (reg === 'cr0') m.setCr0(v);
        else if (reg === 'cr4') this.setCr4(v);
        else if (reg === 'efer') m.setEfer(v);
        else m.setRflags(v);
      }
    }
    return r;
  }

  /** CR4.LA57 cannot change while paging is on; the lab "reboots" into the other mode with the same mappings. */
  private setCr4(v: bigint): void {
    const switching = ((this.m.cpu.cr4 ^ v) & CR4_LA57) !== 0n;
    try {
      this.m.setCr4(v);
    } catch (e) {
      throw new StepError((e as Error).message);
    }
    if (switching) this.lab.reloadRoot();
  }

  private map(a: Extract<Step, { op: 'map' }>['args'], r: StepResult): StepResult {
    const va = this.addr(a.va);
    const align = PAGE_ALIGN[a.size];
    // A frame is taken from the allocator only once the mapping is made: a failed map step
    // must not shift the frames later steps get.
    const nextFree = Math.ceil(this.nextDataPfn / align) * align;
    const pa = a.pa !== undefined ? this.addr(a.pa) : BigInt(nextFree) * 4096n;
    if (!this.m.isCanonical(va)) throw new StepError(`cannot map ${hex(va)}: not a canonical address`);
    if (pa >= 1n << BigInt(this.m.mem.maxPhyAddr)) throw new StepError(`pa ${hex(pa)} is beyond MAXPHYADDR (${this.m.mem.maxPhyAddr} bits)`);
    const leaf = bits(a.flags);
    const tables = bits(a.table_flags ?? DEFAULT_TABLE_FLAGS);
    const at = this.guard(() => this.lab.map(va, pa, a.size, leaf, tables));
    if (a.pa === undefined) this.nextDataPfn = nextFree + align;
    if (a.as !== undefined) this.names.set(a.as, va);
    this.tracePte(va, a.size === '4k' ? 4 : a.size === '2m' ? 3 : 2, at, 0n);
    return { ...r, pa: hex(pa) };
  }

  private pte(a: Extract<Step, { op: 'pte' }>['args'], r: StepResult): StepResult {
    const va = this.addr(a.va);
    const at = this.guard(() => this.lab.entryPa(va, a.level, null));
    const mem = this.m.mem;
    const old = mem.read64(at);
    let v: bigint;
    if (a.raw !== undefined) v = BigInt.asUintN(64, BigInt(a.raw));
    else {
      const set = bits(a.set ?? []);
      const clear = bits(a.clear ?? []);
      const lo = ((Number(old & 0xffffffffn) | set.lo) & ~clear.lo) >>> 0;
      const hi = ((Number(old >> 32n) | set.hi) & ~clear.hi) >>> 0;
      v = (BigInt(hi) << 32n) | BigInt(lo);
    }
    mem.write64(at, v);
    this.tracePte(va, LEVEL_NAMES.indexOf(a.level), at, old);
    return { ...r, value: hex(v) };
  }

  private tracePte(va: bigint, level: number, at: number, old: bigint): void {
    const t = this.m.trace;
    if (!t.enabled) return;
    const v = this.m.mem.read64(at);
    const name = LEVEL_NAMES[level]!;
    t.emit({ ev: 'pte_write', level: name, entryPa: traceHex(at), old: traceHex(old), value: traceHex(v), flags: pteFlagString(Number(v & 0xffffffffn), Number(v >> 32n), name), va: traceHex(va) });
  }

  private access(a: Extract<Step, { op: 'access' }>['args'], r: StepResult): StepResult {
    const m = this.m;
    const va = this.addr(a.va);
    const prevCs = m.cpu.cs;
    if (a.cpl !== undefined) this.lab.setCpl(a.cpl as 0 | 3);
    const before = walkRecord(m, va);
    const res = m.access({ va, access: a.access, size: a.size, value: a.value === undefined ? undefined : BigInt(a.value), implicit: a.implicit });
    const out: StepResult = { ...r, tlb: res.tlb === 'none' ? undefined : res.tlb };
    if (res.tlb === 'miss' && m.isCanonical(va)) out.walk = before;
    if (res.kind === 'ok') {
      out.value = hex(res.value);
      out.pa = hex(res.pa);
    } else {
      out.outcome = 'fault';
      out.faults = m.takeRaised().map((f): FaultRecord => ({ vector: f.vector, error_code: f.errorCode ?? 0, cr2: hex(f.cr2 ?? m.cpu.cr2) }));
      if (m.shutdown) return { ...out, outcome: 'killed', message: 'triple fault: the processor shut down' };
      this.handlerReturn(out.faults);
    }
    if (m.isCanonical(va)) out.page = pageRecord(m, va);
    if (a.cpl !== undefined && (m.cpu.cs & 3) !== (prevCs & 3)) this.lab.setCpl((prevCs & 3) as 0 | 3);
    return out;
  }

  /** The lab's handler for the last exception delivered: drop its error code, IRETQ. */
  private handlerReturn(faults: FaultRecord[]): void {
    const last = faults[faults.length - 1]!;
    const f = this.lab.returnFromHandler(VECTORS[last.vector]?.errorCode ?? false);
    if (f) throw new StepError(`the bare handler's IRETQ faulted (vector ${f.vector}): the saved frame is unusable`);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RangeError) throw new StepError(e.message);
      throw e;
    }
  }
}

type FlagLike = string | { name: string; value?: number };

function bits(flags: readonly FlagLike[]): EntryBits {
  try {
    return parseFlags(flags.map((f) => (typeof f === 'string' ? f : f.value === undefined ? f.name : `${f.name}=${f.value}`)));
  } catch (e) {
    throw new StepError((e as Error).message);
  }
}

/** The entries the CPU will read for `va`, before it touches them (a pure preview). */
function walkRecord(m: Machine, va: bigint): WalkRecord[] | undefined {
  if (!m.isCanonical(va)) return undefined;
  const w = m.previewWalk(va);
  const out: WalkRecord[] = [];
  for (let l = w.first; l <= w.level; l++) {
    const name = LEVEL_NAMES[l]!;
    const e = (BigInt(w.hi[l]! >>> 0) << 32n) | BigInt(w.lo[l]! >>> 0);
    out.push({ level: name, index: w.indexOf(l), entry: hex(e), flags: pteFlagString(w.lo[l]!, w.hi[l]!, name) });
  }
  return out;
}

/** The leaf mapping of `va` after the step. */
function pageRecord(m: Machine, va: bigint): PageRecord {
  const w = m.previewWalk(va);
  if (w.status === W_NOT_PRESENT) {
    return { present: false, writable: false, user: false, nx: false, pfn: '0x0', zero_page: false, accessed: false, dirty: false };
  }
  const leafLo = w.lo[w.level]!;
  if (w.status !== W_OK) {
    // Present, but a reserved bit makes it unusable: report the entry's own bits.
    const e = BigInt(w.hi[w.level]! >>> 0) << 32n | BigInt(leafLo >>> 0);
    return { present: true, writable: (leafLo & RW) !== 0, user: (leafLo & US) !== 0, nx: (w.hi[w.level]! & HI_XD) !== 0, pfn: hex((e & 0xffffffffff000n) >> 12n), zero_page: false, accessed: (leafLo & A) !== 0, dirty: (leafLo & D) !== 0 };
  }
  const pfn = w.pfn + (w.size === 0 ? 0 : Number((va >> 12n) & (w.size === 1 ? 511n : 262143n)));
  return {
    present: true, writable: (w.rights & R_RW) !== 0, user: (w.rights & R_US) !== 0, nx: (w.rights & R_XD) !== 0,
    pfn: hex(pfn), zero_page: false, accessed: (leafLo & A) !== 0, dirty: (leafLo & D) !== 0,
  };
}
