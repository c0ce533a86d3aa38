// Exception delivery in IA-32e mode (Intel SDM Vol. 3 §6.12.1, §6.14, §6.15) and the
// instructions that undo or accompany it: IRETQ, SWAPGS, PUSH/POP, LIDT/LGDT/LTR.
//
// Delivery reads the gate from the IDT and the target code segment from the GDT, picks the stack
// (RSP0 on a privilege change, ISTn if the gate names one, §6.14.5), aligns it to 16 bytes
// (§6.14.2), pushes SS, RSP, RFLAGS, CS, RIP and the error code, and continues at the gate's
// offset with IF cleared for an interrupt gate. Every read and push is an implicit supervisor
// access through paging, so a fault during delivery is a real nested fault: Table 6-5 turns it
// into #DF, and a fault while delivering #DF shuts the processor down (triple fault).

import { hex } from '../trace/events.js';
import { GATE_INTERRUPT, GATE_TRAP, decodeGate, decodeSeg, decodeTssDescBase, gateOffsetLo, gateType, isLongCode, tssIstOffset, tssRspOffset } from './desc.js';
import { DF, GP, NP, PF, TS, UD, idtErrorCode, nestedOutcome, selectorErrorCode, vectorMnemonic, VECTORS } from './exceptions.js';
import type { Fault, Machine } from './machine.js';
import { R_RIP, R_RSP, RFLAGS_IF, RFLAGS_NT, RFLAGS_RF, RFLAGS_TF, RFLAGS_VM, addHalves, joinHalves, storeHalves, tableReg } from './regs.js';

/** Deliver `first`, handling faults raised while delivering it (Table 6-5). */
export function deliverException(m: Machine, first: Fault): void {
  let f = first;
  for (let depth = 0; depth < 8; depth++) {
    const nested = tryDeliver(m, f);
    if (nested === null) return;
    m.noteRaised(nested, `while delivering ${vectorMnemonic(f.vector)}`);
    const outcome = nestedOutcome(f.vector, nested.vector);
    if (outcome === 'shutdown') {
      m.shutdown = true;
      if (m.trace.enabled) m.trace.emit({ ev: 'shutdown', reason: 'triple-fault', vector: nested.vector });
      return;
    }
    if (outcome === 'double') {
      if (m.trace.enabled) m.trace.emit({ ev: 'double_fault', first: f.vector, second: nested.vector });
      f = { vector: DF, errorCode: 0 };
      m.noteRaised(f, null);
    } else {
      f = nested;
    }
  }
  throw new Error('model bug: exception delivery did not settle after 8 nested faults');
}

const gp = (errorCode: number): Fault => ({ vector: GP, errorCode });

const FRAME_NAMES = ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP', 'error code'];

/** One delivery attempt. Returns null on success, or the fault raised while delivering. */
function tryDeliver(m: Machine, f: Fault): Fault | null {
  const cpu = m.cpu;
  const Q = m.deliveryScratch;
  const v = f.vector;
  const traced = m.trace.enabled;
  if (v * 16 + 15 > cpu.idtr.limit) return gp(idtErrorCode(v, true)); // §6.12.1: beyond the IDT limit
  // The gate's two quadwords: two implicit reads (one run of them; labelled only when traced).
  if (m.tryWordsAt(cpu.idtr.hi, cpu.idtr.lo + v * 16, 8, false, Q, 2, true, false, traced ? [`IDT[${v}]`, `IDT[${v}]+8`] : undefined) < 2) return withExt(m.lastFault!);
  const d0 = Q[0]!;
  const d1 = Q[1]!;
  const selector = d0 >>> 16;
  const type = gateType(d1);
  const ist = d1 & 7;
  const offLo = gateOffsetLo(d0, d1);
  const offHi = Q[2]!;
  if (type !== GATE_INTERRUPT && type !== GATE_TRAP) return gp(idtErrorCode(v, true));
  if (!((d1 >>> 15) & 1)) return { vector: NP, errorCode: idtErrorCode(v, true) };
  if (traced) {
    const gate = decodeGate(d0, d1, offHi);
    m.trace.emit({
      ev: 'gate', vector: v, gateVa: hex(cpu.idtr.base + BigInt(v * 16)), offset: hex(gate.offset), selector: gate.selector, ist: gate.ist,
      type: gate.type === GATE_INTERRUPT ? 'interrupt' : 'trap', dpl: gate.dpl,
    });
  }
  const target = codeSegment(m, selector);
  if (target < 0) return m.lastFault;
  const newCpl = target & CS_CONFORMING ? cpu.cpl : target & 3;
  if (newCpl > cpu.cpl) return gp(selectorErrorCode(selector, true));

  // §6.14.4-5: the stack. IST wins; else RSPn on a privilege change; else the current stack.
  const r = cpu.r;
  const oldLo = r[R_RSP]!;
  const oldHi = r[R_RSP + 1]!;
  let rspLo = oldLo;
  let rspHi = oldHi;
  let why: 'ist' | 'privilege' | null = null;
  if (ist !== 0 || newCpl < cpu.cpl) {
    why = ist !== 0 ? 'ist' : 'privilege';
    const off = ist !== 0 ? tssIstOffset(ist) : tssRspOffset(newCpl);
    const nf = readTss(m, off, !traced ? '' : ist !== 0 ? `TSS.IST${ist}` : `TSS.RSP${newCpl}`);
    if (nf) return nf;
    rspLo = Q[0]!;
    rspHi = Q[1]!;
  }
  rspLo = (rspLo & ~0xf) >>> 0; // §6.14.2: 64-bit mode aligns the new stack to 16 bytes
  // The frame, pushed SS first: SS, RSP, RFLAGS, CS, RIP and the error code.
  const n = VECTORS[v]?.errorCode ? 6 : 5;
  Q[0] = cpu.ss; Q[1] = 0;
  Q[2] = oldLo; Q[3] = oldHi;
  Q[4] = cpu.flags; Q[5] = 0;
  Q[6] = cpu.cs; Q[7] = 0;
  Q[8] = r[R_RIP]!; Q[9] = r[R_RIP + 1]!;
  Q[10] = (f.errorCode ?? 0) >>> 0; Q[11] = 0;
  if (why && traced) {
    m.trace.emit({ ev: 'stack_switch', from: hex(joinHalves(oldLo, oldHi)), to: hex(joinHalves(rspLo, rspHi)), why, ist: why === 'ist' ? ist : undefined });
  }
  if (traced) {
    // Traced: one push at a time, each followed by its event.
    for (let i = 0; i < n; i++) {
      const d = -8 * (i + 1);
      if (m.tryWordsAt(rspHi, rspLo + d, -8, true, Q, 1, true, true, [`push ${FRAME_NAMES[i]!}`], i) < 1) return withExt(m.lastFault!);
      m.trace.emit({ ev: 'push', addr: hex(BigInt.asUintN(64, joinHalves(rspLo, rspHi) + BigInt(d))), value: hex(joinHalves(Q[2 * i]!, Q[2 * i + 1]!)), what: FRAME_NAMES[i]! });
    }
  } else if (m.tryWordsAt(rspHi, rspLo - 8, -8, true, Q, n, true, true) < n) {
    return withExt(m.lastFault!);
  }
  // Commit: nothing above changed the registers, so a nested fault left them as they were.
  if (newCpl < cpu.cpl) cpu.ss = newCpl; // §6.14.4: SS gets a null selector with RPL = new CPL
  addHalves(r, R_RSP, rspHi, rspLo, -8 * n);
  cpu.cs = (selector & ~3) | newCpl;
  r[R_RIP] = offLo;
  r[R_RIP + 1] = offHi;
  let flags = cpu.flags & ~DELIVERY_CLEARS;
  if (type === GATE_INTERRUPT) flags &= ~IF;
  m.setFlags(flags);
  if (traced) {
    m.trace.emit({ ev: 'deliver', vector: v, rip: hex(cpu.rip), cs: cpu.cs, rsp: hex(cpu.rsp), cpl: newCpl, ifCleared: type === GATE_INTERRUPT });
  }
  return null;
}

const DELIVERY_CLEARS = Number(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
const IF = Number(RFLAGS_IF);
/** codeSegment's result: DPL in bits 1:0, and this bit for a conforming segment; -1 for a fault. */
const CS_CONFORMING = 4;

/** A #GP/#SS raised by a push during delivery carries EXT=1 (§6.13). */
function withExt(f: Fault): Fault {
  return f.vector === PF ? f : { vector: f.vector, errorCode: (f.errorCode ?? 0) | 1 };
}

/** One implicit 8-byte read into the delivery scratch's first word; null, or the fault (with EXT). */
function readImplicit(m: Machine, hi: number, lo: number, off: number, what: string): Fault | null {
  return m.tryWordsAt(hi, lo + off, 8, false, m.deliveryScratch, 1, true, false, m.trace.enabled ? [what] : undefined) < 1 ? withExt(m.lastFault!) : null;
}

/** The TSS quadword at `off` into the delivery scratch's first word; null, or the fault. */
function readTss(m: Machine, off: number, what: string): Fault | null {
  if (off + 7 > m.cpu.tr.limit) return { vector: TS, errorCode: selectorErrorCode(m.cpu.tr.selector, true) };
  return readImplicit(m, m.cpu.tr.hi, m.cpu.tr.lo, off, what);
}

/**
 * The code segment a gate or IRETQ names, from the GDT (§6.12.1.1, §5.8): its DPL, plus
 * CS_CONFORMING for a conforming segment; or -1 with the fault in `m.lastFault`.
 */
function codeSegment(m: Machine, sel: number): number {
  if ((sel & ~3) === 0) return fail(m, gp(1));
  if ((sel | 7) > m.cpu.gdtr.limit) return fail(m, gp(selectorErrorCode(sel, true)));
  const rf = readImplicit(m, m.cpu.gdtr.hi, m.cpu.gdtr.lo, sel & ~7, m.trace.enabled ? `GDT[${hex(sel & ~7)}]` : '');
  if (rf) return fail(m, rf);
  const seg = decodeSeg(m.deliveryScratch[0]!, m.deliveryScratch[1]!);
  if (!seg.present) return fail(m, { vector: NP, errorCode: selectorErrorCode(sel, true) });
  if (!isLongCode(seg)) return fail(m, gp(selectorErrorCode(sel, true)));
  return seg.dpl | ((seg.type & 4) !== 0 ? CS_CONFORMING : 0);
}

/** codeSegment's failure: the fault in `m.lastFault`, -1. */
function fail(m: Machine, f: Fault): number {
  m.lastFault = f;
  return -1;
}

// --- instructions ---------------------------------------------------------------------------------

const IRET_WHAT = ['iretq frame', 'iretq frame', 'iretq frame', 'iretq frame', 'iretq frame'];

/**
 * A run of PUSHes by software at the current CPL (`values[0]` first), as separate PUSH
 * instructions: a fault stops the run with the earlier pushes done and RSP moved past them.
 */
export function pushWords(m: Machine, values: readonly bigint[], whats: readonly string[]): Fault | null {
  const buf = new Uint32Array(2 * values.length);
  values.forEach((v, i) => storeHalves(buf, 2 * i, v));
  return pushHalves(m, buf, values.length, whats);
}

/**
 * The number form of `pushWords` (the entry code's register saves): push word
 * i of `buf` (halves at 2i, 2i+1) for i = at..at+n-1. Traced, it is one `push` per word.
 */
export function pushHalves(m: Machine, buf: Uint32Array, n: number, whats?: readonly string[], at = 0): Fault | null {
  if (m.trace.enabled) {
    for (let i = at; i < at + n; i++) {
      const f = push(m, joinHalves(buf[2 * i]!, buf[2 * i + 1]!), whats?.[i - at] ?? '');
      if (f) return f;
    }
    return null;
  }
  const r = m.cpu.r;
  const done = m.tryWordsAt(r[R_RSP + 1]!, r[R_RSP]! - 8, -8, true, buf, n, false, true, undefined, at);
  m.cpu.addRsp(-8 * done);
  return done < n ? m.lastFault : null;
}

/**
 * A run of `n` POPs at the current CPL, as separate POP instructions. Returns the values in pop
 * order, or the fault (RSP moved past the pops done before it).
 */
export function popWords(m: Machine, n: number, whats: readonly string[]): bigint[] | Fault {
  const buf = new Uint32Array(2 * n);
  const f = popHalves(m, buf, n, whats);
  return f ?? Array.from({ length: n }, (_, i) => joinHalves(buf[2 * i]!, buf[2 * i + 1]!));
}

/** The number form of `popWords`: pop `n` words into `buf` (halves at 2i, 2i+1), in pop order. */
export function popHalves(m: Machine, buf: Uint32Array, n: number, whats?: readonly string[], at = 0): Fault | null {
  const r = m.cpu.r;
  if (m.trace.enabled) {
    for (let i = 0; i < n; i++) {
      const v = pop(m, whats?.[i] ?? '');
      if (typeof v !== 'bigint') return v;
      storeHalves(buf, 2 * (at + i), v);
    }
    return null;
  }
  const done = m.tryWordsAt(r[R_RSP + 1]!, r[R_RSP]!, 8, false, buf, n, false, true, undefined, at);
  m.cpu.addRsp(8 * done);
  return done < n ? m.lastFault : null;
}

/** PUSH of a 64-bit value by software at the current CPL. */
export function push(m: Machine, value: bigint, what: string): Fault | null {
  const rsp = BigInt.asUintN(64, m.cpu.rsp - 8n);
  const r = m.tryAccess({ va: rsp, access: 'write', size: 8, value, stack: true, what: `push ${what}` });
  if (r.kind === 'fault') return r.fault;
  m.cpu.rsp = rsp;
  if (m.trace.enabled) m.trace.emit({ ev: 'push', addr: hex(rsp), value: hex(value), what });
  return null;
}

/** POP of a 64-bit value at the current CPL. */
export function pop(m: Machine, what: string): bigint | Fault {
  const rsp = m.cpu.rsp;
  const r = m.tryAccess({ va: rsp, access: 'read', size: 8, stack: true, what: `pop ${what}` });
  if (r.kind === 'fault') return r.fault;
  m.cpu.rsp = rsp + 8n;
  if (m.trace.enabled) m.trace.emit({ ev: 'pop', addr: hex(rsp), value: hex(r.value), what });
  return r.value;
}

/**
 * `n` 8-byte accesses at RSP + `off` (upwards), RSP unchanged: a `mov` to or from the stack
 * (`movq 8(%rsp), %rsi`), in the halves form of tryWordsAt. Returns the fault, or null.
 */
export function rspWords(m: Machine, off: number, write: boolean, buf: Uint32Array, n: number): Fault | null {
  const r = m.cpu.r;
  return m.tryWordsAt(r[R_RSP + 1]!, r[R_RSP]! + off, 8, write, buf, n, false, false) < n ? m.lastFault : null;
}

/**
 * IRETQ (SDM Vol. 2, IRET): pop RIP, CS, RFLAGS, RSP, SS. A return to an outer level checks
 * the new code segment; a fault leaves the registers as they were.
 */
export function iretq(m: Machine): Fault | null {
  const cpu = m.cpu;
  const r = cpu.r;
  const w = m.iretScratch;
  if (m.tryWordsAt(r[R_RSP + 1]!, r[R_RSP]!, 8, false, w, 5, false, true, m.trace.enabled ? IRET_WHAT : undefined) < 5) return m.lastFault;
  const sel = w[2]! & 0xffff;
  const rpl = sel & 3;
  if (rpl < cpu.cpl) return gp(selectorErrorCode(sel, false));
  const seg = codeSegment(m, sel);
  if (seg < 0) return { vector: m.lastFault!.vector, errorCode: (m.lastFault!.errorCode ?? 0) & ~1 };
  if (!(seg & CS_CONFORMING) && (seg & 3) !== rpl) return gp(selectorErrorCode(sel, false));
  r[R_RIP] = w[0]!;
  r[R_RIP + 1] = w[1]!;
  cpu.cs = sel;
  m.setFlags(w[4]! | 2);
  r[R_RSP] = w[6]!;
  r[R_RSP + 1] = w[7]!;
  cpu.ss = w[8]! & 0xffff;
  if (m.trace.enabled) {
    m.trace.emit({ ev: 'iret', rip: hex(cpu.rip), cs: sel, rflags: hex(joinHalves(w[4]!, w[5]!)), rsp: hex(cpu.rsp), ss: cpu.ss, cpl: cpu.cpl });
  }
  return null;
}

/** SWAPGS: exchange GS.base and IA32_KERNEL_GS_BASE; #UD outside CPL 0. */
export function swapgs(m: Machine): Fault | null {
  const cpu = m.cpu;
  if (cpu.cpl !== 0) return { vector: UD, errorCode: undefined };
  const gs = cpu.gsBase;
  cpu.gsBase = cpu.kernelGsBase;
  cpu.kernelGsBase = gs;
  if (m.trace.enabled) m.trace.emit({ ev: 'reg', name: 'gs.base', old: hex(gs), value: hex(cpu.gsBase) });
  return null;
}

export function lidt(m: Machine, base: bigint, limit: number): void {
  m.cpu.idtr = tableReg(base, limit);
}

export function lgdt(m: Machine, base: bigint, limit: number): void {
  m.cpu.gdtr = tableReg(base, limit);
}

/** LTR: load TR from the 16-byte TSS descriptor in the GDT (§8.2.4). */
export function ltr(m: Machine, sel: number): Fault | null {
  if ((sel | 15) > m.cpu.gdtr.limit) return gp(selectorErrorCode(sel, false));
  const va = m.cpu.gdtr.base + BigInt(sel & ~7);
  const lo = m.tryAccess({ va, access: 'read', size: 8, implicit: true, what: 'TSS descriptor' });
  if (lo.kind === 'fault') return lo.fault;
  const hi = m.tryAccess({ va: va + 8n, access: 'read', size: 8, implicit: true, what: 'TSS descriptor+8' });
  if (hi.kind === 'fault') return hi.fault;
  const d0 = Number(lo.value & 0xffffffffn);
  const d1 = Number(lo.value >> 32n);
  const type = (d1 >>> 8) & 0xf;
  if (type !== 0x9) return gp(selectorErrorCode(sel, false)); // must be an available 64-bit TSS
  const limit = (d0 & 0xffff) | (((d1 >>> 16) & 0xf) << 16);
  m.cpu.tr = { selector: sel, ...tableReg(decodeTssDescBase(d0, d1, Number(hi.value & 0xffffffffn)), limit) };
  return null;
}


