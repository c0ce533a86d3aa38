// The result of one scenario step on one kernel: what the runner reports, what `expect:`
// is matched against, and what `--json` prints. Plain JSON: 64-bit values are hex strings
// ("0x7f0000000000"), as in trace events (src/trace/events.ts), so results diff exactly.
import type { Hex } from '../trace/events.js';

export type Outcome = 'ok' | 'fault' | 'signal' | 'error' | 'killed';

/** One exception the step raised, as the CPU delivered it (SDM Vol. 3 §6.15, #PF §4.7). */
export interface FaultRecord {
  vector: number;
  error_code: number;
  cr2: Hex;
}

/** One level of the page walk that translated (or failed to translate) the access. */
export interface WalkRecord {
  level: string;
  index: number;
  entry: Hex;
  flags: string;
}

/** The signal a process received, as its handler would see it in siginfo/ucontext. */
export interface SignalRecord {
  signo: number;
  name: string;
  code: number;
  addr: Hex;
  trapno: number;
  err: number;
  /** si_pkey of a SEGV_PKUERR (Linux protection keys). */
  pkey?: number;
}

/** The leaf mapping of the accessed address after the step. */
export interface PageRecord {
  present: boolean;
  writable: boolean;
  user: boolean;
  nx: boolean;
  pfn: Hex;
  zero_page: boolean;
  accessed: boolean;
  dirty: boolean;
}

/** The Mach exception a fault raised (XNU): EXC_BAD_ACCESS = 1, code = kern_return_t, subcode = the address. */
export interface MachExceptionRecord {
  type: number;
  code: number;
  subcode: Hex;
}

export interface StepResult {
  kernel: string;
  step: number;
  proc: string;
  op: string;
  outcome: Outcome;
  value?: Hex;
  pa?: Hex;
  faults?: FaultRecord[];
  walk?: WalkRecord[];
  tlb?: 'hit' | 'miss';
  signal?: SignalRecord;
  /** The error name of a failed system call, e.g. "ENOMEM". */
  errno?: string;
  /** A system call's return value. */
  ret?: Hex;
  minflt?: number;
  majflt?: number;
  page?: PageRecord;
  /** XNU only: the exception user_trap raised before it became a signal. */
  mach_exception?: MachExceptionRecord;
  message?: string;
  /** Kernel log lines (printk) the step produced, e.g. the segfault line or an oops. */
  log?: string[];
}

/**
 * `{ ...r, ...more }` for step results, built with Object.assign: in Node 20 a spread copy that
 * gets a field added (`{ ...r, value }`) costs ~0.6 us, as V8 cannot share the copy's hidden
 * class, and each field set on it afterwards is slow too; this costs ~0.08 us. Same key order.
 */
export function withFields(r: Readonly<Partial<StepResult>>, more: Readonly<Partial<StepResult>> = {}): StepResult {
  return Object.assign({}, r, more) as StepResult;
}

/** The fields every step result starts with. */
export type ResultBase = Pick<StepResult, 'kernel' | 'step' | 'proc' | 'op'>;

/** A step's result as it starts: its base fields and `outcome: 'ok'` (a literal: the fastest object V8 builds). */
export function okResult(base: ResultBase): StepResult {
  return { kernel: base.kernel, step: base.step, proc: base.proc, op: base.op, outcome: 'ok' };
}

/** A value as a result carries it: lowercase hex with 0x. Negative numbers are taken mod 2^64. */
export function hex(v: bigint | number): Hex {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}
