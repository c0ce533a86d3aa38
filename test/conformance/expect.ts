// Assertion helpers for the host-kernel conformance tests: run a step list on the real kernel and
// compare records with exact expected values.

import assert from 'node:assert/strict';
import { runOnHost, type HostPage, type HostStepRecord } from './host.js';

/** #PF error-code bits (arch/x86/include/asm/trap_pf.h; SDM Vol. 3 §4.7). */
export const PF_PROT = 0x1;
export const PF_WRITE = 0x2;
export const PF_USER = 0x4;
export const PF_INSTR = 0x10;

export const SIGSEGV = 11;
/** si_codes (include/uapi/asm-generic/siginfo.h). */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SI_KERNEL = 0x80;

export const X86_TRAP_GP = 13;
export const X86_TRAP_PF = 14;

/** Run steps with no blank or comment lines: the records line up with the steps, one each. */
export function run<const S extends readonly string[]>(steps: S): { [K in keyof S]: HostStepRecord } {
  const records = runOnHost(steps);
  assert.equal(records.length, steps.length, 'one record per step');
  records.forEach((r, i) => assert.equal(r.step, i));
  return records as { [K in keyof S]: HostStepRecord };
}

/** The step succeeded without a signal; returns its page state. */
export function ok(r: HostStepRecord, faults?: { minflt: number; majflt?: number }): HostPage | null {
  assert.equal(r.outcome, 'ok', `${r.line}: expected ok, got ${r.outcome} ${r.errno ?? ''} ${r.signal?.codeName ?? ''}`);
  assert.equal(r.signal, undefined);
  if (faults) assert.deepEqual({ minflt: r.minflt, majflt: r.majflt }, { majflt: 0, ...faults }, r.line);
  return r.page;
}

/** The syscall failed with `errno` and took no fault. */
export function failed(r: HostStepRecord, errno: string): void {
  assert.equal(r.outcome, 'error', r.line);
  assert.equal(r.errno, errno, r.line);
  assert.deepEqual({ minflt: r.minflt, majflt: r.majflt }, { minflt: 0, majflt: 0 }, r.line);
}

export interface ExpectedSignal {
  code: number;
  addr: bigint;
  trapno: number;
  err: number;
  cr2: bigint;
}

/** The access ended in SIGSEGV with exactly these siginfo/sigcontext values and counted no fault
 *  (checklist #24: failed faults never increment min_flt/maj_flt). */
export function segv(r: HostStepRecord, e: ExpectedSignal): void {
  assert.equal(r.outcome, 'fault', `${r.line}: expected a fault, got ${r.outcome}`);
  const s = r.signal!;
  assert.deepEqual(
    { signo: s.signo, code: s.code, addr: s.addr, trapno: s.trapno, err: s.err, cr2: s.cr2 },
    { signo: SIGSEGV, ...e }, r.line);
  assert.deepEqual({ minflt: r.minflt, majflt: r.majflt }, { minflt: 0, majflt: 0 }, `${r.line}: fault counts`);
}

/** A #PF signal: si_addr, cr2 and the reported error code as __bad_area_nosemaphore sets them. */
export const pf = (code: number, err: number, addr: bigint): ExpectedSignal =>
  ({ code, err, addr, trapno: X86_TRAP_PF, cr2: addr });

/** The page is mapped: present in pagemap, with a PFN identity. */
export function mapped(p: HostPage | null, what: string): HostPage & { pfnId: number } {
  assert.ok(p, `${what}: no page state`);
  assert.equal(p.present, true, `${what}: present`);
  assert.notEqual(p.pfnId, null, `${what}: pfn_id`);
  return p as HostPage & { pfnId: number };
}

/** The page is the shared zero page (pfn_id 0). */
export function zeroPage(p: HostPage | null, what: string): void {
  const m = mapped(p, what);
  assert.deepEqual({ zero: m.zero, pfnId: m.pfnId, file: m.file }, { zero: true, pfnId: 0, file: false }, what);
}

/** The page is a real anonymous page (not the zero page); returns its pfn_id. */
export function anonPage(p: HostPage | null, what: string, exclusive = true): number {
  const m = mapped(p, what);
  assert.deepEqual({ zero: m.zero, file: m.file, exclusive: m.exclusive }, { zero: false, file: false, exclusive }, what);
  assert.ok(m.pfnId > 0);
  return m.pfnId;
}

/** Nothing is mapped there. */
export function notMapped(p: HostPage | null, what: string): void {
  assert.ok(p, `${what}: no page state`);
  assert.deepEqual({ present: p.present, pfnId: p.pfnId }, { present: false, pfnId: null }, what);
}
