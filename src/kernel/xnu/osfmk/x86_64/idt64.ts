// The trap entry and return path of osfmk/x86_64/idt64.s (xnu-11417.121.6), label by label,
// with their effects on the machine: pushes onto the double-mapped exception stack, SWAPGS, the
// CR3 switch, the copy of the frame into the thread's PCB, the register saves into
// x86_saved_state64 at their real offsets (xnu.md §3), and on the way out the restores, the
// synthetic iret frame on the estack, the switch back to the user CR3, SWAPGS and IRETQ.
// Simplified: RELEASE kernel (no cacheline stash, no POSTCODE), 64-bit tasks only (no
// L_dispatch_U32), no LDT, no debug-register restore beyond the DR7 decision, no sysret path.

import { iretq, swapgs } from '../../../../hw/delivery.js';
import { hex } from '../../../../trace/events.js';
import { VECTORS } from '../../../../hw/exceptions.js';
import { RFLAGS_AC } from '../../../../hw/regs.js';
import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import { DBLMAP, stubAddress } from '../i386/mp_desc.js';
import { kernel_trap, user_trap } from '../i386/trap.js';
import { ast_taken_user } from '../kern/ast.js';
import {
  CPU_ACTIVE_CR3, CPU_ESTACK, CPU_KERNEL_CR3, CPU_KERNEL_STACK, CPU_NEED_SEGCHK, CPU_PENDING_AST, CPU_SHADOWTASK_CR3, CPU_TASK_CR3,
  CPU_TASK_MAP, CPU_TLB_INVALID, CPU_UBER_ISF, CPU_UBER_TMP, CPU_UCR3, HIB_BASE, HIB_IDT64_HNDL_TABLE0, HIB_TEXT_LABELS, ISF64_SIZE,
  ISS64_OFFSET, KERNEL64_CS, R64, SS_64, SS_FLAVOR, ktext,
} from './hib.js';
import { HNDL_ALLTRAPS, IDT_TABLE, T_PAGE_FAULT } from './idt_table.js';
import { kread, kreadWords, kwrite, kwriteWords } from './kaccess.js';

const FILE = 'osfmk/x86_64/idt64.s';

function label(k: Xnu, name: string): void {
  enter(k, name, FILE);
}

function setRip(k: Xnu, va: bigint): void {
  k.m.cpu.rip = va;
}

function hibLabel(k: Xnu, name: string): bigint {
  return DBLMAP(k, HIB_BASE + BigInt(HIB_TEXT_LABELS[name]!));
}

/** pushq by kernel code: the store goes through the CPU (kwrite); one `push` event per word. */
function mustPush(k: Xnu, v: bigint, what: string): void {
  const rsp = k.m.cpu.rsp - 8n;
  kwrite(k, rsp, v);
  k.m.cpu.rsp = rsp;
  if (k.trace.enabled) k.trace.emit({ ev: 'push', addr: hex(rsp), value: hex(v), what });
}

/** Several pushq's: with tracing on, one event each; off, one run of stores. */
function pushAll(k: Xnu, values: bigint[], whats: readonly string[]): void {
  if (k.trace.enabled) {
    values.forEach((v, i) => mustPush(k, v, whats[i]!));
    return;
  }
  kwriteWords(k, k.m.cpu.rsp - 8n, values, -8);
  k.m.cpu.rsp -= BigInt(8 * values.length);
}

/** popq by kernel code. */
function mustPop(k: Xnu, what: string): bigint {
  const rsp = k.m.cpu.rsp;
  const v = kread(k, rsp);
  k.m.cpu.rsp = rsp + 8n;
  if (k.trace.enabled) k.trace.emit({ ev: 'pop', addr: hex(rsp), value: hex(v), what });
  return v;
}

/** %gs:off — a load relative to the kernel GS base (cpu_data). */
const gsRead = (k: Xnu, off: number): bigint => kread(k, k.m.cpu.gsBase + BigInt(off));
const gsWrite = (k: Xnu, off: number, v: bigint): void => kwrite(k, k.m.cpu.gsBase + BigInt(off), v);

export type EntryResult = 'returned-to-user' | 'returned-to-kernel' | 'thread-terminated' | 'panic';

/**
 * An exception the machine just delivered through master_idt64: run the stub at the gate's
 * offset (the CPU's RIP), then the common path to the handler and back to the interrupted code.
 */
export function idt64_trap_entry(k: Xnu): EntryResult {
  const vector = Number((k.m.cpu.rip - DBLMAP(k, stubAddress(0))) / 16n);
  const row = IDT_TABLE[vector];
  if (!row || k.m.cpu.rip !== DBLMAP(k, stubAddress(vector))) throw new Error(`model bug: RIP ${hx(k.m.cpu.rip)} is not an IDT stub`);
  idt64_stub(k, vector, row.handler);
  L_dispatch(k);
  const fromUser = ks_dispatch(k);
  if (fromUser) {
    ks_dispatch_user(k);
    L_dispatch_U64(k);
  } else ks_dispatch_kernel(k);
  L_dispatch_64bit(k);
  L_common_dispatch(k, fromUser);
  if (!hndl_alltraps(k, fromUser)) return 'panic';
  if (fromUser) {
    if (!return_from_trap(k)) return 'thread-terminated';
    ret_to_user(k);
  } else ret_to_kernel(k);
  ks_64bit_return(k);
  return fromUser ? 'returned-to-user' : 'returned-to-kernel';
}

/**
 * idt64_page_fault (idt64.s:162) and the TRAP stubs (l.117-155): push trapfn HNDL_ALLTRAPS,
 * then the trap number (plus a zero error code first for vectors the CPU pushes none for).
 */
function idt64_stub(k: Xnu, vector: number, handler: string): void {
  label(k, handler);
  if (!VECTORS[vector]?.errorCode) mustPush(k, 0n, 'err (none from the CPU)');
  mustPush(k, BigInt(HNDL_ALLTRAPS), 'trapfn HNDL_ALLTRAPS');
  mustPush(k, BigInt(vector), vector === T_PAGE_FAULT ? 'trapno T_PAGE_FAULT' : 'trapno');
  setRip(k, hibLabel(k, 'L_dispatch'));
  leave(k, handler);
}

/** L_dispatch (idt64.s:687): from user, swapgs and load the task's full CR3 from the shadow; then jump to ks_dispatch. */
function L_dispatch(k: Xnu): void {
  label(k, 'L_dispatch');
  const m = k.m;
  mustPush(k, m.cpu.gpr.rax, 'rax');
  const cs = kread(k, m.cpu.rsp + 8n + 32n);
  if ((cs & 3n) !== 0n) {
    if (k.trace.enabled) decide(k, 'L_dispatch', 'from-user', `saved cs ${hx(cs)}: swapgs, CR3 = shadow task CR3`);
    swapgs(m);
    const shadowOff = kread(k, DBLMAP(k, HIB_BASE + BigInt(HIB_IDT64_HNDL_TABLE0 + 0x10)));
    m.cpu.gpr.rax = shadowOff;
    label(k, 'L_dispatch_kgsb');
    const cr3 = kread(k, BigInt.asUintN(64, m.cpu.gsBase + shadowOff + BigInt(CPU_SHADOWTASK_CR3)));
    m.movToCr3(cr3);
    leave(k, 'L_dispatch_kgsb');
  } else decide(k, 'L_dispatch', 'from-kernel', 'no swapgs, CR3 unchanged');
  setRip(k, kread(k, DBLMAP(k, HIB_BASE + BigInt(HIB_IDT64_HNDL_TABLE0)))); // jmp *idt64_hndl_table0[0]
  leave(k, 'L_dispatch');
}

/** ks_dispatch (idt64.s:1153): the CS test; from user, copy the frame onto the PCB's isf. Returns from-user. */
function ks_dispatch(k: Xnu): boolean {
  label(k, 'ks_dispatch');
  const m = k.m;
  m.cpu.gpr.rax = mustPop(k, 'rax');
  const cs = Number(kread(k, m.cpu.rsp + 32n) & 0xffffn);
  if (cs === KERNEL64_CS) {
    decide(k, 'ks_dispatch', 'kernel-cs', 'state saved in place on the current stack');
    leave(k, 'ks_dispatch');
    return false;
  }
  decide(k, 'ks_dispatch', 'user-cs', 'copy ss..trapno to the PCB isf');
  gsWrite(k, CPU_UBER_TMP, m.cpu.gpr.rax);
  const old = m.cpu.rsp;
  m.cpu.rsp = gsRead(k, CPU_UBER_ISF) + BigInt(ISF64_SIZE); // xchg %rsp, %rax
  const frame = kreadWords(k, old, 8).reverse(); // trapno..ss read upward, pushed ss first
  pushAll(k, frame, ISF_WHATS);
  m.cpu.gpr.rax = gsRead(k, CPU_UBER_TMP);
  leave(k, 'ks_dispatch');
  return true;
}

/** ks_dispatch_kernel (idt64.s): make room for the saved state below the frame on the current stack. */
function ks_dispatch_kernel(k: Xnu): void {
  label(k, 'ks_dispatch_kernel');
  const m = k.m;
  m.cpu.rsp -= BigInt(ISS64_OFFSET);
  kwrite(k, m.cpu.rsp + BigInt(R64.r15), m.cpu.gpr.r15);
  m.cpu.gpr.r15 = m.cpu.rsp;
  leave(k, 'ks_dispatch_kernel');
}

/** ks_dispatch_user (idt64.s:1182): 64-bit task map goes to L_dispatch_U64. */
function ks_dispatch_user(k: Xnu): void {
  label(k, 'ks_dispatch_user');
  const map = gsRead(k, CPU_TASK_MAP);
  decide(k, 'ks_dispatch_user', map === 0n ? 'task-map-64bit' : 'task-map-32bit');
  leave(k, 'ks_dispatch_user');
}

/** L_dispatch_U64 (idt64.s:1186): RSP to the x86_saved_state_t, r15 = it, RSP = the kernel stack. */
function L_dispatch_U64(k: Xnu): void {
  label(k, 'L_dispatch_U64');
  const m = k.m;
  m.cpu.rsp -= BigInt(ISS64_OFFSET);
  kwrite(k, m.cpu.rsp + BigInt(R64.r15), m.cpu.gpr.r15);
  m.cpu.gpr.r15 = m.cpu.rsp;
  m.cpu.rsp = gsRead(k, CPU_KERNEL_STACK);
  leave(k, 'L_dispatch_U64');
}

const ISF_WHATS = ['isf SS', 'isf RSP', 'isf RFLAGS', 'isf CS', 'isf RIP', 'isf ERR', 'isf TRAPFN', 'isf TRAPNO'];
/** The registers at R64_RDI..R64_R9 and R64_R14..R64_RAX, in memory order (the asm's movq's, batched). */
const LOW_BLOCK = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const;
const HIGH_BLOCK = ['r14', 'r13', 'r12', 'r11', 'rbp', 'rbx', 'rcx', 'rax'] as const;
const ZEROED = ['rcx', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14'] as const;

/**
 * L_dispatch_64bit (idt64.s:1205): flavor SS_64, fs/gs, the GPRs at their R64_* offsets, zero
 * ecx/edi/r8-r14, CR2 only for T_PAGE_FAULT (checklist 9, 10).
 */
function L_dispatch_64bit(k: Xnu): void {
  label(k, 'L_dispatch_64bit');
  const m = k.m;
  const ss = m.cpu.gpr.r15;
  kwrite(k, ss + BigInt(SS_FLAVOR), BigInt(SS_64), 4);
  kwrite(k, ss + BigInt(R64.fs), 0n, 4);
  kwrite(k, ss + BigInt(R64.gs), 0n, 4);
  const g = m.cpu.gpr;
  kwriteWords(k, ss + BigInt(R64.rdi), LOW_BLOCK.map((r) => g[r]));
  kwriteWords(k, ss + BigInt(R64.r14), HIGH_BLOCK.map((r) => g[r]));
  for (const r of ZEROED) m.cpu.gpr[r] = 0n;
  const trapno = Number(kread(k, ss + BigInt(R64.trapno), 4));
  const isPf = trapno === T_PAGE_FAULT;
  if (k.trace.enabled) decide(k, 'L_dispatch_64bit', isPf ? 'save-cr2' : 'cr2-slot-zero', isPf ? `cr2 = ${hx(m.cpu.cr2)}` : `trapno ${trapno}`);
  kwrite(k, ss + BigInt(R64.cr2), isPf ? m.cpu.cr2 : 0n);
  m.cpu.gpr.rax = isPf ? m.cpu.cr2 : 0n;
  m.cpu.gpr.rbx = BigInt(trapno);
  m.cpu.gpr.rdx = kread(k, ss + BigInt(R64.trapfn));
  m.cpu.gpr.rsi = kread(k, ss + BigInt(R64.cs)) & 0xffffffffn;
  if (k.trace.enabled) k.trace.emit({ ev: 'log', text: dumpSavedState(k, ss) });
  leave(k, 'L_dispatch_64bit');
}

/** The saved state as lldb's `p *(x86_saved_state_t *)$r15` would show it, read back from memory. */
export function dumpSavedState(k: Xnu, ss: bigint): string {
  const f = (name: keyof typeof R64, size = 8) => `${name}=${hx(kread(k, ss + BigInt(R64[name]), size))}`;
  return [
    `(x86_saved_state_t *) ${hx(ss)} flavor=${kread(k, ss, 4)} (SS_64)`,
    `  ss_64: ${f('rdi')} ${f('rsi')} ${f('rdx')} ${f('r10')} ${f('r8')} ${f('r9')} ${f('cr2')}`,
    `         ${f('r15')} ${f('r14')} ${f('r13')} ${f('r12')} ${f('r11')} ${f('rbp')} ${f('rbx')} ${f('rcx')} ${f('rax')}`,
    `  isf:   ${f('trapno', 2)} ${f('cpu', 2)} ${f('trapfn')} ${f('err')} ${f('rip')} ${f('cs')} ${f('rflags')} ${f('rsp')} ${f('ss')}`,
  ].join('\n');
}

/**
 * L_common_dispatch (idt64.s:1329): cld/clac, CPU_ACTIVE_CR3 = kernel CR3, the deferred TLB
 * flush check, L_set_act (DR7), L_intcnt (hwIntCnt[trapno]++), then idt64_hndl_table1[trapfn].
 */
function L_common_dispatch(k: Xnu, fromUser: boolean): void {
  label(k, 'L_common_dispatch');
  const m = k.m;
  if (m.cpu.rflags & RFLAGS_AC) m.setRflags(m.cpu.rflags & ~RFLAGS_AC); // clac (pmap_smap_enabled)
  gsWrite(k, CPU_ACTIVE_CR3, gsRead(k, CPU_KERNEL_CR3));
  if (fromUser) {
    m.cpu.gpr.rbp = 0n;
    decide(k, 'L_common_dispatch', 'shared-cr3', 'no pagezero mapping, no_shared_cr3 off: keep the task CR3');
  }
  if (gsRead(k, CPU_TLB_INVALID) !== 0n) {
    gsWrite(k, CPU_TLB_INVALID, 0n);
    m.invpcid(2, 0);
  }
  const th = k.current?.thread;
  if (th?.ids) decide(k, 'L_set_act', 'debug-state-dr7-zeroed');
  const trapno = Number(m.cpu.gpr.rbx);
  k.hwIntCnt[trapno]!++;
  setRip(k, ktext('hndl_alltraps'));
  leave(k, 'L_common_dispatch');
}

/** hndl_alltraps (idt64.s:1522): user traps call user_trap(r15); kernel ones go to trap_from_kernel. */
function hndl_alltraps(k: Xnu, fromUser: boolean): boolean {
  label(k, 'hndl_alltraps');
  const m = k.m;
  const state = m.cpu.gpr.r15;
  let ok: boolean;
  if (fromUser) {
    decide(k, 'hndl_alltraps', 'from-user', 'recount_leave_user; CCALL1(user_trap, %r15)');
    ok = user_trap(k, state);
  } else {
    label(k, 'trap_from_kernel');
    ok = kernel_trap(k, state);
    leave(k, 'trap_from_kernel');
  }
  m.setRflags(m.cpu.rflags & ~(1n << 9n)); // cli
  m.cpu.gpr.rcx = 0n;
  leave(k, 'hndl_alltraps');
  return ok;
}

/** return_from_trap (idt64.s:1541): while an AST is pending, ast_taken_user. False: the thread died. */
function return_from_trap(k: Xnu): boolean {
  label(k, 'return_from_trap');
  const th = k.current!.thread;
  k.m.cpu.gpr.r15 = th.iss;
  for (;;) {
    const pending = gsRead(k, CPU_PENDING_AST);
    if (pending === 0n) {
      decide(k, 'return_from_trap', 'no-ast-pending');
      break;
    }
    if (k.trace.enabled) decide(k, 'return_from_trap', 'ast-pending', `CPU_PENDING_AST=${hx(pending)}`);
    k.m.cpu.gpr.rbp = 0n;
    if (!ast_taken_user(k)) {
      leave(k, 'return_from_trap', 'thread terminated');
      return false;
    }
  }
  leave(k, 'return_from_trap');
  return true;
}

/** return_to_user / ret_to_user (idt64.s:1403-1406): CPU_ACTIVE_CR3 = task CR3, DR7, then ks_64bit_return. */
function ret_to_user(k: Xnu): void {
  label(k, 'ret_to_user');
  gsWrite(k, CPU_ACTIVE_CR3, gsRead(k, CPU_TASK_CR3));
  decide(k, 'ret_to_user', k.current!.thread.ids ? 'load-debug-registers' : 'no-debug-state');
  setRip(k, hibLabel(k, 'ks_64bit_return'));
  leave(k, 'ret_to_user');
}

/** ret_to_kernel (idt64.s:1490): jump to idt64_hndl_table0[1], ks_64bit_return. */
function ret_to_kernel(k: Xnu): void {
  label(k, 'ret_to_kernel');
  setRip(k, hibLabel(k, 'ks_64bit_return'));
  leave(k, 'ret_to_kernel');
}

/** x86_saved_state64 from rdi (16) to ss (216): 26 quadwords, in memory order. */
const STATE_ORDER = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9', 'cr2', 'r15', 'r14', 'r13', 'r12', 'r11', 'rbp', 'rbx', 'rcx', 'rax'] as const;
const IRET_WHATS = ['iret frame SS', 'iret frame RSP', 'iret frame RFLAGS', 'iret frame CS', 'iret frame RIP'];

/**
 * ks_64bit_return (idt64.s:719, double-mapped): restore the GPRs from (r15), RSP = CPU_ESTACK,
 * push the iret frame from the saved state; to user: CR3 = CPU_UCR3, swapgs, iretq (l.808).
 */
function ks_64bit_return(k: Xnu): void {
  label(k, 'ks_64bit_return');
  const m = k.m;
  const ss = m.cpu.gpr.r15;
  const regs = kreadWords(k, ss + BigInt(R64.rdi), 16);
  STATE_ORDER.forEach((r, i) => {
    if (r !== 'cr2' && r !== 'r15') m.cpu.gpr[r] = regs[i]!;
  });
  const isf = kreadWords(k, ss + BigInt(R64.rip), 5); // rip, cs, rflags, rsp, ss
  m.cpu.rsp = gsRead(k, CPU_ESTACK);
  pushAll(k, [isf[4]!, isf[3]!, isf[2]!, isf[1]!, isf[0]!], IRET_WHATS);
  const cs = Number(isf[1]! & 0xffffn);
  if (cs === KERNEL64_CS) {
    decide(k, 'ks_64bit_return', 'to-kernel');
    m.cpu.gpr.r15 = regs[7]!;
  } else {
    decide(k, 'ks_64bit_return', 'to-user', 'CR3 = CPU_UCR3 (user-only table), swapgs');
    mustPush(k, m.cpu.gpr.rax, 'rax [A]');
    mustPush(k, gsRead(k, CPU_NEED_SEGCHK), 'CPU_NEED_SEGCHK [B]');
    m.cpu.gpr.r15 = regs[7]!;
    m.movToCr3(gsRead(k, CPU_UCR3));
    swapgs(m);
    label(k, 'L_chk_sysret');
    mustPop(k, 'CPU_NEED_SEGCHK [B]');
    if (k.trace.enabled) decide(k, 'L_chk_sysret', 'iret-path', `cs ${hx(cs)} is not SYSCALL_CS`);
    m.cpu.gpr.rax = mustPop(k, 'rax [A]');
    leave(k, 'L_chk_sysret');
  }
  label(k, 'ret64_iret');
  const f = iretq(m);
  if (f) throw new Error(`model bug: iretq faulted (vector ${f.vector})`);
  leave(k, 'ret64_iret');
  leave(k, 'ks_64bit_return');
}
