// struct pt_regs (arch/x86/include/asm/ptrace.h; offsets in uapi/asm/ptrace-abi.h, 5.19 = 6.x):
// the frame the entry code builds on the stack. The model keeps it in simulated memory exactly
// there; `PtRegs` is the C handler's view of it, loaded from memory once and stored back when
// the handler changes it (an exception-table fixup rewrites ip), so tests can read the frame back.
//
//    off  field     off  field     off  field
//      0  r15        56  r10       112  di
//      8  r14        64  r9        120  orig_ax  (error code on entry; -1 once consumed)
//     16  r13        72  r8        128  ip       \
//     24  r12        80  ax        136  cs        |
//     32  bp         88  cx        144  flags     |  pushed by the CPU
//     40  bx         96  dx        152  sp        |
//     48  r11       104  si        160  ss       /
//
// FRAME_SIZE = 168 (21 words). PUSH_REGS pushes di first, so di sits highest of the software part.

import type { Machine } from '../../../../../../hw/machine.js';
import { joinHalves, storeHalves } from '../../../../../../hw/regs.js';
import { hex } from '../../../../../../trace/events.js';

export const PT_REGS_FIELDS = [
  'r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di',
  'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss',
] as const;
export type PtRegsField = (typeof PT_REGS_FIELDS)[number];

/** Byte offset of each field (uapi/asm/ptrace-abi.h: R15 0 ... SS 160). */
export const PT_REGS_OFFSET: Readonly<Record<PtRegsField, number>> = Object.fromEntries(
  PT_REGS_FIELDS.map((f, i) => [f, i * 8]),
) as Record<PtRegsField, number>;

export const ORIG_RAX = 120;
export const RIP = 128;
export const CS = 136;
export const EFLAGS = 144;
export const RSP = 152;
export const SS = 160;
export const FRAME_SIZE = 168;

/** The fields of a frame as bigint views of its halves (a prototype accessor per field, defined below). */
class PtRegsFields {
  constructor(readonly w: Uint32Array) {}
}
PT_REGS_FIELDS.forEach((f, i) => {
  Object.defineProperty(PtRegsFields.prototype, f, {
    get(this: PtRegsFields) {
      return joinHalves(this.w[2 * i]!, this.w[2 * i + 1]!);
    },
  });
});

/**
 * The C view of a pt_regs frame at `addr` (a kernel virtual address): its 21 words as 32-bit
 * halves in `w` (field i at 2i, 2i+1), read from memory once; `v` reads them as bigints.
 */
export class PtRegs {
  readonly w = new Uint32Array(2 * PT_REGS_FIELDS.length);
  readonly v: Readonly<Record<PtRegsField, bigint>> = new PtRegsFields(this.w) as unknown as Record<PtRegsField, bigint>;
  /** `addr` as 32-bit halves. */
  readonly lo: number;
  readonly hi: number;
  /** `values`: a frame built by hand (tests); else all zero until loaded. */
  constructor(readonly addr: bigint, values?: Readonly<Record<PtRegsField, bigint>>) {
    const a = BigInt.asUintN(64, addr);
    this.lo = Number(a & 0xffffffffn);
    this.hi = Number(a >> 32n);
    if (values) PT_REGS_FIELDS.forEach((f, i) => storeHalves(this.w, 2 * i, values[f]));
  }
  get ip(): bigint { return this.v.ip; }
  get cs(): bigint { return this.v.cs; }
  get flags(): bigint { return this.v.flags; }
  get sp(): bigint { return this.v.sp; }
}

/** user_mode(regs): the saved CS has RPL 3 (asm/ptrace.h). */
export function user_mode(regs: PtRegs): boolean {
  return (regs.w[2 * (CS / 8)]! & 3) !== 0;
}

/**
 * Read the frame at `addr` through the current address space (CPL 0). Every word is a real
 * memory read; a fault here is a model bug (the entry code only reads mapped stacks). With
 * `views`, the view of a frame at the same address is reloaded instead of allocated: a frame's
 * view is only live while its entry runs, and a nested entry's frame sits lower on the stack.
 */
export function loadPtRegs(m: Machine, addr: bigint, views?: Map<bigint, PtRegs>): PtRegs {
  let regs = views?.get(addr);
  if (regs === undefined) {
    regs = new PtRegs(addr);
    if (views) {
      if (views.size >= 64) views.clear();
      views.set(addr, regs);
    }
  }
  if (m.tryWordsAt(regs.hi, regs.lo, 8, false, regs.w, PT_REGS_FIELDS.length, false, false) < PT_REGS_FIELDS.length) {
    throw new Error(`model bug: reading pt_regs at ${hex(addr)} faulted (vector ${m.lastFault?.vector})`);
  }
  return regs;
}

/** Write one field back to the frame in memory (and to the view). */
export function storeField(m: Machine, regs: PtRegs, f: PtRegsField, value: bigint): void {
  const i = PT_REGS_OFFSET[f] / 8;
  storeHalves(regs.w, 2 * i, value);
  writeBack(m, regs, i);
}

/** storeField with the value as 32-bit halves. */
export function storeFieldHalves(m: Machine, regs: PtRegs, f: PtRegsField, lo: number, hi: number): void {
  const i = PT_REGS_OFFSET[f] / 8;
  regs.w[2 * i] = lo;
  regs.w[2 * i + 1] = hi;
  writeBack(m, regs, i);
}

/** Write word `i` of the view back to the frame in memory. */
function writeBack(m: Machine, regs: PtRegs, i: number): void {
  if (m.tryWordsAt(regs.hi, regs.lo + 8 * i, 8, true, regs.w, 1, false, false, undefined, i) < 1) {
    throw new Error(`model bug: kernel write of ${hex(regs.addr + BigInt(8 * i))} faulted (vector ${m.lastFault?.vector})`);
  }
}

export function read64(m: Machine, va: bigint): bigint {
  const r = m.tryAccess({ va, access: 'read', size: 8 });
  if (r.kind === 'fault') throw new Error(`model bug: kernel read of ${hex(va)} faulted (vector ${r.fault.vector})`);
  return r.value;
}

export function write64(m: Machine, va: bigint, value: bigint): void {
  const r = m.tryAccess({ va, access: 'write', size: 8, value });
  if (r.kind === 'fault') throw new Error(`model bug: kernel write of ${hex(va)} faulted (vector ${r.fault.vector})`);
}

/** The frame as the trace shows it: field -> hex, in memory order. */
export function ptRegsRecord(regs: PtRegs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of PT_REGS_FIELDS) out[f] = hex(regs.v[f]);
  return out;
}
