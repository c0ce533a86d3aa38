// What the trace says at a cursor: the call stack, the current access and its walk, the
// exception and its delivery (gate, stack switch, pushed words, saved register frame), and
// counters. Read from the events only, as every renderer does (STYLE.md: trace events are the
// model's only output).

import type { Level, TraceEvent } from '../../../src/trace/events.js';

export interface CallFrame {
  fn: string;
  src: string;
  args?: Record<string, string>;
  /** Index of the `enter` event. */
  at: number;
  /** Decisions taken in this frame so far. */
  decisions: { reason: string; detail?: string; at: number }[];
}

export interface WalkStep {
  level: Level;
  index: number;
  entryPa: string;
  entry: string;
  flags: string;
  leaf: boolean;
  at: number;
}

export interface PushedWord {
  addr: string;
  value: string;
  what: string;
  at: number;
}

export interface Derived {
  step: { n: number; op: string; proc: string; line?: number; at: number } | null;
  stack: CallFrame[];
  access: { va: string; access: string; mode: string; cpl: number; size: number; what?: string; at: number } | null;
  tlbResult: { what: 'hit' | 'miss' | 'fill'; va: string; at: number } | null;
  walk: WalkStep[];
  /** The walk of the latest access of any kind (an implicit IDT or stack access included). */
  lastWalk: WalkStep[];
  walkFault: { level: Level; reason: string; errorCode: number } | null;
  walkOk: { pa: string; pageSize: string; rights: string } | null;
  exception: { vector: number; name: string; errorCode?: number; cr2?: string; reason: string; at: number } | null;
  gate: Extract<TraceEvent, { ev: 'gate' }> | null;
  stackSwitch: Extract<TraceEvent, { ev: 'stack_switch' }> | null;
  pushed: PushedWord[];
  deliver: Extract<TraceEvent, { ev: 'deliver' }> | null;
  iret: Extract<TraceEvent, { ev: 'iret' }> | null;
  lastPte: (Extract<TraceEvent, { ev: 'pte_write' }> & { at: number }) | null;
  ptesWritten: Set<string>;
  flushes: (Extract<TraceEvent, { ev: 'tlb_flush' }> & { at: number })[];
  counters: Record<string, number>;
  /** CR3 as last written by a traced MOV to CR3 (null: unchanged since boot). */
  cr3: string | null;
  /** CR3 when the current access began (the tables its walk read). */
  accessCr3: string | null;
  /** Index of the `deliver` event: pushes before it are the CPU's, after it the entry code's. */
  deliverAt: number;
  /** A saved register frame as the kernel traced it (`pt_regs` events). */
  savedRegs: { fn: string; addr: string; regs: Record<string, string>; at: number } | null;
  logs: string[];
  signals: Extract<TraceEvent, { ev: 'signal' }>[];
  frames: (Extract<TraceEvent, { ev: 'frame' }> & { at: number })[];
}

/** Derive the views' trace state after event `cur` (-1: before the first event). */
export function derive(events: readonly TraceEvent[], cur: number): Derived {
  const d: Derived = {
    step: null, stack: [], access: null, tlbResult: null, walk: [], lastWalk: [], walkFault: null, walkOk: null,
    exception: null, gate: null, stackSwitch: null, pushed: [], deliver: null, iret: null, lastPte: null,
    ptesWritten: new Set(), flushes: [], counters: {}, logs: [], signals: [], frames: [],
    cr3: null, accessCr3: null, deliverAt: -1, savedRegs: null,
  };
  const count = (k: string, n = 1) => (d.counters[k] = (d.counters[k] ?? 0) + n);
  for (let i = 0; i <= cur && i < events.length; i++) {
    const e = events[i]!;
    switch (e.ev) {
      case 'step':
        d.step = { n: e.step, op: e.op, proc: e.proc, line: e.line, at: i };
        d.stack = [];
        d.access = null; d.walk = []; d.lastWalk = []; d.walkFault = null; d.walkOk = null; d.tlbResult = null;
        d.exception = null; d.gate = null; d.stackSwitch = null; d.pushed = []; d.deliver = null; d.iret = null;
        d.deliverAt = -1; d.savedRegs = null;
        count('steps');
        break;
      case 'access':
        d.lastWalk = [];
        // A nested implicit access (IDT read, push) does not replace the faulting access on display.
        if (!e.implicit || !d.exception) {
          d.access = { va: e.va, access: e.access, mode: e.mode, cpl: e.cpl, size: e.size, what: e.what, at: i };
          d.accessCr3 = d.cr3;
          d.walk = [];
          d.walkFault = null;
          d.walkOk = null;
          d.tlbResult = null;
        }
        count('accesses');
        break;
      case 'tlb':
        if (d.access && i > d.access.at && (d.tlbResult === null || e.what === 'fill')) d.tlbResult = { what: e.what, va: e.va, at: i };
        count(`tlb ${e.what}`);
        break;
      case 'walk':
        if (d.access && !(d.exception && d.access.at < d.exception.at)) d.walk.push({ ...e, at: i });
        d.lastWalk.push({ ...e, at: i });
        count('walk entries read');
        break;
      case 'walk_fault':
        if (!d.exception) d.walkFault = { level: e.level, reason: e.reason, errorCode: e.errorCode };
        break;
      case 'walk_ok':
        if (!d.exception) d.walkOk = { pa: e.pa, pageSize: e.pageSize, rights: e.rights };
        break;
      case 'tlb_flush':
        d.flushes.push({ ...e, at: i });
        count('tlb flushes');
        break;
      case 'exception':
        d.exception = { vector: e.vector, name: e.name, errorCode: e.errorCode, cr2: e.cr2, reason: e.reason, at: i };
        d.pushed = [];
        d.gate = null;
        d.stackSwitch = null;
        d.deliver = null;
        d.deliverAt = -1;
        d.savedRegs = null;
        d.iret = null;
        count(`exceptions (${e.name})`);
        break;
      case 'gate': d.gate = e; break;
      case 'stack_switch': d.stackSwitch = e; break;
      case 'push': d.pushed.push({ addr: e.addr, value: e.value, what: e.what, at: i }); break;
      case 'deliver': d.deliver = e; d.deliverAt = i; count('deliveries'); break;
      case 'reg': if (e.name === 'cr3') d.cr3 = e.value; break;
      case 'iret': d.iret = e; break;
      case 'enter':
        d.stack.push({ fn: e.fn, src: e.src, args: e.args, at: i, decisions: [] });
        count('kernel calls');
        break;
      case 'leave': {
        const k = d.stack.map((f) => f.fn).lastIndexOf(e.fn);
        if (k >= 0) d.stack.length = k;
        break;
      }
      case 'decision':
        d.stack[d.stack.length - 1]?.decisions.push({ reason: e.reason, detail: e.detail, at: i });
        break;
      case 'pte_write':
        d.lastPte = { ...e, at: i };
        d.ptesWritten.add(e.entryPa);
        count('pte writes');
        break;
      case 'frame':
        d.frames.push({ ...e, at: i });
        count(`frames ${e.what === 'alloc' ? 'allocated' : 'freed'}`);
        break;
      case 'signal': d.signals.push(e); count('signals'); break;
      case 'log': d.logs.push(e.text); break;
      case 'double_fault': count('double faults'); break;
      case 'shutdown': count('shutdowns'); break;
      default: {
        // Event kinds newer than this page's copy of the union are read by shape.
        const x = e as { ev: string; fn?: unknown; addr?: unknown; regs?: unknown };
        if (x.ev === 'pt_regs' && typeof x.addr === 'string' && typeof x.regs === 'object' && x.regs !== null) {
          d.savedRegs = { fn: String(x.fn ?? ''), addr: x.addr, regs: x.regs as Record<string, string>, at: i };
        }
        break;
      }
    }
  }
  return d;
}

/** Depth of the call stack after each event (for step over / out). */
export function depths(events: readonly TraceEvent[]): Int32Array {
  const out = new Int32Array(events.length);
  const stack: string[] = [];
  events.forEach((e, i) => {
    if (e.ev === 'step') stack.length = 0;
    if (e.ev === 'enter') stack.push(e.fn);
    if (e.ev === 'leave') {
      const k = stack.lastIndexOf(e.fn);
      if (k >= 0) stack.length = k;
    }
    out[i] = stack.length;
  });
  return out;
}

export type Move = 'next' | 'back' | 'into' | 'over' | 'out' | 'fault' | 'end' | 'start' | 'nextStep' | 'prevStep';

/** Where a control moves the cursor (an event index, -1 = before the first). */
export function move(events: readonly TraceEvent[], dep: Int32Array, cur: number, how: Move): number {
  const last = events.length - 1;
  const find = (from: number, ok: (e: TraceEvent, i: number) => boolean): number => {
    for (let i = from; i <= last; i++) if (ok(events[i]!, i)) return i;
    return last;
  };
  const here = cur >= 0 ? dep[cur]! : 0;
  switch (how) {
    case 'next': return Math.min(cur + 1, last);
    case 'back': return Math.max(cur - 1, -1);
    case 'start': return -1;
    case 'end': return last;
    // Into: the next call boundary (a function entered or left), else the next event.
    case 'into': return find(cur + 1, (e) => e.ev === 'enter' || e.ev === 'leave' || e.ev === 'exception');
    // Over: at a function's entry, to its return (the whole call skipped); elsewhere, the next
    // event made at this depth or shallower, skipping what nested calls do inside.
    case 'over':
      if (cur >= 0 && events[cur]!.ev === 'enter') return find(cur + 1, (_e, i) => dep[i]! < here);
      return find(cur + 1, (_e, i) => (i > 0 ? dep[i - 1]! : 0) <= here);
    // Out: the event that leaves the current function (depth drops below it).
    case 'out': return here === 0 ? find(cur + 1, (e) => e.ev === 'step_end') : find(cur + 1, (_e, i) => dep[i]! < here);
    case 'fault': return find(cur + 1, (e) => e.ev === 'exception');
    case 'nextStep': return find(cur + 1, (e) => e.ev === 'step');
    case 'prevStep': {
      for (let i = cur - 1; i >= 0; i--) if (events[i]!.ev === 'step') return i;
      return -1;
    }
  }
}
