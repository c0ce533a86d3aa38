// The trap entry and return path of osfmk/x86_64/idt64.s (xnu-11417.121.6), label by label,
// with their effects on the machine: pushes onto the double-mapped exception stack, SWAPGS, the
// CR3 switch, the copy of the frame into the thread's PCB, the register saves into
// x86_saved_state64 at their real offsets (xnu.md §3), and on the way out the restores, the
// synthetic iret frame on the estack, the switch back to the user CR3, SWAPGS and IRETQ.
// Simplified: RELEASE kernel (no cacheline stash, no POSTCODE), 64-bit tasks only (no
// L_dispatch_U32), no LDT, no debug-register restore beyond the DR7 decision, no sysret path.

import { iretq, swapgs } from '../../../../hw/delivery.js';
import { VECTORS } from '../../../../hw/exceptions.js';
import { GPR_NAMES, R_RIP, R_RSP, RFLAGS_AC, RFLAGS_IF, joinHalves, storeHalves } from '../../../../hw/regs.js';
import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import { kernel_trap, user_trap } from '../i386/trap.js';
import { ast_taken_user } from '../kern/ast.js';
import {
  CPU_ACTIVE_CR3, CPU_ESTACK, CPU_KERNEL_CR3, CPU_KERNEL_STACK, CPU_NEED_SEGCHK, CPU_PENDING_AST, CPU_SHADOWTASK_CR3, CPU_TASK_CR3,
  CPU_TASK_MAP, CPU_TLB_INVALID, CPU_UBER_ISF, CPU_UBER_TMP, CPU_UCR3, HIB_IDT64_HNDL_TABLE0, HIB_STUB_SIZE, HIB_STUBS,
  HIB_TEXT_LABELS, ISF64_SIZE, ISS64_OFFSET, KERNEL64_CS, R64, SS_64, SS_FLAVOR, ktext,
} from './hib.js';
import { HNDL_ALLTRAPS, IDT_TABLE, T_PAGE_FAULT } from './idt_table.js';
import {
  Halves, bufToReg, gsBase, gsRead, gsWrite, kread, kreadAt, kreadSmallAt, kwriteAt, kwriteSmallAt, mustPop, mustPush, pushAll, regToBuf, rspRead, setAt, trapScratch,
} from './kaccess.js';

const FILE = 'osfmk/x86_64/idt64.s';
const TWO32 = 2 ** 32;

// The entry code moves registers and quadwords as 32-bit halves (CpuState.r, Machine.tryWordsAt):
// no bigint per word on the fault path. Register i (GPR_NAMES order) is r[2i] (bits 31:0), r[2i+1].
const RAX = 0;
const RCX = 2;
const RDX = 4;
const RBX = 6;
const RBP = 10;
const RSI = 12;
const R15 = 30;

function label(k: Xnu, name: string): void {
  enter(k, name, FILE);
}

/** RIP = DBLMAP of a __HIB text label (the asm jumps through the double map). */
function setRipHib(k: Xnu, name: string): void {
  const { dbl: DBL } = trapScratch(k);
  const d = DBL.of(k.dblmapDist);
  setAt(k.m, R_RIP, d.hi, d.lo, HIB_TEXT_LABELS[name]!);
}

export type EntryResult = 'returned-to-user' | 'returned-to-kernel' | 'thread-terminated' | 'panic';

/**
 * An exception the machine just delivered through master_idt64: run the stub at the gate's
 * offset (the CPU's RIP), then the common path to the handler and back to the interrupted code.
 */
export function idt64_trap_entry(k: Xnu): EntryResult {
  const vector = stubVector(k);
  const row = IDT_TABLE[vector];
  if (!row) throw new Error(`model bug: RIP ${hx(k.m.cpu.rip)} is not an IDT stub`);
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

/** The vector whose stub RIP is at (DBLMAP of the stubs, 16 bytes each), or -1 when RIP is at none. */
function stubVector(k: Xnu): number {
  const { dbl: DBL } = trapScratch(k);
  const d = DBL.of(k.dblmapDist);
  const r = k.m.cpu.r;
  const from = (r[R_RIP + 1]! - d.hi) * TWO32 + (r[R_RIP]! - d.lo) - HIB_STUBS;
  return from >= 0 && from % HIB_STUB_SIZE === 0 ? from / HIB_STUB_SIZE : -1;
}

/**
 * idt64_page_fault (idt64.s:162) and the TRAP stubs (l.117-155): push trapfn HNDL_ALLTRAPS,
 * then the trap number (plus a zero error code first for vectors the CPU pushes none for).
 */
function idt64_stub(k: Xnu, vector: number, handler: string): void {
  label(k, handler);
  if (!VECTORS[vector]?.errorCode) mustPush(k, 0, 0, 'err (none from the CPU)');
  mustPush(k, HNDL_ALLTRAPS, 0, 'trapfn HNDL_ALLTRAPS');
  mustPush(k, vector, 0, vector === T_PAGE_FAULT ? 'trapno T_PAGE_FAULT' : 'trapno');
  setRipHib(k, 'L_dispatch');
  leave(k, handler);
}

/** L_dispatch (idt64.s:687): from user, swapgs and load the task's full CR3 from the shadow; then jump to ks_dispatch. */
function L_dispatch(k: Xnu): void {
  const { idtW: W, dbl: DBL, taskCr3: TASK_CR3 } = trapScratch(k);
  label(k, 'L_dispatch');
  const m = k.m;
  const r = m.cpu.r;
  mustPush(k, r[RAX]!, r[RAX + 1]!, 'rax');
  const d = DBL.of(k.dblmapDist);
  const cs = rspRead(k, 8 + 32);
  if (cs[0]! & 3) {
    if (k.trace.enabled) decide(k, 'L_dispatch', 'from-user', `saved cs ${hx(joinHalves(cs[0]!, cs[1]!))}: swapgs, CR3 = shadow task CR3`);
    swapgs(m);
    kreadAt(k, d.hi, d.lo, HIB_IDT64_HNDL_TABLE0 + 0x10, W); // the shadow's offset from cpu_data
    bufToReg(W, 0, r, RAX);
    label(k, 'L_dispatch_kgsb');
    // %gs:CPU_SHADOWTASK_CR3(%rax): a 64-bit add of the offset to the GS base
    const g = gsBase(k);
    const lo = g.lo + W[0]!;
    kreadAt(k, (g.hi + W[1]! + (lo >= TWO32 ? 1 : 0)) >>> 0, lo >>> 0, CPU_SHADOWTASK_CR3, W);
    m.movToCr3(TASK_CR3.of(W[0]!, W[1]!));
    leave(k, 'L_dispatch_kgsb');
  } else decide(k, 'L_dispatch', 'from-kernel', 'no swapgs, CR3 unchanged');
  kreadAt(k, d.hi, d.lo, HIB_IDT64_HNDL_TABLE0, W); // jmp *idt64_hndl_table0[0]
  bufToReg(W, 0, r, R_RIP);
  leave(k, 'L_dispatch');
}

/** ks_dispatch (idt64.s:1153): the CS test; from user, copy the frame onto the PCB's isf. Returns from-user. */
function ks_dispatch(k: Xnu): boolean {
  const { idtW: W, block: BLOCK, run: RUN } = trapScratch(k);
  label(k, 'ks_dispatch');
  const m = k.m;
  const r = m.cpu.r;
  bufToReg(mustPop(k, 'rax'), 0, r, RAX);
  const cs = rspRead(k, 32)[0]! & 0xffff;
  if (cs === KERNEL64_CS) {
    decide(k, 'ks_dispatch', 'kernel-cs', 'state saved in place on the current stack');
    leave(k, 'ks_dispatch');
    return false;
  }
  decide(k, 'ks_dispatch', 'user-cs', 'copy ss..trapno to the PCB isf');
  regToBuf(r, RAX, W, 0);
  gsWrite(k, CPU_UBER_TMP, W);
  const oldLo = r[R_RSP]!;
  const oldHi = r[R_RSP + 1]!;
  const isf = gsRead(k, CPU_UBER_ISF); // xchg %rsp, %rax
  setAt(m, R_RSP, isf[1]!, isf[0]!, ISF64_SIZE);
  kreadAt(k, oldHi, oldLo, 0, BLOCK, 8); // trapno..ss read upward, pushed ss first
  for (let i = 0; i < 8; i++) {
    RUN[2 * i] = BLOCK[2 * (7 - i)]!;
    RUN[2 * i + 1] = BLOCK[2 * (7 - i) + 1]!;
  }
  pushAll(k, RUN, 8, ISF_WHATS);
  bufToReg(gsRead(k, CPU_UBER_TMP), 0, r, RAX);
  leave(k, 'ks_dispatch');
  return true;
}

/** subq $ISS64_OFFSET, %rsp; mov %r15, R64_R15(%rsp); mov %rsp, %r15: the saved state starts here. */
function claimSavedState(k: Xnu): void {
  const { idtW: W } = trapScratch(k);
  const cpu = k.m.cpu;
  const r = cpu.r;
  cpu.addRsp(-ISS64_OFFSET);
  regToBuf(r, R15, W, 0);
  kwriteAt(k, r[R_RSP + 1]!, r[R_RSP]!, R64.r15, W);
  r[R15] = r[R_RSP]!;
  r[R15 + 1] = r[R_RSP + 1]!;
}

/** ks_dispatch_kernel (idt64.s): make room for the saved state below the frame on the current stack. */
function ks_dispatch_kernel(k: Xnu): void {
  label(k, 'ks_dispatch_kernel');
  claimSavedState(k);
  leave(k, 'ks_dispatch_kernel');
}

/** ks_dispatch_user (idt64.s:1182): 64-bit task map goes to L_dispatch_U64. */
function ks_dispatch_user(k: Xnu): void {
  label(k, 'ks_dispatch_user');
  const map = gsRead(k, CPU_TASK_MAP);
  decide(k, 'ks_dispatch_user', (map[0]! | map[1]!) === 0 ? 'task-map-64bit' : 'task-map-32bit');
  leave(k, 'ks_dispatch_user');
}

/** L_dispatch_U64 (idt64.s:1186): RSP to the x86_saved_state_t, r15 = it, RSP = the kernel stack. */
function L_dispatch_U64(k: Xnu): void {
  label(k, 'L_dispatch_U64');
  claimSavedState(k);
  const ks = gsRead(k, CPU_KERNEL_STACK);
  setAt(k.m, R_RSP, ks[1]!, ks[0]!, 0);
  leave(k, 'L_dispatch_U64');
}

const ISF_WHATS = ['isf SS', 'isf RSP', 'isf RFLAGS', 'isf CS', 'isf RIP', 'isf ERR', 'isf TRAPFN', 'isf TRAPNO'];
/** The registers at R64_RDI..R64_R9 and R64_R14..R64_RAX, in memory order (the asm's movq's, batched). */
const LOW_BLOCK = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'] as const;
const HIGH_BLOCK = ['r14', 'r13', 'r12', 'r11', 'rbp', 'rbx', 'rcx', 'rax'] as const;
const ZEROED = ['rcx', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14'] as const;
/** The same as indexes into CpuState.r (2 * register number). */
const at = (names: readonly string[]): number[] => names.map((n) => 2 * GPR_NAMES.indexOf(n as (typeof GPR_NAMES)[number]));
const LOW_AT = at(LOW_BLOCK);
const HIGH_AT = at(HIGH_BLOCK);
const ZEROED_AT = at(ZEROED);

/**
 * L_dispatch_64bit (idt64.s:1205): flavor SS_64, fs/gs, the GPRs at their R64_* offsets, zero
 * ecx/edi/r8-r14, CR2 only for T_PAGE_FAULT (checklist 9, 10).
 */
function L_dispatch_64bit(k: Xnu): void {
  const { idtW: W, block: BLOCK } = trapScratch(k);
  label(k, 'L_dispatch_64bit');
  const m = k.m;
  const r = m.cpu.r;
  const lo = r[R15]!; // the saved state's address
  const hi = r[R15 + 1]!;
  kwriteSmallAt(k, hi, lo, SS_FLAVOR, SS_64, 4);
  kwriteSmallAt(k, hi, lo, R64.fs, 0, 4);
  kwriteSmallAt(k, hi, lo, R64.gs, 0, 4);
  for (let i = 0; i < LOW_AT.length; i++) regToBuf(r, LOW_AT[i]!, BLOCK, i);
  kwriteAt(k, hi, lo, R64.rdi, BLOCK, LOW_AT.length);
  for (let i = 0; i < HIGH_AT.length; i++) regToBuf(r, HIGH_AT[i]!, BLOCK, i);
  kwriteAt(k, hi, lo, R64.r14, BLOCK, HIGH_AT.length);
  for (const g of ZEROED_AT) r[g] = r[g + 1] = 0;
  const trapno = kreadSmallAt(k, hi, lo, R64.trapno, 4);
  const isPf = trapno === T_PAGE_FAULT;
  if (k.trace.enabled) decide(k, 'L_dispatch_64bit', isPf ? 'save-cr2' : 'cr2-slot-zero', isPf ? `cr2 = ${hx(m.cpu.cr2)}` : `trapno ${trapno}`);
  if (isPf) storeHalves(W, 0, m.cpu.cr2);
  else W[0] = W[1] = 0;
  kwriteAt(k, hi, lo, R64.cr2, W);
  bufToReg(W, 0, r, RAX);
  r[RBX] = trapno;
  r[RBX + 1] = 0;
  kreadAt(k, hi, lo, R64.trapfn, W);
  bufToReg(W, 0, r, RDX);
  kreadAt(k, hi, lo, R64.cs, W);
  r[RSI] = W[0]!;
  r[RSI + 1] = 0;
  if (k.trace.enabled) k.trace.emit({ ev: 'log', text: dumpSavedState(k, joinHalves(lo, hi)) });
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

const AC = Number(RFLAGS_AC);
const HNDL_ALLTRAPS_TEXT = new Halves(0n).of(ktext('hndl_alltraps'));
const IF = Number(RFLAGS_IF);

/**
 * L_common_dispatch (idt64.s:1329): cld/clac, CPU_ACTIVE_CR3 = kernel CR3, the deferred TLB
 * flush check, L_set_act (DR7), L_intcnt (hwIntCnt[trapno]++), then idt64_hndl_table1[trapfn].
 */
function L_common_dispatch(k: Xnu, fromUser: boolean): void {
  const { idtW: W } = trapScratch(k);
  label(k, 'L_common_dispatch');
  const m = k.m;
  const r = m.cpu.r;
  if (m.cpu.flags & AC) m.setFlags(m.cpu.flags & ~AC); // clac (pmap_smap_enabled)
  gsWrite(k, CPU_ACTIVE_CR3, gsRead(k, CPU_KERNEL_CR3));
  if (fromUser) {
    r[RBP] = r[RBP + 1] = 0;
    decide(k, 'L_common_dispatch', 'shared-cr3', 'no pagezero mapping, no_shared_cr3 off: keep the task CR3');
  }
  const inval = gsRead(k, CPU_TLB_INVALID);
  if ((inval[0]! | inval[1]!) !== 0) {
    W[0] = W[1] = 0;
    gsWrite(k, CPU_TLB_INVALID, W);
    m.invpcid(2, 0);
  }
  const th = k.current?.thread;
  if (th?.ids) decide(k, 'L_set_act', 'debug-state-dr7-zeroed');
  k.hwIntCnt[r[RBX]!]!++; // rbx = trapno (L_dispatch_64bit)
  r[R_RIP] = HNDL_ALLTRAPS_TEXT.lo;
  r[R_RIP + 1] = HNDL_ALLTRAPS_TEXT.hi;
  leave(k, 'L_common_dispatch');
}

/** hndl_alltraps (idt64.s:1522): user traps call user_trap(r15); kernel ones go to trap_from_kernel. */
function hndl_alltraps(k: Xnu, fromUser: boolean): boolean {
  label(k, 'hndl_alltraps');
  const m = k.m;
  const r = m.cpu.r;
  const lo = r[R15]!;
  const hi = r[R15 + 1]!;
  let ok: boolean;
  if (fromUser) {
    decide(k, 'hndl_alltraps', 'from-user', 'recount_leave_user; CCALL1(user_trap, %r15)');
    ok = user_trap(k, hi, lo);
  } else {
    label(k, 'trap_from_kernel');
    ok = kernel_trap(k, hi, lo);
    leave(k, 'trap_from_kernel');
  }
  m.setFlags(m.cpu.flags & ~IF); // cli
  r[RCX] = r[RCX + 1] = 0;
  leave(k, 'hndl_alltraps');
  return ok;
}

/** return_from_trap (idt64.s:1541): while an AST is pending, ast_taken_user. False: the thread died. */
function return_from_trap(k: Xnu): boolean {
  const { iss: ISS } = trapScratch(k);
  label(k, 'return_from_trap');
  const th = k.current!.thread;
  const r = k.m.cpu.r;
  const iss = ISS.of(th.iss);
  r[R15] = iss.lo;
  r[R15 + 1] = iss.hi;
  for (;;) {
    const pending = gsRead(k, CPU_PENDING_AST);
    if ((pending[0]! | pending[1]!) === 0) {
      decide(k, 'return_from_trap', 'no-ast-pending');
      break;
    }
    if (k.trace.enabled) decide(k, 'return_from_trap', 'ast-pending', `CPU_PENDING_AST=${hx(joinHalves(pending[0]!, pending[1]!))}`);
    r[RBP] = r[RBP + 1] = 0;
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
  setRipHib(k, 'ks_64bit_return');
  leave(k, 'ret_to_user');
}

/** ret_to_kernel (idt64.s:1490): jump to idt64_hndl_table0[1], ks_64bit_return. */
function ret_to_kernel(k: Xnu): void {
  label(k, 'ret_to_kernel');
  setRipHib(k, 'ks_64bit_return');
  leave(k, 'ret_to_kernel');
}

/** x86_saved_state64 from rdi (16) to ss (216): 26 quadwords, in memory order. */
const STATE_ORDER = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9', 'cr2', 'r15', 'r14', 'r13', 'r12', 'r11', 'rbp', 'rbx', 'rcx', 'rax'] as const;
/** Where each STATE_ORDER word goes in CpuState.r (-1: not restored here: cr2, and r15 until the end). */
const STATE_AT = STATE_ORDER.map((n) => (n === 'cr2' || n === 'r15' ? -1 : 2 * GPR_NAMES.indexOf(n)));
const STATE_R15 = STATE_ORDER.indexOf('r15');
const IRET_WHATS = ['iret frame SS', 'iret frame RSP', 'iret frame RFLAGS', 'iret frame CS', 'iret frame RIP'];

/**
 * ks_64bit_return (idt64.s:719, double-mapped): restore the GPRs from (r15), RSP = CPU_ESTACK,
 * push the iret frame from the saved state; to user: CR3 = CPU_UCR3, swapgs, iretq (l.808).
 */
function ks_64bit_return(k: Xnu): void {
  const { block: BLOCK, run: RUN, iret: IRET, userCr3: USER_CR3 } = trapScratch(k);
  label(k, 'ks_64bit_return');
  const m = k.m;
  const r = m.cpu.r;
  const lo = r[R15]!; // the saved state's address
  const hi = r[R15 + 1]!;
  kreadAt(k, hi, lo, R64.rdi, BLOCK, 16);
  for (let i = 0; i < STATE_AT.length; i++) if (STATE_AT[i]! >= 0) bufToReg(BLOCK, i, r, STATE_AT[i]!);
  kreadAt(k, hi, lo, R64.rip, RUN, 5); // rip, cs, rflags, rsp, ss
  const estack = gsRead(k, CPU_ESTACK);
  setAt(m, R_RSP, estack[1]!, estack[0]!, 0);
  // push ss, rsp, rflags, cs, rip: the saved isf in reverse
  for (let i = 0; i < 5; i++) {
    IRET[2 * i] = RUN[2 * (4 - i)]!;
    IRET[2 * i + 1] = RUN[2 * (4 - i) + 1]!;
  }
  const cs = RUN[2]! & 0xffff;
  pushAll(k, IRET, 5, IRET_WHATS);
  if (cs === KERNEL64_CS) {
    decide(k, 'ks_64bit_return', 'to-kernel');
    bufToReg(BLOCK, STATE_R15, r, R15);
  } else {
    decide(k, 'ks_64bit_return', 'to-user', 'CR3 = CPU_UCR3 (user-only table), swapgs');
    mustPush(k, r[RAX]!, r[RAX + 1]!, 'rax [A]');
    const segchk = gsRead(k, CPU_NEED_SEGCHK);
    mustPush(k, segchk[0]!, segchk[1]!, 'CPU_NEED_SEGCHK [B]');
    bufToReg(BLOCK, STATE_R15, r, R15);
    const ucr3 = gsRead(k, CPU_UCR3);
    m.movToCr3(USER_CR3.of(ucr3[0]!, ucr3[1]!));
    swapgs(m);
    label(k, 'L_chk_sysret');
    mustPop(k, 'CPU_NEED_SEGCHK [B]');
    if (k.trace.enabled) decide(k, 'L_chk_sysret', 'iret-path', `cs ${hx(cs)} is not SYSCALL_CS`);
    bufToReg(mustPop(k, 'rax [A]'), 0, r, RAX);
    leave(k, 'L_chk_sysret');
  }
  label(k, 'ret64_iret');
  const f = iretq(m);
  if (f) throw new Error(`model bug: iretq faulted (vector ${f.vector})`);
  leave(k, 'ret64_iret');
  leave(k, 'ks_64bit_return');
}
