// arch/x86/entry/calling.h (5.19/6.x): the macros every entry path uses. PUSH_AND_CLEAR_REGS builds
// the software half of struct pt_regs with real pushes on the current stack, then zeroes the
// registers user mode controlled; POP_REGS undoes it; SWITCH_TO_KERNEL_CR3 / SWITCH_TO_USER_CR3
// move between the PTI page-table pair (bit 12) and the PCID pair (bit 11), with NOFLUSH (bit 63)
// unless cpu_tlbstate.user_pcid_flush_mask asks for a flush of the user PCID.
//
// The entry code's own stack traffic is real (memory writes through paging) but not traced word
// by word: `quiet()` mutes the hardware events, and the caller shows the resulting pt_regs frame.

import { pop, popWords, push, pushWords } from '../../../../../hw/delivery.js';
import type { Machine } from '../../../../../hw/machine.js';
import { CR4_PCIDE } from '../../../../../hw/regs.js';
import type { GprName } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import { PTI_USER_PGTABLE_AND_PCID_MASK, PTI_USER_PGTABLE_BIT, X86_CR3_PCID_NOFLUSH, X86_CR3_PTI_PCID_USER_BIT, type X86Kernel } from '../include/asm/processor.js';
import { decide } from '../kernel/ftrace.js';
import { tlbstate } from '../mm/tlb.js';

/** Run `fn` with the machine's trace muted (the entry code's word-by-word stack traffic). */
export function quiet<T>(m: Machine, fn: () => T): T {
  return m.untraced(fn);
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

/**
 * PUSH_AND_CLEAR_REGS [save_ret=1] [rax=...]: push di, si, dx, cx, ax, r8-r11, bx, bp, r12-r15.
 * With save_ret the return address of `call error_entry` (on top of the stack) is moved above the
 * frame: si is pushed, the return address is parked in rsi, di overwrites its slot, and it is
 * pushed again last. `ax` replaces the saved rax (entry_SYSCALL_64 pushes -ENOSYS).
 */
export function PUSH_AND_CLEAR_REGS(m: Machine, opts: { saveRet: boolean; ax?: bigint }): void {
  const g = m.cpu.gpr;
  let ret = 0n;
  const vals: bigint[] = [];
  if (opts.saveRet) {
    pushOrDie(m, g.rsi, 'pt_regs->si');
    ret = read(m, m.cpu.rsp + 8n);
    write(m, m.cpu.rsp + 8n, g.rdi); // pt_regs->di over the return address
  } else {
    vals.push(g.rdi, g.rsi);
  }
  for (const r of PUSH_ORDER) vals.push(r === 'rax' && opts.ax !== undefined ? opts.ax : g[r]);
  if (opts.saveRet) vals.push(ret);
  const f = pushWords(m, vals, PUSH_NAMES);
  if (f) throw new Error(`model bug: PUSH_REGS faulted (vector ${f.vector}) at rsp ${hex(m.cpu.rsp)}`);
  // CLEAR_REGS: xor the registers user mode controlled (rdi/rsp/rax stay: they carry the arguments).
  for (const r of CLEARED) g[r] = 0n;
}

const PUSH_NAMES = PUSH_ORDER.map((r) => `pt_regs->${r}`);
const CLEARED = ['rsi', 'rdx', 'rcx', 'r8', 'r9', 'r10', 'r11', 'rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'] as const;
const POP_ORDER: readonly GprName[] = [...PUSH_ORDER].reverse().concat(['rsi', 'rdi']);

/** POP_REGS [pop_rdi=0]: restore the general registers from the frame, r15 first. */
export function POP_REGS(m: Machine, popRdi: boolean): void {
  const n = popRdi ? 15 : 14;
  const v = popWords(m, n, POP_ORDER);
  if (!Array.isArray(v)) throw new Error(`model bug: POP_REGS faulted (vector ${v.vector})`);
  const g = m.cpu.gpr;
  for (let i = 0; i < n; i++) g[POP_ORDER[i]!] = v[i]!;
}

/** `n` 8-byte reads from `va` upwards (a model bug if one faults). */
export function readWords(m: Machine, va: bigint, n: number): bigint[] {
  const out = new Array<bigint>(n).fill(0n);
  const r = m.tryWords(va, 8, 'read', out, n);
  if (r.fault) throw new Error(`model bug: entry read of ${hex(va)} faulted`);
  return out;
}

/** 8-byte writes of `words` from `va` upwards. */
export function writeWords(m: Machine, va: bigint, words: bigint[]): void {
  const r = m.tryWords(va, 8, 'write', words, words.length);
  if (r.fault) throw new Error(`model bug: entry write of ${hex(va)} faulted`);
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
  return (m.cpu.cr4 & CR4_PCIDE) !== 0n;
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

/** Whether CR3 currently points at the user half of the PTI pair. */
export function cr3IsUser(m: Machine): boolean {
  return (m.cpu.cr3 & (1n << BigInt(PTI_USER_PGTABLE_BIT))) !== 0n;
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
    cr3 |= 1n << BigInt(X86_CR3_PTI_PCID_USER_BIT);
  }
  cr3 |= 1n << BigInt(PTI_USER_PGTABLE_BIT);
  decide(k, who, 'SWITCH_TO_USER_CR3', 'set bit 12 (user PGD) and bit 11 (user PCID)');
  m.movToCr3(cr3);
}
