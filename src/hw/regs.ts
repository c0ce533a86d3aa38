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
}

/** The architectural state of one logical processor. */
export class CpuState {
  cr0 = CR0_PE | CR0_PG | CR0_WP;
  cr2 = 0n;
  cr3 = 0n;
  cr4 = CR4_PAE;
  efer = EFER_LME | EFER_LMA | EFER_NXE;
  rflags = RFLAGS_FIXED;
  rip = 0n;
  /** Selectors; CPL is CS.RPL (the low two bits of CS) in 64-bit mode. */
  cs = 0;
  ss = 0;
  pkru = 0;
  gsBase = 0n;
  kernelGsBase = 0n;
  gdtr: DescriptorTableReg = { base: 0n, limit: 0 };
  idtr: DescriptorTableReg = { base: 0n, limit: 0 };
  /** Task register: selector and the base/limit loaded from its descriptor by LTR. */
  tr = { selector: 0, base: 0n, limit: 0 };
  readonly gpr: Record<GprName, bigint> = Object.fromEntries(GPR_NAMES.map((n) => [n, 0n])) as Record<GprName, bigint>;

  get cpl(): number {
    return this.cs & 3;
  }

  get rsp(): bigint {
    return this.gpr.rsp;
  }

  set rsp(v: bigint) {
    this.gpr.rsp = BigInt.asUintN(64, v);
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
