// Descriptor formats in IA-32e mode: IDT gates (SDM Vol. 3 §6.14.1, Figure 6-8), code/data segment
// descriptors (§3.4.5, §5.2.1) and the 64-bit TSS and its descriptor (§8.7, Figures 8-11 and 8-4).
// Everything is encoded as little-endian 32-bit dwords, the way it sits in memory.

/*  64-bit interrupt/trap gate, 16 bytes:
 *
 *   31                 16 15 14 13 12   8 7   3 2  0
 *  +---------------------+--+-----+------+-----+----+
 *  | offset 31:16        | P| DPL |0 type| 0   |IST |  dword 1   (type: 0xE interrupt, 0xF trap)
 *  +---------------------+--+-----+------+-----+----+
 *  | segment selector    | offset 15:0              |  dword 0
 *  +---------------------+--------------------------+
 *  | offset 63:32                                   |  dword 2
 *  | reserved                                       |  dword 3
 */
export interface Gate {
  offset: bigint;
  selector: number;
  ist: number;
  type: number;
  dpl: number;
  present: boolean;
}

export const GATE_INTERRUPT = 0xe;
export const GATE_TRAP = 0xf;

export function encodeGate(g: Gate): [number, number, number, number] {
  const off = BigInt.asUintN(64, g.offset);
  const lo = Number(off & 0xffffn);
  const mid = Number((off >> 16n) & 0xffffn);
  const high = Number(off >> 32n);
  const d0 = ((g.selector & 0xffff) << 16) | lo;
  const attrs = (g.ist & 7) | ((g.type & 0x1f) << 8) | ((g.dpl & 3) << 13) | (g.present ? 1 << 15 : 0);
  const d1 = (mid << 16) | attrs;
  return [d0 >>> 0, d1 >>> 0, high >>> 0, 0];
}

/** Bits 31:0 of a gate's offset, from its first two dwords. */
export function gateOffsetLo(d0: number, d1: number): number {
  return ((d1 & 0xffff0000) | (d0 & 0xffff)) >>> 0;
}

/** A gate's type field (0xE interrupt, 0xF trap), from its second dword. */
export function gateType(d1: number): number {
  return (d1 >>> 8) & 0x1f;
}

export function decodeGate(d0: number, d1: number, d2: number): Gate {
  const offset = (BigInt(d2 >>> 0) << 32n) | BigInt(gateOffsetLo(d0, d1));
  return {
    offset,
    selector: d0 >>> 16,
    ist: d1 & 7,
    type: gateType(d1),
    dpl: (d1 >>> 13) & 3,
    present: ((d1 >>> 15) & 1) === 1,
  };
}

/** Decode the eight 16-bit words of a gate as lldb's `x/8hx` prints them. */
export function decodeGateWords(w: readonly number[]): Gate {
  if (w.length !== 8) throw new RangeError(`a gate is 8 16-bit words, got ${w.length}`);
  const d = [0, 1, 2].map((i) => ((w[2 * i]! & 0xffff) | ((w[2 * i + 1]! & 0xffff) << 16)) >>> 0);
  return decodeGate(d[0]!, d[1]!, d[2]!);
}

export function gateTypeName(type: number): string {
  switch (type) {
    case GATE_INTERRUPT: return '64-bit interrupt gate';
    case GATE_TRAP: return '64-bit trap gate';
    case 0xc: return '64-bit call gate (invalid in the IDT)';
    case 0x5: return 'task gate (invalid in IA-32e mode)';
    default: return `type 0x${type.toString(16)} (invalid in the IDT)`;
  }
}

/*  Code/data segment descriptor, 8 bytes (§3.4.5). In 64-bit mode base and limit are ignored for
 *  CS; what matters is P, DPL, S=1, type (code), L=1, D=0.
 *
 *   31    24 23 22 21 20 19  16 15 14 13 12 11   8 7      0
 *  +--------+--+--+--+--+------+--+-----+--+------+--------+
 *  |base31:24|G |DB|L |AV|lim  |P | DPL |S | type |base23:16|   dword 1
 *  +--------+--+--+--+--+------+--+-----+--+------+--------+
 *  | base 15:0                 | limit 15:0                 |   dword 0
 */
export interface SegDesc {
  present: boolean;
  dpl: number;
  /** S=1: code or data; S=0: system (TSS, LDT, gates). */
  s: boolean;
  type: number;
  long: boolean;
  db: boolean;
}

export function encodeSeg(s: SegDesc): [number, number] {
  const d1 = ((s.type & 0xf) << 8) | (s.s ? 1 << 12 : 0) | ((s.dpl & 3) << 13) | (s.present ? 1 << 15 : 0)
    | (0xf << 16) | (s.long ? 1 << 21 : 0) | (s.db ? 1 << 22 : 0) | (1 << 23);
  return [0x0000ffff, d1 >>> 0];
}

export function decodeSeg(_d0: number, d1: number): SegDesc {
  return {
    type: (d1 >>> 8) & 0xf,
    s: ((d1 >>> 12) & 1) === 1,
    dpl: (d1 >>> 13) & 3,
    present: ((d1 >>> 15) & 1) === 1,
    long: ((d1 >>> 21) & 1) === 1,
    db: ((d1 >>> 22) & 1) === 1,
  };
}

/** A code segment usable as the target of a 64-bit gate (§6.12.1.1: must be a 64-bit code segment). */
export function isLongCode(s: SegDesc): boolean {
  return s.present && s.s && (s.type & 0x8) !== 0 && s.long && !s.db;
}

/** 64-bit TSS descriptor (16 bytes, §8.2.3): type 0x9 available, 0xB busy. */
export function encodeTssDesc(base: bigint, limit: number, busy = false): [number, number, number, number] {
  const b = BigInt.asUintN(64, base);
  const b0 = Number(b & 0xffffn);
  const b1 = Number((b >> 16n) & 0xffn);
  const b2 = Number((b >> 24n) & 0xffn);
  const d0 = ((b0 << 16) | (limit & 0xffff)) >>> 0;
  const d1 = (b1 | ((busy ? 0xb : 0x9) << 8) | (1 << 15) | (((limit >>> 16) & 0xf) << 16) | (b2 << 24)) >>> 0;
  return [d0, d1, Number(b >> 32n) >>> 0, 0];
}

export function decodeTssDescBase(d0: number, d1: number, d2: number): bigint {
  // `>>> 0`: base bit 31 set makes the 32-bit OR negative, and a negative bigint would OR over the high half.
  return (BigInt(d2 >>> 0) << 32n) | BigInt((((d1 >>> 24) << 24) | ((d1 & 0xff) << 16) | (d0 >>> 16)) >>> 0);
}

/** Byte offsets in the 64-bit TSS (§8.7, Figure 8-11). */
export const TSS_RSP0 = 0x04;
export const TSS_IST1 = 0x24;
export const TSS_IOMAP = 0x66;
export const TSS_SIZE = 0x68;
export const tssRspOffset = (cpl: number) => TSS_RSP0 + 8 * cpl;
export const tssIstOffset = (ist: number) => TSS_IST1 + 8 * (ist - 1);
