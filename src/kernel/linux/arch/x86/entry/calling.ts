// arch/x86/entry/calling.h (5.19/6.x): the macros every entry path uses. PUSH_AND_CLEAR_REGS builds
// the software half of struct pt_regs with real pushes on the current stack, then zeroes the
// registers user mode controlled; POP_REGS undoes it; SWITCH_TO_KERNEL_CR3 / SWITCH_TO_USER_CR3
// move between the PTI page-table pair (bit 12) and the PCID pair (bit 11), with NOFLUSH (bit 63)
// unless cpu_tlbstate.user_pcid_flush_mask asks for a flush of the user PCID.
//
// The entry code's own stack traffic is real (memory writes through paging) but not traced word
// by word: `quiet()` mutes the hardware events, and the caller shows the resulting pt_regs frame.

import { pop, popHalves, push, pushHalves, rspWords } from '../../../../../hw/delivery.js';
import type { Machine } from '../../../../../hw/machine.js';
import { GPR_NAMES, storeHalves, type GprName } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import { PTI_USER_PGTABLE_AND_PCID_MASK, PTI_USER_PGTABLE_BIT, X86_CR3_PCID_NOFLUSH, X86_CR3_PTI_PCID_USER_BIT, type X86Kernel } from '../include/asm/processor.js';
import { decide } from '../kernel/ftrace.js';
import { tlbstate } from '../mm/tlb.js';

/** Run `fn` with the machine's trace muted (the entry code's word-by-word stack traffic). */
export function quiet<T>(m: Machine, fn: () => T): T {
  return m.untraced(fn);
}

/** `quiet` for a function of the kernel alone: untraced it is a plain call (no closure per entry). */
export function quietly<T>(k: X86Kernel, fn: (k: X86Kernel) => T): T {
  // The closure lives in mutedCall: a closure here would cost a context object on every call.
  return k.machine.trace.enabled ? mutedCall(k, fn) : fn(k);
}

/** `fn(k)` with the trace muted. */
function mutedCall<T>(k: X86Kernel, fn: (k: X86Kernel) => T): T {
  return k.machine.untraced(() => fn(k));
}

/** PUSH_REGS order after di/si: the pt_regs layout from high to low addresses. */
const PUSH_ORDER: readonly GprName[] = ['rdx', 'rcx', 'rax', 'r8', 'r9', 'r10', 'r11', 'rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'];

function pushOrDie(m: Machine, v: bigint, what: string): void {
  const f = push(m, v, what);
  if (f) throw new Error(`model bug: entry push of ${what} faulted (vector ${f.vector}) at rsp ${hex(m.cpu.rsp)}`);
}

function popOrDie(m: Machine, what: string): bigint {
  const v = pop(m, what);
  if (typeof v !== 'bigint') throw new Error(`model bug: entry pop of ${what} faulted (vector ${v.vector})`);
  return v;
}

/** Register numbers (encoding order, GPR_NAMES) of PUSH_ORDER, and of di/si. */
const PUSH_REGNO = PUSH_ORDER.map((r) => GPR_NAMES.indexOf(r));
const RDI = GPR_NAMES.indexOf('rdi');
const RSI = GPR_NAMES.indexOf('rsi');
const RAX = GPR_NAMES.indexOf('rax');

/** Copy register `regno`'s halves into `buf` at word `i`. */
function regInto(m: Machine, regno: number, buf: Uint32Array, i: number): void {
  buf[2 * i] = m.cpu.r[2 * regno]!;
  buf[2 * i + 1] = m.cpu.r[2 * regno + 1]!;
}

/**
 * PUSH_AND_CLEAR_REGS [save_ret=1] [rax=...]: push di, si, dx, cx, ax, r8-r11, bx, bp, r12-r15.
 * With save_ret the return address of `call error_entry` (on top of the stack) is moved above the
 * frame: si is pushed, the return address is parked in rsi, di overwrites its slot, and it is
 * pushed again last. `ax` replaces the saved rax (entry_SYSCALL_64 pushes -ENOSYS).
 */
export function PUSH_AND_CLEAR_REGS(k: X86Kernel, opts: { saveRet: boolean; ax?: bigint }): void {
  const m = k.machine;
  const buf = k.entryScratch.run;
  const RET = k.entryScratch.ret;
  let n = 0;
  if (opts.saveRet) {
    regInto(m, RSI, buf, 0);
    const f = pushHalves(m, buf, 1, ['pt_regs->si']);
    if (f) throw new Error(`model bug: entry push of pt_regs->si faulted (vector ${f.vector}) at rsp ${hex(m.cpu.rsp)}`);
    if (rspWords(m, 8, false, RET, 1)) throw new Error(`model bug: entry read of ${hex(m.cpu.rsp + 8n)} faulted`);
    regInto(m, RDI, buf, 0); // pt_regs->di over the return address
    if (rspWords(m, 8, true, buf, 1)) throw new Error(`model bug: entry write of ${hex(m.cpu.rsp + 8n)} faulted`);
  } else {
    regInto(m, RDI, buf, n++);
    regInto(m, RSI, buf, n++);
  }
  for (const r of PUSH_REGNO) {
    if (r === RAX && opts.ax !== undefined) storeHalves(buf, 2 * n++, opts.ax);
    else regInto(m, r, buf, n++);
  }
  if (opts.saveRet) {
    buf[2 * n] = RET[0]!;
    buf[2 * n + 1] = RET[1]!;
    n++;
  }
  const f = pushHalves(m, buf, n, PUSH_NAMES);
  if (f) throw new Error(`model bug: PUSH_REGS faulted (vector ${f.vector}) at rsp ${hex(m.cpu.rsp)}`);
  // CLEAR_REGS: xor the registers user mode controlled (rdi/rsp/rax stay: they carry the arguments).
  const regs = m.cpu.r;
  for (const r of CLEARED_REGNO) regs[2 * r] = regs[2 * r + 1] = 0;
}

const PUSH_NAMES = PUSH_ORDER.map((r) => `pt_regs->${r}`);
const CLEARED = ['rsi', 'rdx', 'rcx', 'r8', 'r9', 'r10', 'r11', 'rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'] as const;
const CLEARED_REGNO = CLEARED.map((r) => GPR_NAMES.indexOf(r));
const POP_ORDER: readonly GprName[] = [...PUSH_ORDER].reverse().concat(['rsi', 'rdi']);
const POP_REGNO = POP_ORDER.map((r) => GPR_NAMES.indexOf(r));

/** POP_REGS [pop_rdi=0]: restore the general registers from the frame, r15 first. */
export function POP_REGS(k: X86Kernel, popRdi: boolean): void {
  const m = k.machine;
  const n = popRdi ? 15 : 14;
  const buf = k.entryScratch.run;
  const f = popHalves(m, buf, n, POP_ORDER);
  if (f) throw new Error(`model bug: POP_REGS faulted (vector ${f.vector})`);
  const regs = m.cpu.r;
  for (let i = 0; i < n; i++) {
    const r = POP_REGNO[i]!;
    regs[2 * r] = buf[2 * i]!;
    regs[2 * r + 1] = buf[2 * i + 1]!;
  }
}

/** `n` 8-byte reads from `va` upwards (a model bug if one faults). */
export function readWords(m: Machine, va: bigint, n: number): bigint[] {
  const out = new Array<bigint>(n).fill(0n);
  const r = m.tryWords(va, 8, 'read', out, n);
  if (r.fault) throw new Error(`model bug: entry read of ${hex(va)} faulted`);
  return out;
}

export function read(m: Machine, va: bigint): bigint {
  const r = m.tryAccess({ va, access: 'read', size: 8 });
  if (r.kind === 'fault') throw new Error(`model bug: entry read of ${hex(va)} faulted`);
  return r.value;
}

export function write(m: Machine, va: bigint, value: bigint): void {
  const r = m.tryAccess({ va, access: 'write', size: 8, value });
  if (r.kind === 'fault') throw new Error(`model bug: entry write of ${hex(va)} faulted`);
}

export { pushOrDie as PUSH, popOrDie as POP };

function pcidOn(m: Machine): boolean {
  return m.ctl.pcide; // CR4.PCIDE, as the machine derived it
}

/**
 * SWITCH_TO_KERNEL_CR3 (ADJUST_KERNEL_CR3): with PTI, clear bit 12 (kernel PGD) and bit 11
 * (kernel PCID), and set NOFLUSH (bit 63) when PCIDs are on: the kernel PCID's TLB entries stay.
 */
export function SWITCH_TO_KERNEL_CR3(k: X86Kernel, who: string): void {
  if (!k.pti) return;
  const m = k.machine;
  let cr3 = m.cpu.cr3;
  if (pcidOn(m)) cr3 |= X86_CR3_PCID_NOFLUSH;
  cr3 &= ~PTI_USER_PGTABLE_AND_PCID_MASK;
  decide(k, who, 'SWITCH_TO_KERNEL_CR3', 'clear bit 12 (kernel PGD) and bit 11 (kernel PCID), set bit 63 NOFLUSH');
  m.movToCr3(cr3);
}

const PCID_USER = 1n << BigInt(X86_CR3_PTI_PCID_USER_BIT);
const PGD_USER = 1n << BigInt(PTI_USER_PGTABLE_BIT);

/** Whether CR3 currently points at the user half of the PTI pair. */
export function cr3IsUser(m: Machine): boolean {
  return (m.cpu.cr3 & PGD_USER) !== 0n;
}

/**
 * SWITCH_TO_USER_CR3_STACK / _NOSTACK: set bit 12 (user PGD) and, with PCIDs, bit 11 (user PCID);
 * NOFLUSH unless the kernel PCID's bit is set in user_pcid_flush_mask (then clear that bit and
 * let the MOV to CR3 flush the user PCID).
 */
export function SWITCH_TO_USER_CR3(k: X86Kernel, who: string): void {
  if (!k.pti) return;
  const m = k.machine;
  let cr3 = m.cpu.cr3;
  if (pcidOn(m)) {
    // The kernel PCID is asid + 1 (kern_pcid); tlb.ts keeps the mask by ASID.
    const asid = Number(cr3 & 0x7ffn) - 1;
    const s = tlbstate(k);
    if (asid >= 0 && s.user_pcid_flush_mask & (1 << asid)) {
      s.user_pcid_flush_mask &= ~(1 << asid);
      if (m.trace.enabled) decide(k, who, 'user PCID flush pending', `user_pcid_flush_mask has ASID ${asid}: no NOFLUSH, the user PCID is flushed`);
    } else {
      cr3 |= X86_CR3_PCID_NOFLUSH;
    }
    cr3 |= PCID_USER;
  }
  cr3 |= PGD_USER;
  decide(k, who, 'SWITCH_TO_USER_CR3', 'set bit 12 (user PGD) and bit 11 (user PCID)');
  m.movToCr3(cr3);
}
