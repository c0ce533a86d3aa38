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
import { GATE_INTERRUPT, GATE_TRAP, decodeGate, decodeSeg, decodeTssDescBase, isLongCode, tssIstOffset, tssRspOffset } from './desc.js';
import { DF, GP, NP, PF, TS, UD, idtErrorCode, nestedOutcome, selectorErrorCode, vectorMnemonic, VECTORS } from './exceptions.js';
import type { Fault, Machine } from './machine.js';
import { RFLAGS_IF, RFLAGS_NT, RFLAGS_RF, RFLAGS_TF, RFLAGS_VM } from './regs.js';

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

/** One delivery attempt. Returns null on success, or the fault raised while delivering. */
function tryDeliver(m: Machine, f: Fault): Fault | null {
  const cpu = m.cpu;
  const v = f.vector;
  if (v * 16 + 15 > cpu.idtr.limit) return gp(idtErrorCode(v, true)); // §6.12.1: beyond the IDT limit
  const gateVa = cpu.idtr.base + BigInt(v * 16);
  // The gate's two quadwords: two implicit reads (one run of them; labelled only when traced).
  const q: bigint[] = [0n, 0n];
  const r = m.tryWords(gateVa, 8, 'read', q, 2, { implicit: true, what: m.trace.enabled ? [`IDT[${v}]`, `IDT[${v}]+8`] : undefined });
  if (r.fault) return withExt(r.fault);
  const [q0, q1] = q as [bigint, bigint];
  const gate = decodeGate(Number(q0 & 0xffffffffn), Number(q0 >> 32n), Number(q1 & 0xffffffffn));
  if (gate.type !== GATE_INTERRUPT && gate.type !== GATE_TRAP) return gp(idtErrorCode(v, true));
  if (!gate.present) return { vector: NP, errorCode: idtErrorCode(v, true) };
  if (m.trace.enabled) {
    m.trace.emit({
      ev: 'gate', vector: v, gateVa: hex(gateVa), offset: hex(gate.offset), selector: gate.selector, ist: gate.ist,
      type: gate.type === GATE_INTERRUPT ? 'interrupt' : 'trap', dpl: gate.dpl,
    });
  }
  const target = codeSegment(m, gate.selector);
  if ('vector' in target) return target;
  const newCpl = target.conforming ? cpu.cpl : target.dpl;
  if (newCpl > cpu.cpl) return gp(selectorErrorCode(gate.selector, true));

  // §6.14.4-5: the stack. IST wins; else RSPn on a privilege change; else the current stack.
  const oldRsp = cpu.rsp;
  let rsp = oldRsp;
  let why: 'ist' | 'privilege' | null = null;
  if (gate.ist !== 0) {
    const r = readTss(m, tssIstOffset(gate.ist), `TSS.IST${gate.ist}`);
    if (typeof r !== 'bigint') return r;
    rsp = r;
    why = 'ist';
  } else if (newCpl < cpu.cpl) {
    const r = readTss(m, tssRspOffset(newCpl), `TSS.RSP${newCpl}`);
    if (typeof r !== 'bigint') return r;
    rsp = r;
    why = 'privilege';
  }
  rsp &= ~0xfn; // §6.14.2: 64-bit mode aligns the new stack to 16 bytes
  const frame: [string, bigint][] = [
    ['SS', BigInt(cpu.ss)], ['RSP', oldRsp], ['RFLAGS', cpu.rflags], ['CS', BigInt(cpu.cs)], ['RIP', cpu.rip],
  ];
  if (VECTORS[v]?.errorCode) frame.push(['error code', BigInt(f.errorCode ?? 0)]);
  if (why && m.trace.enabled) {
    m.trace.emit({ ev: 'stack_switch', from: hex(oldRsp), to: hex(rsp), why, ist: why === 'ist' ? gate.ist : undefined });
  }
  if (m.trace.enabled) {
    for (const [what, value] of frame) {
      rsp = BigInt.asUintN(64, rsp - 8n);
      const r = m.tryAccess({ va: rsp, access: 'write', size: 8, value, implicit: true, stack: true, what: `push ${what}` });
      if (r.kind === 'fault') return withExt(r.fault);
      m.trace.emit({ ev: 'push', addr: hex(rsp), value: hex(value), what });
    }
  } else {
    // Untraced: the same pushes as one descending run (Machine.tryWords: same faults and counters).
    const r = m.tryWords(BigInt.asUintN(64, rsp - 8n), -8, 'write', frame.map((f) => f[1]), frame.length, { implicit: true, stack: true });
    if (r.fault) return withExt(r.fault);
    rsp = BigInt.asUintN(64, rsp - BigInt(8 * frame.length));
  }
  // Commit: nothing above changed the registers, so a nested fault left them as they were.
  if (newCpl < cpu.cpl) cpu.ss = newCpl; // §6.14.4: SS gets a null selector with RPL = new CPL
  cpu.rsp = rsp;
  cpu.cs = (gate.selector & ~3) | newCpl;
  cpu.rip = gate.offset;
  let flags = cpu.rflags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
  if (gate.type === GATE_INTERRUPT) flags &= ~RFLAGS_IF;
  m.setRflags(flags);
  if (m.trace.enabled) {
    m.trace.emit({ ev: 'deliver', vector: v, rip: hex(cpu.rip), cs: cpu.cs, rsp: hex(rsp), cpl: newCpl, ifCleared: gate.type === GATE_INTERRUPT });
  }
  return null;
}

/** A #GP/#SS raised by a push during delivery carries EXT=1 (§6.13). */
function withExt(f: Fault): Fault {
  return f.vector === PF ? f : { vector: f.vector, errorCode: (f.errorCode ?? 0) | 1 };
}

function readImplicit(m: Machine, va: bigint, what: string): bigint | Fault {
  const r = m.tryAccess({ va, access: 'read', size: 8, implicit: true, what });
  return r.kind === 'ok' ? r.value : withExt(r.fault);
}

function readTss(m: Machine, off: number, what: string): bigint | Fault {
  if (off + 7 > m.cpu.tr.limit) return { vector: TS, errorCode: selectorErrorCode(m.cpu.tr.selector, true) };
  return readImplicit(m, m.cpu.tr.base + BigInt(off), what);
}

/** The code segment a gate or IRETQ names, from the GDT (§6.12.1.1, §5.8). */
function codeSegment(m: Machine, sel: number): { dpl: number; conforming: boolean } | Fault {
  if ((sel & ~3) === 0) return gp(1);
  if ((sel | 7) > m.cpu.gdtr.limit) return gp(selectorErrorCode(sel, true));
  const q = readImplicit(m, m.cpu.gdtr.base + BigInt(sel & ~7), `GDT[${hex(sel & ~7)}]`);
  if (typeof q !== 'bigint') return q;
  const seg = decodeSeg(Number(q & 0xffffffffn), Number(q >> 32n));
  if (!seg.present) return { vector: NP, errorCode: selectorErrorCode(sel, true) };
  if (!isLongCode(seg)) return gp(selectorErrorCode(sel, true));
  return { dpl: seg.dpl, conforming: (seg.type & 4) !== 0 };
}

// --- instructions ---------------------------------------------------------------------------------

const IRET_WHAT = ['iretq frame', 'iretq frame', 'iretq frame', 'iretq frame', 'iretq frame'];

/**
 * A run of PUSHes by software at the current CPL (`values[0]` first), as separate PUSH
 * instructions: a fault stops the run with the earlier pushes done and RSP moved past them.
 */
export function pushWords(m: Machine, values: readonly bigint[], whats: readonly string[]): Fault | null {
  if (m.trace.enabled) {
    for (let i = 0; i < values.length; i++) {
      const f = push(m, values[i]!, whats[i] ?? '');
      if (f) return f;
    }
    return null;
  }
  const r = m.tryWords(BigInt.asUintN(64, m.cpu.rsp - 8n), -8, 'write', values as bigint[], values.length, { stack: true });
  m.cpu.rsp = BigInt.asUintN(64, m.cpu.rsp - BigInt(8 * r.done));
  return r.fault;
}

/**
 * A run of `n` POPs at the current CPL, as separate POP instructions. Returns the values in pop
 * order, or the fault (RSP moved past the pops done before it).
 */
export function popWords(m: Machine, n: number, whats: readonly string[]): bigint[] | Fault {
  if (m.trace.enabled) {
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const v = pop(m, whats[i] ?? '');
      if (typeof v !== 'bigint') return v;
      out.push(v);
    }
    return out;
  }
  const out: bigint[] = new Array<bigint>(n).fill(0n);
  const r = m.tryWords(m.cpu.rsp, 8, 'read', out, n, { stack: true });
  m.cpu.rsp = BigInt.asUintN(64, m.cpu.rsp + BigInt(8 * r.done));
  return r.fault ?? out;
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
 * IRETQ (SDM Vol. 2, IRET): pop RIP, CS, RFLAGS, RSP, SS. A return to an outer level checks
 * the new code segment; a fault leaves the registers as they were.
 */
export function iretq(m: Machine): Fault | null {
  const cpu = m.cpu;
  const words: bigint[] = [0n, 0n, 0n, 0n, 0n];
  const r = m.tryWords(cpu.rsp, 8, 'read', words, 5, { stack: true, what: IRET_WHAT });
  if (r.fault) return r.fault;
  const [rip, cs, rflags, rsp, ss] = words as [bigint, bigint, bigint, bigint, bigint];
  const sel = Number(cs & 0xffffn);
  const rpl = sel & 3;
  if (rpl < cpu.cpl) return gp(selectorErrorCode(sel, false));
  const seg = codeSegment(m, sel);
  if ('vector' in seg) return { vector: seg.vector, errorCode: (seg.errorCode ?? 0) & ~1 };
  if (!seg.conforming && seg.dpl !== rpl) return gp(selectorErrorCode(sel, false));
  cpu.rip = rip;
  cpu.cs = sel;
  m.setRflags(rflags | 2n);
  cpu.rsp = rsp;
  cpu.ss = Number(ss & 0xffffn);
  if (m.trace.enabled) {
    m.trace.emit({ ev: 'iret', rip: hex(rip), cs: sel, rflags: hex(rflags), rsp: hex(rsp), ss: cpu.ss, cpl: cpu.cpl });
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
  m.cpu.idtr = { base: BigInt.asUintN(64, base), limit };
}

export function lgdt(m: Machine, base: bigint, limit: number): void {
  m.cpu.gdtr = { base: BigInt.asUintN(64, base), limit };
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
  m.cpu.tr = { selector: sel, base: decodeTssDescBase(d0, d1, Number(hi.value & 0xffffffffn)), limit };
  return null;
}


