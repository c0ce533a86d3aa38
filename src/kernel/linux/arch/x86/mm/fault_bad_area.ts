// arch/x86/mm/fault.c, second half (5.19 and 6.18): how a failed fault ends. bad_area*() turn into
// SIGSEGV for user mode (sanitize_error_code, show_signal_msg, set_signal_archinfo,
// force_sig_fault), into an exception-table fixup or an oops for kernel mode
// (kernelmode_fixup_or_oops, page_fault_oops, show_fault_oops); do_sigbus() and pgtable_bad().
// The log lines are printk's exact formats.

import { PF_I, PF_P, PF_PK, PF_RSVD, PF_U, PF_W } from '../../../../../hw/pferr.js';
import { P, US } from '../../../../../hw/pte.js';
import { CR4_SMEP } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import { VM_FAULT_HWPOISON, VM_FAULT_HWPOISON_LARGE, type VmAreaStruct } from '../../../include/linux/mm_types.js';
import { mmap_read_unlock } from '../../../include/linux/mmap_lock.js';
import { do_exit } from '../../../kernel/exit.js';
import {
  BUS_ADRERR, BUS_MCEERR_AR, SEGV_ACCERR, SEGV_MAPERR, SEGV_PKUERR, SIGBUS, SIGKILL, SIGSEGV, force_sig_fault, unhandled_signal,
} from '../../../kernel/signal.js';
import { find_vma } from '../../../mm/vma.js';
import { vma_end_read } from '../../../mm/memory.js';
import { TASK_SIZE_MAX, type X86Kernel } from '../include/asm/processor.js';
import { user_mode, type PtRegs } from '../include/asm/ptrace.js';
import { decide, fentry, fexit, printk } from '../kernel/ftrace.js';
import { fixup_exception } from './extable.js';
import { arch_vma_access_permitted, ospke } from './pkeys.js';

const SRC = 'arch/x86/mm/fault.c';
const X86_TRAP_PF = 14;

/** %px / %016lx: 16 hex digits, no 0x. */
export const px = (v: bigint): string => BigInt.asUintN(64, v).toString(16).padStart(16, '0');
/** %lx: hex without padding or 0x. */
const lx = (v: bigint | number): string => BigInt.asUintN(64, BigInt(v)).toString(16);

/** bad_area(): drop mmap_lock, then __bad_area_nosemaphore(SEGV_MAPERR). */
export function bad_area(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  fentry(k, 'bad_area', SRC);
  mmap_read_unlock(k, k.current.mm!);
  __bad_area_nosemaphore(k, regs, error_code, address, 0, SEGV_MAPERR);
  fexit(k, 'bad_area');
}

/** bad_area_nosemaphore(): no lock held; SEGV_MAPERR. */
export function bad_area_nosemaphore(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  fentry(k, 'bad_area_nosemaphore', SRC);
  __bad_area_nosemaphore(k, regs, error_code, address, 0, SEGV_MAPERR);
  fexit(k, 'bad_area_nosemaphore');
}

/**
 * bad_area_access_error(): SEGV_PKUERR for a pkey fault, else SEGV_ACCERR. Drops the lock the
 * caller holds: mmap_lock, or (6.10+, `mm` NULL in __bad_area) the per-VMA lock.
 */
export function bad_area_access_error(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, vma: VmAreaStruct, held: 'mmap_lock' | 'vma_lock' = 'mmap_lock'): void {
  fentry(k, 'bad_area_access_error', SRC);
  // bad_area_access_from_pkeys(): OSPKE, and the hardware said PK or PKRU denies the VMA's key
  const pkeys = ospke(k) && ((error_code & PF_PK) !== 0 || !arch_vma_access_permitted(k, vma, error_code));
  decide(k, 'bad_area_access_error', pkeys ? 'SEGV_PKUERR' : 'SEGV_ACCERR');
  if (held === 'vma_lock') vma_end_read(k, vma);
  else mmap_read_unlock(k, k.current.mm!);
  __bad_area_nosemaphore(k, regs, error_code, address, pkeys ? vma.vm_pkey : 0, pkeys ? SEGV_PKUERR : SEGV_ACCERR);
  fexit(k, 'bad_area_access_error');
}

/**
 * __bad_area_nosemaphore(): kernel mode -> fixup or oops; a user-mode implicit supervisor access
 * -> oops; otherwise sanitize the error code, log, record the arch info and force the signal.
 */
export function __bad_area_nosemaphore(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, pkey: number, si_code: number): void {
  const fn = '__bad_area_nosemaphore';
  fentry(k, fn, SRC);
  if (!user_mode(regs)) {
    decide(k, fn, 'kernel mode');
    kernelmode_fixup_or_oops(k, regs, error_code, address, SIGSEGV, si_code);
  } else if (!(error_code & PF_U)) {
    decide(k, fn, 'implicit supervisor access from user mode');
    page_fault_oops(k, regs, error_code, address);
  } else {
    error_code = sanitize_error_code(k, address, error_code);
    if (k.show_unhandled_signals) show_signal_msg(k, regs, error_code, address);
    set_signal_archinfo(k, address, error_code);
    force_sig_fault(k, SIGSEGV, si_code, address, pkey);
  }
  fexit(k, fn);
}

/**
 * sanitize_error_code(): user-mode faults on kernel addresses always report PROT, so the error
 * code does not reveal which kernel addresses are mapped.
 */
export function sanitize_error_code(k: X86Kernel, address: bigint, error_code: number): number {
  if (address >= BigInt(TASK_SIZE_MAX) && !(error_code & PF_P)) {
    if (k.machine.trace.enabled) decide(k, 'sanitize_error_code', 'kernel address: error_code |= X86_PF_PROT', `${hex(error_code)} -> ${hex(error_code | PF_P)}`);
    return error_code | PF_P;
  }
  return error_code;
}

/** set_signal_archinfo(): thread.trap_nr = 14, thread.error_code = ec | USER, thread.cr2 = address. */
export function set_signal_archinfo(k: X86Kernel, address: bigint, error_code: number): void {
  const t = k.current.thread;
  t.trap_nr = X86_TRAP_PF;
  t.error_code = error_code | PF_U;
  t.cr2 = address;
}

/** print_vma_addr(" in ", ip): " in file[start+len]" for a file-backed VMA at or above ip; anon prints nothing. */
export function print_vma_addr(k: X86Kernel, prefix: string, ip: bigint): string {
  const mm = k.current.mm;
  if (!mm || ip >= BigInt(TASK_SIZE_MAX)) return '';
  const vma = find_vma(k, mm, Number(ip));
  if (!vma || !vma.vm_file) return '';
  const name = vma.vm_file.name.split('/').pop() ?? vma.vm_file.name;
  return `${prefix}${name}[${lx(vma.vm_start)}+${lx(vma.vm_end - vma.vm_start)}]`;
}

/**
 * show_signal_msg(): only if the signal is unhandled. "comm[pid]: segfault at addr ip %px sp %px
 * error %lx" + print_vma_addr + (6.x) " likely on CPU n (core c, socket s)", then show_opcodes().
 */
export function show_signal_msg(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  const tsk = k.current;
  if (!unhandled_signal(tsk, SIGSEGV)) {
    decide(k, 'show_signal_msg', 'handled: no log line');
    return;
  }
  let line = `${tsk.comm}[${tsk.pid}]: segfault at ${lx(address)} ip ${px(regs.ip)} sp ${px(regs.sp)} error ${lx(error_code)}`;
  line += print_vma_addr(k, ' in ', regs.ip);
  if (k.features.segfaultCpuSuffix) line += ' likely on CPU 0 (core 0, socket 0)';
  printk(k, line);
  printk(k, show_opcodes(k, regs.ip));
}

/** show_opcodes(): 42 bytes before ip, <the byte at ip>, 21 after; or why they could not be read. */
export function show_opcodes(k: X86Kernel, ip: bigint): string {
  const bytes: string[] = [];
  const m = k.machine;
  for (let i = -42n; i <= 21n; i++) {
    const w = m.previewWalk(ip + i);
    if (w.status !== 0) return `Code: Unable to access opcode bytes at RIP 0x${lx(ip)}.`;
    const pa = w.pfn * 4096 + Number((ip + i) & 0xfffn);
    const b = m.mem.read8(pa).toString(16).padStart(2, '0');
    bytes.push(i === 0n ? `<${b}>` : b);
  }
  return `Code: ${bytes.join(' ')}`;
}

/**
 * kernelmode_fixup_or_oops(): a kernel-mode fault on a bad address is fine if the faulting
 * instruction has an exception-table entry (uaccess): the fixup makes the syscall fail with
 * -EFAULT and no signal. Without one, it is an oops.
 */
export function kernelmode_fixup_or_oops(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, _signal: number, _si_code: number): void {
  const fn = 'kernelmode_fixup_or_oops';
  fentry(k, fn, SRC);
  if (user_mode(regs)) decide(k, fn, 'WARN_ON_ONCE(user_mode(regs))');
  if (fixup_exception(k, regs, X86_TRAP_PF, error_code, address)) {
    if (k.machine.trace.enabled) decide(k, fn, 'fixed up', `exception table: resume at ${k.syms.describe(regs.ip)}`);
  } else {
    page_fault_oops(k, regs, error_code, address);
  }
  fexit(k, fn);
}

/** dump_pagetable(): "PGD %lx P4D %lx PUD %lx PMD %lx PTE %lx", stopping at a non-present level. */
export function dump_pagetable(k: X86Kernel, address: bigint): string {
  const m = k.machine;
  let table = Number(m.cpu.cr3 & 0xffffffffff000n);
  const parts: string[] = [];
  const names = ['PGD', 'PUD', 'PMD', 'PTE'];
  for (let l = 0; l < 4; l++) {
    const idx = Number((address >> BigInt(39 - 9 * l)) & 511n);
    const v = m.mem.read64(table + idx * 8);
    parts.push(`${names[l]} ${lx(v)}`);
    if (l === 0) parts.push(`P4D ${lx(v)}`); // 4-level paging: the P4D is folded into the PGD
    if ((Number(v & 0xffn) & P) === 0 || (l > 0 && l < 3 && (Number(v) & 0x80) !== 0)) break;
    table = Number(v & 0xffffffffff000n);
  }
  return parts.join(' ');
}

/**
 * show_fault_oops(): the NX / SMEP notes, "BUG: kernel NULL pointer dereference" or "BUG: unable
 * to handle page fault", the "#PF: ..." lines, and the page-table dump.
 */
export function show_fault_oops(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  const m = k.machine;
  if (error_code & PF_I) {
    const w = m.previewWalk(address);
    if (w.status === 0 && (w.rights & 4) !== 0) printk(k, 'kernel tried to execute NX-protected page - exploit attempt? (uid: 0)');
    const pgdUser = (m.mem.read32(Number(m.cpu.cr3 & 0xffffffffff000n) + Number((address >> 39n) & 511n) * 8) & US) !== 0;
    if (w.status === 0 && (w.rights & 4) === 0 && pgdUser && (m.cpu.cr4 & CR4_SMEP) !== 0n) printk(k, 'unable to execute userspace code (SMEP?) (uid: 0)');
  }
  if (address < 4096n && !user_mode(regs)) printk(k, `BUG: kernel NULL pointer dereference, address: ${px(address)}`);
  else printk(k, `BUG: unable to handle page fault for address: ${px(address)}`);
  const who = error_code & PF_U ? 'user' : 'supervisor';
  const what = error_code & PF_I ? 'instruction fetch' : error_code & PF_W ? 'write access' : 'read access';
  printk(k, `#PF: ${who} ${what} in ${user_mode(regs) ? 'user' : 'kernel'} mode`);
  const why = !(error_code & PF_P) ? 'not-present page' : error_code & PF_RSVD ? 'reserved bit violation' : error_code & PF_PK ? 'protection keys violation' : 'permissions violation';
  printk(k, `#PF: error_code(0x${error_code.toString(16).padStart(4, '0')}) - ${why}`);
  printk(k, dump_pagetable(k, address));
}

/** __die() header and the register summary, then oops_end(): the task is killed (SIGKILL). */
function die(k: X86Kernel, regs: PtRegs, str: string, error_code: number, address: bigint): void {
  const tsk = k.current;
  printk(k, `${str}: ${error_code.toString(16).padStart(4, '0')} [#1] PREEMPT SMP${k.pti ? ' PTI' : ''}`);
  const uid = k.version === '5.19' ? '' : 'UID: 0 ';
  printk(k, `CPU: 0 ${uid}PID: ${tsk.pid} Comm: ${tsk.comm} Not tainted ${k.version}.0 #1`);
  printk(k, `RIP: ${regs.cs.toString(16).padStart(4, '0')}:${k.syms.describe(regs.ip)}`);
  printk(k, `CR2: ${px(address)}`);
  printk(k, '---[ end trace 0000000000000000 ]---');
  decide(k, 'oops_end', 'do_exit(SIGKILL)', 'the task that oopsed is killed');
  do_exit(k, SIGKILL);
}

/** page_fault_oops(): oops_begin, show_fault_oops, __die("Oops"), oops_end -> SIGKILL. */
export function page_fault_oops(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  fentry(k, 'page_fault_oops', SRC);
  show_fault_oops(k, regs, error_code, address);
  die(k, regs, 'Oops', error_code, address);
  fexit(k, 'page_fault_oops');
}

/** pgtable_bad(): "comm: Corrupted page table at address %lx", the dump, __die("Bad pagetable"), SIGKILL. */
export function pgtable_bad(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  fentry(k, 'pgtable_bad', SRC);
  printk(k, `${k.current.comm}: Corrupted page table at address ${lx(address)}`);
  printk(k, dump_pagetable(k, address));
  die(k, regs, 'Bad pagetable', error_code, address);
  fexit(k, 'pgtable_bad');
}

/** do_sigbus(): kernel -> fixup/oops; user -> archinfo and SIGBUS BUS_ADRERR (or BUS_MCEERR_AR for poison). No log line. */
export function do_sigbus(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, fault: number): void {
  fentry(k, 'do_sigbus', SRC);
  if (!user_mode(regs)) {
    kernelmode_fixup_or_oops(k, regs, error_code, address, SIGBUS, BUS_ADRERR);
  } else {
    error_code = sanitize_error_code(k, address, error_code);
    set_signal_archinfo(k, address, error_code);
    if (fault & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) {
      printk(k, `MCE: Killing ${k.current.comm}:${k.current.pid} due to hardware memory corruption fault at ${lx(address)}`);
      force_sig_fault(k, SIGBUS, BUS_MCEERR_AR, address, 0);
    } else {
      force_sig_fault(k, SIGBUS, BUS_ADRERR, address, 0);
    }
  }
  fexit(k, 'do_sigbus');
}
