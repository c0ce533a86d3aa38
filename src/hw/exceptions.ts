// Exception vectors and classes (Intel SDM Vol. 3 §6.3 Table 6-1, §6.15 Tables 6-4 and 6-5).

export const DE = 0;
export const DB = 1;
export const NMI = 2;
export const BP = 3;
export const UD = 6;
export const DF = 8;
export const TS = 10;
export const NP = 11;
export const SS = 12;
export const GP = 13;
export const PF = 14;

export interface VectorInfo {
  mnemonic: string;
  name: string;
  errorCode: boolean;
}

/** Table 6-1: the architecturally defined vectors, with whether the CPU pushes an error code. */
export const VECTORS: Readonly<Record<number, VectorInfo>> = {
  0: { mnemonic: '#DE', name: 'divide error', errorCode: false },
  1: { mnemonic: '#DB', name: 'debug', errorCode: false },
  2: { mnemonic: 'NMI', name: 'non-maskable interrupt', errorCode: false },
  3: { mnemonic: '#BP', name: 'breakpoint', errorCode: false },
  4: { mnemonic: '#OF', name: 'overflow', errorCode: false },
  5: { mnemonic: '#BR', name: 'BOUND range exceeded', errorCode: false },
  6: { mnemonic: '#UD', name: 'invalid opcode', errorCode: false },
  7: { mnemonic: '#NM', name: 'device not available', errorCode: false },
  8: { mnemonic: '#DF', name: 'double fault', errorCode: true },
  10: { mnemonic: '#TS', name: 'invalid TSS', errorCode: true },
  11: { mnemonic: '#NP', name: 'segment not present', errorCode: true },
  12: { mnemonic: '#SS', name: 'stack-segment fault', errorCode: true },
  13: { mnemonic: '#GP', name: 'general protection', errorCode: true },
  14: { mnemonic: '#PF', name: 'page fault', errorCode: true },
  16: { mnemonic: '#MF', name: 'x87 floating-point error', errorCode: false },
  17: { mnemonic: '#AC', name: 'alignment check', errorCode: true },
  18: { mnemonic: '#MC', name: 'machine check', errorCode: false },
  19: { mnemonic: '#XM', name: 'SIMD floating-point', errorCode: false },
  20: { mnemonic: '#VE', name: 'virtualization exception', errorCode: false },
  21: { mnemonic: '#CP', name: 'control protection', errorCode: true },
};

export function vectorMnemonic(v: number): string {
  return VECTORS[v]?.mnemonic ?? `vector ${v}`;
}

export type ExceptionClass = 'benign' | 'contributory' | 'page-fault' | 'double-fault';

/** Table 6-4. */
export function exceptionClass(v: number): ExceptionClass {
  if (v === PF) return 'page-fault';
  if (v === DF) return 'double-fault';
  if (v === DE || v === TS || v === NP || v === SS || v === GP) return 'contributory';
  return 'benign';
}

/**
 * Table 6-5: what happens when `second` is raised while delivering `first`.
 * 'double' raises #DF, 'shutdown' is a triple fault, 'serial' delivers the second one normally.
 */
export function nestedOutcome(first: number, second: number): 'double' | 'shutdown' | 'serial' {
  const a = exceptionClass(first);
  const b = exceptionClass(second);
  if (a === 'double-fault') return b === 'benign' ? 'serial' : 'shutdown';
  if (a === 'contributory' && b === 'contributory') return 'double';
  if (a === 'page-fault' && (b === 'contributory' || b === 'page-fault')) return 'double';
  return 'serial';
}

/** Error code for a fault that refers to IDT entry `vector` (§6.13): index, IDT=1, EXT. */
export function idtErrorCode(vector: number, ext: boolean): number {
  return (vector << 3) | 2 | (ext ? 1 : 0);
}

/** Error code for a fault that refers to a GDT selector (§6.13). */
export function selectorErrorCode(selector: number, ext: boolean): number {
  return (selector & 0xfff8) | (ext ? 1 : 0);
}
