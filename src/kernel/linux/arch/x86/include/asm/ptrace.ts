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

/** The C view of a pt_regs frame at `addr` (a kernel virtual address). */
export class PtRegs {
  readonly v: Record<PtRegsField, bigint>;
  constructor(readonly addr: bigint, values?: Record<PtRegsField, bigint>) {
    this.v = values ?? (Object.fromEntries(PT_REGS_FIELDS.map((f) => [f, 0n])) as Record<PtRegsField, bigint>);
  }
  get ip(): bigint { return this.v.ip; }
  get cs(): bigint { return this.v.cs; }
  get flags(): bigint { return this.v.flags; }
  get sp(): bigint { return this.v.sp; }
}

/** user_mode(regs): the saved CS has RPL 3 (asm/ptrace.h). */
export function user_mode(regs: PtRegs): boolean {
  return (regs.v.cs & 3n) !== 0n;
}

/**
 * Read the frame at `addr` through the current address space (CPL 0). Every word is a real
 * memory read; a fault here is a model bug (the entry code only reads mapped stacks).
 */
export function loadPtRegs(m: Machine, addr: bigint): PtRegs {
  const words = new Array<bigint>(PT_REGS_FIELDS.length).fill(0n);
  const r = m.tryWords(addr, 8, 'read', words, words.length);
  if (r.fault) throw new Error(`model bug: reading pt_regs at ${hex(addr)} faulted (vector ${r.fault.vector})`);
  const w = words as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  // One literal in field order: a fixed-shape object (the hot path reads it on every fault).
  const v: Record<PtRegsField, bigint> = {
    r15: w[0], r14: w[1], r13: w[2], r12: w[3], bp: w[4], bx: w[5], r11: w[6], r10: w[7], r9: w[8], r8: w[9], ax: w[10],
    cx: w[11], dx: w[12], si: w[13], di: w[14], orig_ax: w[15], ip: w[16], cs: w[17], flags: w[18], sp: w[19], ss: w[20],
  };
  return new PtRegs(addr, v);
}

/** Write one field back to the frame in memory (and to the view). */
export function storeField(m: Machine, regs: PtRegs, f: PtRegsField, value: bigint): void {
  regs.v[f] = BigInt.asUintN(64, value);
  write64(m, regs.addr + BigInt(PT_REGS_OFFSET[f]), regs.v[f]);
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
