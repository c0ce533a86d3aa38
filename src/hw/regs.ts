// Architectural registers the paging and exception machinery reads (SDM Vol. 3 §2.5 control
// registers, §2.2.1 EFER, §4.1 paging modes, §4.10.1 PCIDs, §4.6.2 PKRU).
//
// Values are bigint, as software sees them. The Machine keeps derived, fast copies (booleans and
// numbers) that the hot path reads; it refreshes them whenever one of these registers is written.

export const CR0_PE = 1n << 0n;
export const CR0_WP = 1n << 16n; // supervisor writes honour R/W (§4.6.1)
export const CR0_PG = 1n << 31n;

export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n; // global pages (§4.10.2.4)
export const CR4_LA57 = 1n << 12n; // 5-level paging (§4.5)
export const CR4_PCIDE = 1n << 17n; // process-context identifiers (§4.10.1)
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
export const CR4_PKE = 1n << 22n; // protection keys for user-mode pages (§4.6.2)

export const EFER_LME = 1n << 8n;
export const EFER_LMA = 1n << 10n;
export const EFER_NXE = 1n << 11n;

export const RFLAGS_FIXED = 1n << 1n; // bit 1 always reads 1
export const RFLAGS_IF = 1n << 9n;
export const RFLAGS_TF = 1n << 8n;
export const RFLAGS_NT = 1n << 14n;
export const RFLAGS_RF = 1n << 16n;
export const RFLAGS_VM = 1n << 17n;
export const RFLAGS_AC = 1n << 18n; // SMAP override for explicit supervisor accesses

/** CR3 with CR4.PCIDE=1: bits 11:0 are the PCID; bit 63 on a MOV to CR3 asks for no flush. */
export const CR3_PCID_MASK = 0xfffn;
export const CR3_NOFLUSH = 1n << 63n;

/** Names of the 16 general-purpose registers, in encoding order. */
export const GPR_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;
export type GprName = (typeof GPR_NAMES)[number];

export interface DescriptorTableReg {
  base: bigint;
  limit: number;
  /** `base` as 32-bit halves (delivery reads the tables without bigint arithmetic). */
  lo: number;
  hi: number;
}

/** A descriptor-table register value (IDTR, GDTR, or TR's base and limit). */
export function tableReg(base: bigint, limit: number): DescriptorTableReg {
  const b = BigInt.asUintN(64, base);
  return { base: b, limit, lo: Number(b & 0xffffffffn), hi: Number(b >> 32n) };
}

/** Indexes into `CpuState.r`: register i (encoding order) is `r[2i]` (bits 31:0) and `r[2i+1]` (bits 63:32). */
export const R_RSP = 8;
export const R_RIP = 32;
const TWO32 = 2 ** 32;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * `out[i]` (bits 31:0) and `out[i + 1]` = (`hi`:`lo` + `delta`) mod 2^64, for |delta| < 2^32:
 * RSP after pushes, an address plus an offset. (A Uint32Array stores mod 2^32, so the low half
 * wraps by itself and only the carry or borrow into the high half needs a test.)
 */
export function addHalves(out: Uint32Array, i: number, hi: number, lo: number, delta: number): void {
  const l = lo + delta;
  out[i] = l;
  out[i + 1] = l >= TWO32 ? hi + 1 : l < 0 ? hi - 1 : hi;
}

/** A 64-bit value from its 32-bit halves. */
export function joinHalves(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Store `v` (mod 2^64) as two 32-bit halves at `a[i]` (bits 31:0) and `a[i + 1]`. */
export function storeHalves(a: Uint32Array, i: number, v: bigint): void {
  if (v >= 0n && v <= MAX_SAFE) {
    // User addresses and small values: through a double, no bigint allocated.
    const n = Number(v);
    a[i] = n % TWO32;
    a[i + 1] = Math.floor(n / TWO32);
    return;
  }
  const u = BigInt.asUintN(64, v);
  a[i] = Number(u & 0xffffffffn);
  a[i + 1] = Number(u >> 32n);
}

/**
 * The architectural state of one logical processor.
 *
 * The general registers and RIP live as 32-bit halves in `r`, so the entry code and exception
 * delivery move them to and from memory without bigint arithmetic; `gpr`, `rip` and `rsp` are
 * bigint views of the same storage, as software reads them. RFLAGS is a number (bits 63:22 are
 * reserved and always 0); `rflags` is its bigint view.
 */
export class CpuState {
  cr0 = CR0_PE | CR0_PG | CR0_WP;
  cr2 = 0n;
  cr3 = 0n;
  cr4 = CR4_PAE;
  efer = EFER_LME | EFER_LMA | EFER_NXE;
  /** RFLAGS as a number (write it through Machine.setRflags, which keeps the paging view current). */
  flags = Number(RFLAGS_FIXED);
  /** Selectors; CPL is CS.RPL (the low two bits of CS) in 64-bit mode. */
  cs = 0;
  ss = 0;
  pkru = 0;
  gsBase = 0n;
  kernelGsBase = 0n;
  gdtr: DescriptorTableReg = tableReg(0n, 0);
  idtr: DescriptorTableReg = tableReg(0n, 0);
  /** Task register: selector and the base/limit loaded from its descriptor by LTR. */
  tr: DescriptorTableReg & { selector: number } = { selector: 0, ...tableReg(0n, 0) };
  /** The 16 general registers (encoding order), then RIP, as 32-bit halves (see R_RSP, R_RIP). */
  readonly r = new Uint32Array(34);
  /** The general registers by name, as bigint views of `r` (enumerable, so `{ ...gpr }` copies them). */
  readonly gpr: Record<GprName, bigint>;

  constructor() {
    const r = this.r;
    const gpr = {} as Record<GprName, bigint>;
    GPR_NAMES.forEach((name, i) => {
      Object.defineProperty(gpr, name, {
        enumerable: true,
        get: () => joinHalves(r[2 * i]!, r[2 * i + 1]!),
        set: (v: bigint) => storeHalves(r, 2 * i, v),
      });
    });
    this.gpr = gpr;
  }

  get cpl(): number {
    return this.cs & 3;
  }

  get rsp(): bigint {
    return joinHalves(this.r[R_RSP]!, this.r[R_RSP + 1]!);
  }

  set rsp(v: bigint) {
    storeHalves(this.r, R_RSP, v);
  }

  get rip(): bigint {
    return joinHalves(this.r[R_RIP]!, this.r[R_RIP + 1]!);
  }

  set rip(v: bigint) {
    storeHalves(this.r, R_RIP, v);
  }

  get rflags(): bigint {
    return BigInt(this.flags);
  }

  /** Add `delta` (|delta| < 2^32) to RSP, wrapping mod 2^64. */
  addRsp(delta: number): void {
    addHalves(this.r, R_RSP, this.r[R_RSP + 1]!, this.r[R_RSP]!, delta);
  }
}

/** Bit names for the `set` operation and for display. */
export const CONTROL_BITS = {
  'cr0.wp': ['cr0', CR0_WP],
  'cr4.pge': ['cr4', CR4_PGE],
  'cr4.la57': ['cr4', CR4_LA57],
  'cr4.pcide': ['cr4', CR4_PCIDE],
  'cr4.smep': ['cr4', CR4_SMEP],
  'cr4.smap': ['cr4', CR4_SMAP],
  'cr4.pke': ['cr4', CR4_PKE],
  'efer.nxe': ['efer', EFER_NXE],
  'rflags.ac': ['rflags', RFLAGS_AC],
} as const satisfies Record<string, readonly ['cr0' | 'cr4' | 'efer' | 'rflags', bigint]>;
export type ControlBit = keyof typeof CONTROL_BITS;
