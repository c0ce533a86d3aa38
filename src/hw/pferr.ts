// The page-fault error code pushed with #PF (Intel SDM Vol. 3 §4.7, Figure 4-12).
//
//   31        16 15  14..8  7     6    5    4    3     2    1    0
//  +-----------+----+------+----+----+----+----+-----+----+----+---+
//  | reserved  |SGX | rsvd |HLAT| SS | PK | I/D| RSVD| U/S| W/R| P |
//  +-----------+----+------+----+----+----+----+-----+----+----+---+
//
// The model produces P, W/R, U/S, RSVD, I/D and PK; SS (shadow stacks), HLAT and SGX are decoded
// for display only. Linux names these X86_PF_* (arch/x86/include/asm/trap_pf.h); XNU's
// T_PF_* (osfmk/i386/trap.h) are the same bits.

export const PF_P = 1 << 0;
export const PF_W = 1 << 1;
export const PF_U = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_I = 1 << 4;
export const PF_PK = 1 << 5;
export const PF_SS = 1 << 6;
export const PF_HLAT = 1 << 7;
export const PF_SGX = 1 << 15;

export interface PfErrorBit {
  bit: number;
  name: string;
  linux: string;
  set: string;
  clear: string;
}

export const PF_ERROR_BITS: readonly PfErrorBit[] = [
  { bit: 0, name: 'P', linux: 'X86_PF_PROT', set: 'protection violation on a present page', clear: 'not-present page' },
  { bit: 1, name: 'W/R', linux: 'X86_PF_WRITE', set: 'write access', clear: 'read access' },
  { bit: 2, name: 'U/S', linux: 'X86_PF_USER', set: 'user-mode access', clear: 'supervisor-mode access' },
  { bit: 3, name: 'RSVD', linux: 'X86_PF_RSVD', set: 'reserved bit set in a paging-structure entry', clear: '' },
  { bit: 4, name: 'I/D', linux: 'X86_PF_INSTR', set: 'instruction fetch', clear: '' },
  { bit: 5, name: 'PK', linux: 'X86_PF_PK', set: 'protection-key violation', clear: '' },
  { bit: 6, name: 'SS', linux: 'X86_PF_SHSTK', set: 'shadow-stack access', clear: '' },
  { bit: 7, name: 'HLAT', linux: '', set: 'HLAT paging', clear: '' },
  { bit: 15, name: 'SGX', linux: 'X86_PF_SGX', set: 'SGX-specific access-control violation', clear: '' },
];

export interface PfErrorExplained {
  code: number;
  bits: { name: string; linux: string; value: 0 | 1; meaning: string }[];
  /** One line, Pintos-like: "not-present page, write access, user-mode access". */
  summary: string;
  /** The two lines Linux's show_fault_oops prints (arch/x86/mm/fault.c). */
  oops: [string, string];
  /** Bits that no SDM-defined flag explains. */
  unknownBits: number;
}

/** Decode an error code, bit by bit, as the SDM and Linux's oops output describe it. */
export function explainPfError(code: number): PfErrorExplained {
  const bits = PF_ERROR_BITS.map((b) => {
    const value = ((code >>> b.bit) & 1) as 0 | 1;
    return { name: b.name, linux: b.linux, value, meaning: value ? b.set : b.clear };
  });
  // A fetch is not a "read access": with I/D set, W/R's clear meaning is left out.
  const parts = bits.filter((b) => b.meaning !== '' && !(b.name === 'W/R' && code & PF_I)).map((b) => b.meaning);
  const known = PF_ERROR_BITS.reduce((m, b) => m | (1 << b.bit), 0);
  return { code, bits, summary: parts.join(', '), oops: oopsLines(code), unknownBits: (code & ~known) >>> 0 };
}

/** show_fault_oops(): "#PF: supervisor write access in kernel mode" / "#PF: error_code(0x0002) - not-present page". */
function oopsLines(code: number): [string, string] {
  const who = code & PF_U ? 'user' : 'supervisor';
  const what = code & PF_I ? 'instruction fetch' : code & PF_W ? 'write access' : 'read access';
  const mode = code & PF_U ? 'user' : 'kernel';
  const why = !(code & PF_P)
    ? 'not-present page'
    : code & PF_RSVD
      ? 'reserved bit violation'
      : code & PF_PK
        ? 'protection keys violation'
        : 'permissions violation';
  return [`#PF: ${who} ${what} in ${mode} mode`, `#PF: error_code(0x${code.toString(16).padStart(4, '0')}) - ${why}`];
}
