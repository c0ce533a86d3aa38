// arch/x86/entry/entry_64.S (5.19/6.x) as steps with real effects: the idtentry stubs
// (asm_exc_page_fault, asm_exc_general_protection), error_entry with PUSH_AND_CLEAR_REGS, swapgs,
// SWITCH_TO_KERNEL_CR3 and sync_regs, error_return into swapgs_restore_regs_and_return_to_usermode
// or restore_regs_and_return_to_kernel, and IRETQ through the machine; entry_SYSCALL_64 with its
// hand-built frame and the SYSRET exit. Every push, copy and CR3 write happens on the simulated
// machine; the pt_regs frame the C code sees is read back from memory.
//
// Simplified: no IBRS/retbleed untraining, no ENDBR, no ESPFIX, no bad-IRET recovery (the entry
// code recognises native_irq_return_iret but no model ever faults there); one CPU.

import { iretq, popHalves, pushHalves, rspWords, swapgs } from '../../../../../hw/delivery.js';
import type { Fault, Machine } from '../../../../../hw/machine.js';
import { GPR_NAMES, R_RIP, R_RSP, RFLAGS_AC, RFLAGS_FIXED, RFLAGS_IF, addHalves, joinHalves } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import { __KERNEL_CS, __KERNEL_DS, __USER_CS, __USER_DS, _TEXT, type TaskPtRegs, type X86Kernel } from '../include/asm/processor.js';
import { CS, FRAME_SIZE, ORIG_RAX, PtRegs, loadPtRegs, ptRegsRecord, storeFieldHalves } from '../include/asm/ptrace.js';
import { decide, fentry, fexit } from '../kernel/ftrace.js';
import { idtSymbols } from '../kernel/idt.js';
import type { SymbolTable } from '../kernel/symbols.js';
import { pushWords } from '../../../../../hw/delivery.js';
import { PUSH, PUSH_AND_CLEAR_REGS, POP, POP_REGS, SWITCH_TO_KERNEL_CR3, SWITCH_TO_USER_CR3, quiet, quietly, read, readWords, write } from './calling.js';

const SRC = 'arch/x86/entry/entry_64.S';
const RFLAGS_DF = 1n << 10n;
const RDI = GPR_NAMES.indexOf('rdi');
const RSI = GPR_NAMES.indexOf('rsi');
const CLAC_CLD = Number(RFLAGS_AC | RFLAGS_DF);

/** __entry_text_start: the entry code lives in its own section, which PTI maps for user mode. */
export const ENTRY_TEXT_START = _TEXT + 0xc00000n;

/** The labels of the entry text, in order, 0x40 bytes apart (a plausible stub size). */
const ENTRY_LABELS = [
  'entry_SYSCALL_64', 'entry_SYSCALL_64_after_hwframe', 'syscall_return_via_sysret',
  ...idtSymbols(),
  'error_entry', 'error_return', 'common_interrupt_return', 'swapgs_restore_regs_and_return_to_usermode',
  'restore_regs_and_return_to_kernel', 'native_iret', 'native_irq_return_iret', 'ret_from_fork',
];

/** Lay the entry text out in `syms`; returns [__entry_text_start, __entry_text_end). */
export function layout_entry_text(syms: SymbolTable): [bigint, bigint] {
  syms.add('__entry_text_start', ENTRY_TEXT_START);
  ENTRY_LABELS.forEach((name, i) => syms.add(name, ENTRY_TEXT_START + 0x40n + BigInt(i * 0x40)));
  const end = ENTRY_TEXT_START + 0x40n + BigInt(ENTRY_LABELS.length * 0x40);
  syms.add('__entry_text_end', end);
  return [ENTRY_TEXT_START, end];
}

/** A C exception handler as DEFINE_IDTENTRY*_ERRORCODE declares it. */
export type IdtHandler = (k: X86Kernel, regs: PtRegs, error_code: number) => void;

/** Bind `asmsym` to an idtentry stub that calls `cfunc` (DECLARE_IDTENTRY_*ERRORCODE). */
export function bind_idtentry(k: X86Kernel, vector: number, asmsym: string, cfunc: string, fn: IdtHandler, hasErrorCode: boolean): void {
  k.syms.bind(asmsym, (kk) => idtentry(kk, vector, asmsym, cfunc, fn, hasErrorCode));
}

/**
 * The `idtentry vector asmsym cfunc has_error_code` macro: ASM_CLAC (re-arms SMAP), cld, a -1
 * ORIG_RAX for vectors without an error code, then idtentry_body.
 */
function idtentry(k: X86Kernel, vector: number, asmsym: string, cfunc: string, fn: IdtHandler, hasErrorCode: boolean): void {
  const m = k.machine;
  if (m.trace.enabled) fentry(k, asmsym, SRC, { vector: String(vector), cfunc, has_error_code: hasErrorCode ? '1' : '0' });
  m.setFlags(m.cpu.flags & ~CLAC_CLD); // ASM_CLAC; cld
  if (!hasErrorCode) quiet(m, () => PUSH(m, -1n & 0xffffffffffffffffn, 'orig_ax = -1'));
  idtentry_body(k, cfunc, fn);
  fexit(k, asmsym);
}

/**
 * idtentry_body: `call error_entry; movq %rax, %rsp`, then arg1 = ORIG_RAX (the hardware error
 * code) and ORIG_RAX = -1 ("no syscall to restart"), `call cfunc`, `jmp error_return`.
 */
function idtentry_body(k: X86Kernel, cfunc: string, fn: IdtHandler): void {
  const m = k.machine;
  const rax = error_entry(k);
  const regs = m.trace.enabled ? mutedLoadPtRegs(k, rax) : loadPtRegs(m, rax, k.ptRegsViews); // the C view of the frame
  m.cpu.r[R_RSP] = regs.lo; // movq %rax, %rsp
  m.cpu.r[R_RSP + 1] = regs.hi;
  const oi = 2 * (ORIG_RAX / 8);
  const ecLo = regs.w[oi]!; // movq ORIG_RAX(%rsp), %rsi
  const ecHi = regs.w[oi + 1]!;
  if (m.trace.enabled) mutedConsumeOrigAx(k, regs); // movq $-1, ORIG_RAX(%rsp)
  else storeFieldHalves(m, regs, 'orig_ax', 0xffffffff, 0xffffffff);
  if (m.trace.enabled) decide(k, 'idtentry_body', 'call cfunc', `${cfunc}(regs=${hex(rax)}, error_code=${hex(joinHalves(ecLo, ecHi))}); orig_ax = -1`);
  const r = m.cpu.r;
  r[2 * RDI] = regs.lo; // movq %rsp, %rdi
  r[2 * RDI + 1] = regs.hi;
  r[2 * RSI] = ecLo;
  r[2 * RSI + 1] = ecHi;
  fn(k, regs, ecLo);
  if (k.current.state === 'dead') {
    decide(k, 'idtentry_body', 'task exited', 'do_exit() never returns: no error_return for this frame');
    return;
  }
  error_return(k);
}

/**
 * error_entry: PUSH_AND_CLEAR_REGS save_ret=1; from user mode swapgs, SWITCH_TO_KERNEL_CR3 and
 * sync_regs (copy the frame from the entry stack to the task stack); from kernel mode nothing
 * moves. Returns the pt_regs pointer (%rax).
 */
export function error_entry(k: X86Kernel): bigint {
  const m = k.machine;
  fentry(k, 'error_entry', SRC);
  quietly(k, call_error_entry_and_save_regs);
  const fromUser = (stackWord(k, 8 + CS) & 3) !== 0; // testb $3, CS+8(%rsp)
  let rax: bigint;
  if (fromUser) {
    decide(k, 'error_entry', 'from user mode', 'testb $3, CS+8(%rsp): swapgs, kernel CR3, move to the task stack');
    const f = swapgs(m);
    if (f) throw new Error('model bug: swapgs at CPL 3');
    SWITCH_TO_KERNEL_CR3(k, 'error_entry');
    if (k.features.entry6) decide(k, 'error_entry', 'leaq 8(%rsp), %rdi; UNTRAIN_RET_FROM_CALL; jmp sync_regs');
    else decide(k, 'error_entry', 'leaq 8(%rsp), %rdi; call sync_regs; RET');
    rax = sync_regs(k);
  } else {
    decide(k, 'error_entry', 'from kernel mode', '.Lerror_kernelspace: no swapgs, no CR3 switch, stay on this stack');
    rax = m.cpu.rsp + 8n;
    if (m.trace.enabled) tracePtRegs(k, 'error_entry', rax);
  }
  quietly(k, ret_from_error_entry);
  if (m.trace.enabled) fexit(k, 'error_entry', hex(rax));
  return rax;
}

/**
 * sync_regs() (arch/x86/kernel/traps.c): copy the pt_regs built on the entry stack (eregs, at
 * RSP + 8 in error_entry) to the top of the task's kernel stack (cpu_current_top_of_stack -
 * sizeof(pt_regs)) and return the new pointer.
 */
export function sync_regs(k: X86Kernel): bigint {
  const m = k.machine;
  fentry(k, 'sync_regs', 'arch/x86/kernel/traps.c');
  const to = taskPtRegs(k);
  const r = m.cpu.r;
  const e = k.entryScratch.word;
  addHalves(e, 0, r[R_RSP + 1]!, r[R_RSP]!, 8); // leaq 8(%rsp), %rdi
  if (e[0] !== to.lo || e[1] !== to.hi) copy_frame(k, e[1]!, e[0]!, to); // *regs = *eregs (copy_frame mutes the trace)
  if (m.trace.enabled) tracePtRegs(k, 'sync_regs', to.addr);
  if (m.trace.enabled) fexit(k, 'sync_regs', hex(to.addr));
  return to.addr;
}

/** task_pt_regs(current): the frame at the top of the running task's stack, with its address halves (kept until the stack changes). */
function taskPtRegs(k: X86Kernel): TaskPtRegs {
  const top = k.percpu.top_of_stack;
  let t = k.percpu.task_pt_regs;
  if (t === undefined || t.top !== top) {
    const addr = top - BigInt(FRAME_SIZE);
    const u = BigInt.asUintN(64, addr);
    t = { top, addr, lo: Number(u & 0xffffffffn), hi: Number(u >> 32n) };
    k.percpu.task_pt_regs = t;
  }
  return t;
}

/** error_return: back to user mode through swapgs_restore_regs_and_return_to_usermode, or to the kernel. */
export function error_return(k: X86Kernel): void {
  fentry(k, 'error_return', SRC);
  const toUser = (stackWord(k, CS) & 3) !== 0; // testb $3, CS(%rsp)
  if (toUser) swapgs_restore_regs_and_return_to_usermode(k);
  else restore_regs_and_return_to_kernel(k);
  fexit(k, 'error_return');
}

/**
 * swapgs_restore_regs_and_return_to_usermode (in common_interrupt_return): POP_REGS pop_rdi=0,
 * move to the entry (trampoline) stack with a copy of the IRET frame and user RDI,
 * SWITCH_TO_USER_CR3_STACK, pop RDI, swapgs, then native_iret.
 */
export function swapgs_restore_regs_and_return_to_usermode(k: X86Kernel): void {
  const m = k.machine;
  fentry(k, 'swapgs_restore_regs_and_return_to_usermode', SRC);
  quietly(k, pop_regs_to_entry_stack);
  if (m.trace.enabled) decide(k, 'swapgs_restore_regs_and_return_to_usermode', 'on the entry stack', `rsp=${hex(m.cpu.rsp)}: IRET frame and user RDI copied from the task stack`);
  SWITCH_TO_USER_CR3(k, 'swapgs_restore_regs_and_return_to_usermode');
  quietly(k, pop_rdi);
  if (swapgs(m)) throw new Error('model bug: swapgs failed');
  native_iret(k);
  fexit(k, 'swapgs_restore_regs_and_return_to_usermode');
}

/** swapgs_restore_regs_and_return_to_usermode's stack work: POP_REGS, then the IRET frame and user RDI onto the entry stack. */
function pop_regs_to_entry_stack(k: X86Kernel): void {
  const m = k.machine;
  POP_REGS(k, false);
  const r = m.cpu.r;
  const FRAME = k.entryScratch.frame;
  const rdiLo = r[R_RSP]!; // movq %rsp, %rdi  (user RDI, orig_ax, RIP, CS, EFLAGS, RSP, SS)
  const rdiHi = r[R_RSP + 1]!;
  const tr = m.cpu.tr; // movq PER_CPU_VAR(cpu_tss_rw + TSS_sp0), %rsp
  if (m.tryWordsAt(tr.hi, tr.lo + 4, 8, false, r, 1, false, false, undefined, R_RSP / 2) < 1) throw new Error('model bug: entry read of TSS.sp0 faulted');
  if (m.tryWordsAt(rdiHi, rdiLo, 8, false, FRAME, 7, false, false) < 7) throw new Error(`model bug: entry read of ${hex(joinHalves(rdiLo, rdiHi))} faulted`);
  // pushq 6*8(%rdi) ... pushq (%rdi): SS, RSP, EFLAGS, CS, RIP, then user RDI
  const w = FRAME;
  for (const [to, from] of IRET_COPY_ORDER) {
    w[14 + 2 * to] = w[2 * from]!;
    w[15 + 2 * to] = w[2 * from + 1]!;
  }
  const f = pushHalves(m, w, 6, IRET_COPY, 7);
  if (f) throw new Error('model bug: the trampoline stack push faulted');
}

/** popq %rdi (the user RDI, from the entry stack). */
function pop_rdi(k: X86Kernel): void {
  if (popHalves(k.machine, k.machine.cpu.r, 1, ['rdi'], RDI)) throw new Error('model bug: entry pop of rdi faulted');
}

/** The `call error_entry` (its return address, as the model places it), then PUSH_AND_CLEAR_REGS save_ret=1. */
function call_error_entry_and_save_regs(k: X86Kernel): void {
  const m = k.machine;
  const ret = k.syms.lookup('error_entry');
  const w = k.entryScratch.word;
  addHalves(w, 0, ret.hi, ret.lo, -1);
  if (pushHalves(m, w, 1, ['return address'])) throw new Error(`model bug: entry push of the return address faulted at rsp ${hex(m.cpu.rsp)}`);
  PUSH_AND_CLEAR_REGS(k, { saveRet: true });
}

/** error_entry's RET. */
function ret_from_error_entry(k: X86Kernel): void {
  if (popHalves(k.machine, k.entryScratch.word, 1, ['return address'])) throw new Error('model bug: entry pop of the return address faulted');
}

const IRET_COPY = ['ss', 'sp', 'flags', 'cs', 'ip', 'user rdi'];

/** sync_regs' `*regs = *eregs`: the 21 words, read from eregs (`hi`:`lo`), then written. */
function copy_frame(k: X86Kernel, hi: number, lo: number, to: TaskPtRegs): void {
  const m = k.machine;
  if (m.trace.enabled) return m.untraced(() => copy_frame(k, hi, lo, to));
  const n = FRAME_SIZE / 8;
  const FRAME = k.entryScratch.frame;
  if (m.tryWordsAt(hi, lo, 8, false, FRAME, n, false, false) < n) throw new Error(`model bug: entry read of ${hex(joinHalves(lo, hi))} faulted`);
  if (m.tryWordsAt(to.hi, to.lo, 8, true, FRAME, n, false, false) < n) throw new Error(`model bug: entry write of ${hex(to.addr)} faulted`);
}

// The traced forms of the entry's memory work, in their own functions: a closure inside a hot
// function costs V8 a context object on every call, traced or not.

function mutedRspWord(k: X86Kernel, off: number): Fault | null {
  return k.machine.untraced(() => rspWords(k.machine, off, false, k.entryScratch.word, 1));
}

function mutedLoadPtRegs(k: X86Kernel, addr: bigint): PtRegs {
  return k.machine.untraced(() => loadPtRegs(k.machine, addr, k.ptRegsViews));
}

function mutedConsumeOrigAx(k: X86Kernel, regs: PtRegs): void {
  k.machine.untraced(() => storeFieldHalves(k.machine, regs, 'orig_ax', 0xffffffff, 0xffffffff));
}

/** The `pt_regs` event: the frame at `addr` as `fn` leaves it. */
function tracePtRegs(k: X86Kernel, fn: string, addr: bigint): void {
  const m = k.machine;
  m.trace.emit({ ev: 'pt_regs', fn, addr: hex(addr), regs: ptRegsRecord(m.untraced(() => loadPtRegs(m, addr))) });
}

/** [push slot, word read from the task stack] for IRET_COPY. */
const IRET_COPY_ORDER: readonly (readonly [number, number])[] = [[0, 6], [1, 5], [2, 4], [3, 3], [4, 2], [5, 0]];

/** The low 32 bits of the stack word at RSP + `off` (the entry code's `testb $3, CS(%rsp)`). */
function stackWord(k: X86Kernel, off: number): number {
  const m = k.machine;
  const f = m.trace.enabled ? mutedRspWord(k, off) : rspWords(m, off, false, k.entryScratch.word, 1);
  if (f) throw new Error(`model bug: entry read of ${hex(m.cpu.rsp + BigInt(off))} faulted`);
  return k.entryScratch.word[0]!;
}

/** restore_regs_and_return_to_kernel: POP_REGS, skip orig_ax, native_iret. */
export function restore_regs_and_return_to_kernel(k: X86Kernel): void {
  const m = k.machine;
  fentry(k, 'restore_regs_and_return_to_kernel', SRC);
  quiet(m, () => {
    POP_REGS(k, true);
    m.cpu.rsp += 8n; // addq $8, %rsp: orig_ax
  });
  native_iret(k);
  fexit(k, 'restore_regs_and_return_to_kernel');
}

/** native_iret -> native_irq_return_iret: IRETQ (no LDT stack segment, so no ESPFIX). */
function native_iret(k: X86Kernel): void {
  const m = k.machine;
  const at = k.syms.lookup('native_irq_return_iret');
  m.cpu.r[R_RIP] = at.lo;
  m.cpu.r[R_RIP + 1] = at.hi;
  const f = iretq(m);
  if (f) throw new Error(`model bug: iretq faulted (vector ${f.vector}); bad-IRET recovery is not modelled`);
}

// --- system calls -------------------------------------------------------------------------------

/** The flags SYSCALL clears (MSR_SYSCALL_MASK as syscall_init() sets it): TF, IF, DF, AC, NT, ... */
const SYSCALL_MASK = 0x257fd5n;

const SYSCALL_FRAME = ['pt_regs->ss', 'pt_regs->sp', 'pt_regs->flags', 'pt_regs->cs', 'pt_regs->ip', 'pt_regs->orig_ax'];

/** A system call handler: arguments from pt_regs (di, si, dx, r10, r8, r9), result >= 0 or -errno. */
export type SyscallFn = (k: X86Kernel, a: readonly bigint[]) => number | bigint;

/**
 * The SYSCALL instruction (SDM Vol. 2): RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~FMASK,
 * CS/SS from STAR (__KERNEL_CS, __KERNEL_DS), RIP = LSTAR. No stack switch.
 */
export function syscall_insn(k: X86Kernel, nextRip: bigint): void {
  const m = k.machine;
  const c = m.cpu;
  c.gpr.rcx = nextRip;
  c.gpr.r11 = c.rflags;
  m.setRflags((c.rflags & ~SYSCALL_MASK) | RFLAGS_FIXED);
  c.cs = __KERNEL_CS;
  c.ss = __KERNEL_DS;
  c.rip = k.syms.addr('entry_SYSCALL_64');
}

/** SYSRETQ: RIP = RCX, RFLAGS = R11, CS/SS = __USER_CS/__USER_DS, CPL 3. */
function sysretq(m: Machine): void {
  const c = m.cpu;
  c.rip = c.gpr.rcx;
  m.setRflags((c.gpr.r11 & ~0x10000n) | RFLAGS_FIXED);
  c.cs = __USER_CS;
  c.ss = __USER_DS;
}

/**
 * entry_SYSCALL_64: swapgs, park the user RSP in TSS.sp2, SWITCH_TO_KERNEL_CR3, load the task
 * stack, push the IRET-shaped frame (ss, sp, flags, cs, ip, orig_ax = nr), PUSH_AND_CLEAR_REGS
 * with rax = -ENOSYS, call do_syscall_64(regs, nr), then the SYSRET exit.
 */
export function entry_SYSCALL_64(k: X86Kernel, table: ReadonlyMap<number, { name: string; fn: SyscallFn }>): void {
  const m = k.machine;
  const c = m.cpu;
  fentry(k, 'entry_SYSCALL_64', SRC);
  if (swapgs(m)) throw new Error('model bug: swapgs');
  const userRsp = c.rsp;
  quiet(m, () => write(m, c.tr.base + 4n + 16n, userRsp)); // movq %rsp, PER_CPU_VAR(cpu_tss_rw + TSS_sp2)
  SWITCH_TO_KERNEL_CR3(k, 'entry_SYSCALL_64');
  c.rsp = k.percpu.top_of_stack;
  quiet(m, () => {
    const f = pushWords(m, [BigInt(__USER_DS), userRsp, c.gpr.r11, BigInt(__USER_CS), c.gpr.rcx, c.gpr.rax], SYSCALL_FRAME);
    if (f) throw new Error('model bug: the syscall frame push faulted');
    PUSH_AND_CLEAR_REGS(k, { saveRet: false, ax: BigInt.asUintN(64, -38n) });
  });
  const regsVa = c.rsp;
  const regs = quiet(m, () => loadPtRegs(m, regsVa));
  if (m.trace.enabled) m.trace.emit({ ev: 'pt_regs', fn: 'entry_SYSCALL_64', addr: hex(regsVa), regs: ptRegsRecord(regs) });
  m.setRflags(m.cpu.rflags | RFLAGS_IF); // do_syscall_64 runs with interrupts on
  do_syscall_64(k, regs, Number(regs.v.orig_ax & 0xffffffffn), table);
  if (k.current.state === 'dead') {
    decide(k, 'entry_SYSCALL_64', 'task exited', 'do_exit() never returns');
    fexit(k, 'entry_SYSCALL_64');
    return;
  }
  syscall_return_via_sysret(k, regsVa);
  fexit(k, 'entry_SYSCALL_64');
}

/**
 * do_syscall_64() (arch/x86/entry/common.c): dispatch through sys_call_table, store the result in
 * regs->ax; syscall_exit_to_user_mode() runs the exit work (no signals arise from syscalls here).
 */
function do_syscall_64(k: X86Kernel, regs: PtRegs, nr: number, table: ReadonlyMap<number, { name: string; fn: SyscallFn }>): void {
  const m = k.machine;
  if (m.trace.enabled) fentry(k, 'do_syscall_64', 'arch/x86/entry/common.c', { nr: String(nr) });
  const sc = table.get(nr);
  let ret: bigint;
  if (!sc) {
    decide(k, 'do_syscall_64', 'no such syscall', '__x64_sys_ni_syscall: -ENOSYS');
    ret = -38n;
  } else {
    const v = regs.v;
    const r = sc.fn(k, [v.di, v.si, v.dx, v.r10, v.r8, v.r9]);
    ret = BigInt(r);
  }
  if (k.current.state !== 'dead') quiet(m, () => write(m, regs.addr + 80n, BigInt.asUintN(64, ret))); // regs->ax
  if (m.trace.enabled) fexit(k, 'do_syscall_64', hex(ret));
}

/**
 * syscall_return_via_sysret: POP_REGS pop_rdi=0 (rcx/r11 come back as the SYSRET operands), move
 * to the entry stack with the user RSP and RDI, SWITCH_TO_USER_CR3_STACK, pop rdi, pop rsp,
 * swapgs, sysretq.
 */
function syscall_return_via_sysret(k: X86Kernel, regsVa: bigint): void {
  const m = k.machine;
  const c = m.cpu;
  fentry(k, 'syscall_return_via_sysret', SRC);
  c.rsp = regsVa;
  quiet(m, () => {
    POP_REGS(k, false);
    const w = readWords(m, c.rsp, 7); // user RDI, orig_ax, RIP, CS, EFLAGS, RSP, SS
    c.gpr.rcx = w[2]!;
    c.gpr.r11 = w[4]!;
    c.rsp = read(m, c.tr.base + 4n);
    const f = pushWords(m, [w[5]!, w[0]!], ['user rsp', 'user rdi']);
    if (f) throw new Error('model bug: the trampoline stack push faulted');
  });
  SWITCH_TO_USER_CR3(k, 'syscall_return_via_sysret');
  quiet(m, () => {
    c.gpr.rdi = POP(m, 'rdi');
    c.rsp = POP(m, 'rsp');
  });
  if (swapgs(m)) throw new Error('model bug: swapgs');
  sysretq(m);
  if (m.trace.enabled) decide(k, 'syscall_return_via_sysret', 'sysretq', `rip=${hex(c.rip)} rax=${hex(c.gpr.rax)} cpl=3`);
  fexit(k, 'syscall_return_via_sysret');
}

export { FRAME_SIZE, RFLAGS_IF };
