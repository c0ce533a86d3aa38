// arch/x86/mm/fault.c (5.19 and 6.18): the #PF handler, from exc_page_fault() down to the call
// into the mm (handle_mm_fault) or a failure (fault_bad_area.ts). One decision per function; each
// early exit of do_user_addr_fault's ladder emits a `decision` naming itself.
//
// Addresses: CR2 is a 64-bit value (bigint, as the machine holds it); user addresses go to the mm
// as numbers (below 2^47 they are exact).
//
// Simplified: no kprobes, kmmio, KVM async PF, AMD prefetch errata, vDSO fixups, KFENCE, or
// memcg; fault_signal_pending() is always false (one thread, no pending signals mid-fault).

import { PF_I, PF_P, PF_PK, PF_RSVD, PF_SGX, PF_SS, PF_U, PF_W } from '../../../../../hw/pferr.js';
import { CR4_SMAP, RFLAGS_AC, RFLAGS_IF } from '../../../../../hw/regs.js';
import { hex } from '../../../../../trace/events.js';
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_INSTRUCTION, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE,
  VM_FAULT_COMPLETED, VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_HWPOISON_LARGE, VM_FAULT_MAJOR, VM_FAULT_OOM,
  VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_GROWSDOWN, VM_WRITE, type VmAreaStruct,
} from '../../../include/linux/mm_types.js';
import { mmap_read_lock, mmap_read_trylock, mmap_read_unlock } from '../../../include/linux/mmap_lock.js';
import { irqentry_enter, irqentry_exit } from '../../../kernel/entry/common.js';
import { find_vma, vma_is_accessible } from '../../../mm/vma.js';
import { expand_stack } from '../../../mm/mmap.js';
import { handle_mm_fault, lock_mm_and_find_vma, lock_vma_under_rcu, vma_end_read } from '../../../mm/memory.js';
import { TASK_SIZE_MAX, VSYSCALL_ADDR, type X86Kernel } from '../include/asm/processor.js';
import { user_mode, type PtRegs } from '../include/asm/ptrace.js';
import { decide, fentry, fexit } from '../kernel/ftrace.js';
import { emulate_vsyscall } from '../entry/vsyscall_64.js';
import { search_exception_tables } from './extable.js';
import { arch_vma_access_permitted } from './pkeys.js';
import {
  bad_area, bad_area_access_error, bad_area_nosemaphore, do_sigbus, kernelmode_fixup_or_oops, page_fault_oops, pgtable_bad,
} from './fault_bad_area.js';
import { SEGV_MAPERR, SIGSEGV } from '../../../kernel/signal.js';

const SRC = 'arch/x86/mm/fault.c';
const TASK_SIZE_MAX_BIG = BigInt(TASK_SIZE_MAX);

/** Why do_user_addr_fault() stopped early or how it went on: the trace's labels. */
export type UserFaultStep =
  | 'kernel-exec-user-page' | 'reserved-bit' | 'smap-violation' | 'faulthandler-disabled' | 'no-mm'
  | 'irqs-were-off' | 'vsyscall-emulated' | 'mmap-trylock-failed-no-fixup' | 'no-vma' | 'vma-found'
  | 'below-vma-not-growsdown' | 'stack-expand-failed' | 'stack-expanded' | 'access-error' | 'per-vma-lock'
  | 'per-vma-lock-unavailable' | 'per-vma-access-error' | 'lock_mm_and_find_vma-failed' | 'retry' | 'done'
  | 'vm-fault-error';

/**
 * exc_page_fault() (DEFINE_IDTENTRY_RAW_ERRORCODE): read CR2 before anything that could fault
 * again, irqentry_enter(), handle_page_fault(), irqentry_exit() (which delivers signals).
 */
export function exc_page_fault(k: X86Kernel, regs: PtRegs, error_code: number): void {
  const address = k.machine.cpu.cr2; // read_cr2(): first, before tracing can fault and clobber it
  if (k.machine.trace.enabled) fentry(k, 'exc_page_fault', SRC, { regs: hex(regs.addr), error_code: hex(error_code) });
  if (k.machine.trace.enabled) decide(k, 'exc_page_fault', 'read_cr2', `address = ${hex(address)} (before any tracing)`);
  const state = irqentry_enter(k, regs);
  handle_page_fault(k, regs, error_code, address);
  irqentry_exit(k, regs, state);
  fexit(k, 'exc_page_fault');
}

/** fault_in_kernel_space(): at or above TASK_SIZE_MAX, except the vsyscall page (it takes the user path). */
export function fault_in_kernel_space(address: bigint): boolean {
  if ((address & ~0xfffn) === VSYSCALL_ADDR) return false;
  return address >= TASK_SIZE_MAX_BIG;
}

/** handle_page_fault(): the tracepoint, then the kernel-address or the user-address path. */
export function handle_page_fault(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  fentry(k, 'handle_page_fault', SRC);
  if (k.machine.trace.enabled) {
    const tp = user_mode(regs) ? 'exceptions:page_fault_user' : 'exceptions:page_fault_kernel';
    decide(k, 'handle_page_fault', tp, `address=${hex(address)} ip=${k.syms.describe(regs.ip)} error_code=${hex(error_code)}`);
  }
  if (fault_in_kernel_space(address)) {
    do_kern_addr_fault(k, regs, error_code, address);
  } else {
    do_user_addr_fault(k, regs, error_code, address);
    // local_irq_disable(): the exit path runs with interrupts off.
  }
  fexit(k, 'handle_page_fault');
}

/**
 * do_kern_addr_fault(): a fault on a kernel address. Only a spurious fault (a stale TLB entry
 * after a permission upgrade, kernel mode only) is fixed; everything else is bad_area_nosemaphore,
 * which for user mode means SIGSEGV (with PROT forced on by sanitize_error_code).
 */
export function do_kern_addr_fault(k: X86Kernel, regs: PtRegs, hw_error_code: number, address: bigint): void {
  fentry(k, 'do_kern_addr_fault', SRC);
  if (hw_error_code & PF_PK) decide(k, 'do_kern_addr_fault', 'WARN_ON_ONCE(X86_PF_PK)');
  // vmalloc_fault() is 32-bit only; is_f00f_bug() too.
  if (!(hw_error_code & (PF_U | PF_RSVD)) && spurious_kernel_fault(k, hw_error_code, address)) {
    fexit(k, 'do_kern_addr_fault');
    return;
  }
  bad_area_nosemaphore(k, regs, hw_error_code, address);
  fexit(k, 'do_kern_addr_fault');
}

/**
 * spurious_kernel_fault(): only WRITE|PROT or INSTR|PROT kernel faults can be spurious; walk
 * init_mm's tables and see whether the entry now allows the access (then the TLB was stale).
 */
export function spurious_kernel_fault(k: X86Kernel, error_code: number, address: bigint): boolean {
  fentry(k, 'spurious_kernel_fault', SRC);
  if (error_code !== (PF_W | PF_P) && error_code !== (PF_I | PF_P)) {
    fexit(k, 'spurious_kernel_fault', '0');
    return false;
  }
  const w = k.machine.previewWalk(address); // the kernel reads its own tables (same CR3 here)
  const present = w.status === 0;
  const ok = present && ((error_code & PF_W) === 0 || (w.rights & 1) !== 0) && ((error_code & PF_I) === 0 || (w.rights & 4) === 0);
  decide(k, 'spurious_kernel_fault', ok ? 'spurious: the entry allows it now' : 'not spurious');
  fexit(k, 'spurious_kernel_fault', ok ? '1' : '0');
  return ok;
}

/**
 * access_error() (5.19 order; 6.x adds shadow stacks): 1 when the VMA does not allow the access.
 * Instruction fetches are not checked against VM_EXEC; a read of a present page is an error (it
 * can only be a fetch from an NX page or a pkey fault); reads need any of READ|WRITE|EXEC.
 */
export function access_error(k: X86Kernel, error_code: number, vma: VmAreaStruct): boolean {
  let why: string | null;
  if (error_code & PF_PK) why = 'X86_PF_PK';
  else if (error_code & PF_SGX) why = 'X86_PF_SGX';
  else if (!arch_vma_access_permitted(k, vma, error_code)) why = 'PKRU denies the VMA\'s protection key';
  else if (k.version !== '5.19' && error_code & PF_SS) why = 'X86_PF_SHSTK without VM_SHADOW_STACK';
  else if (error_code & PF_W) why = vma.vm_flags & VM_WRITE ? null : 'write to a VMA without VM_WRITE';
  else if (error_code & PF_P) why = 'read/fetch of a present page (NX or pkey)';
  else why = vma_is_accessible(vma) ? null : 'VMA has no READ|WRITE|EXEC (PROT_NONE)';
  if (k.machine.trace.enabled) {
    fentry(k, 'access_error', SRC);
    decide(k, 'access_error', why === null ? 'allowed' : why);
    fexit(k, 'access_error', why === null ? '0' : '1');
  }
  return why !== null;
}

/** is_vsyscall_vaddr(). */
function is_vsyscall_vaddr(address: bigint): boolean {
  return (address & ~0xfffn) === VSYSCALL_ADDR;
}

/** The mm's view of an address (user addresses only reach it). */
const num = (a: bigint): number => Number(a);

/**
 * do_user_addr_fault(): the ladder of linux.md §4.4, in each version's order. Returns nothing:
 * success maps the page; failures end in bad_area*() / do_sigbus() / an oops.
 */
export function do_user_addr_fault(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): void {
  const fn = 'do_user_addr_fault';
  fentry(k, fn, SRC);
  const step = (s: UserFaultStep, detail?: string) => decide(k, fn, s, detail);
  const mm = k.current.mm;
  let flags = FAULT_FLAG_DEFAULT;
  const m = k.machine;
  const out = () => fexit(k, fn);

  if ((error_code & (PF_U | PF_I)) === PF_I) {
    step('kernel-exec-user-page', 'SMEP: the kernel fetched from a user page');
    page_fault_oops(k, regs, error_code, address);
    return out();
  }
  if (error_code & PF_RSVD) {
    step('reserved-bit');
    pgtable_bad(k, regs, error_code, address);
    return out();
  }
  if ((m.cpu.cr4 & CR4_SMAP) !== 0n && !(error_code & PF_U) && (regs.flags & RFLAGS_AC) === 0n) {
    step('smap-violation', 'supervisor access to a user page with EFLAGS.AC clear: no exception-table lookup');
    page_fault_oops(k, regs, error_code, address);
    return out();
  }
  if (k.pagefault_disabled > 0 || !mm) {
    step(mm ? 'faulthandler-disabled' : 'no-mm');
    bad_area_nosemaphore(k, regs, error_code, address);
    return out();
  }
  if (k.version === '5.19') {
    if (user_mode(regs)) flags |= FAULT_FLAG_USER; // local_irq_enable()
  } else {
    if ((regs.flags & RFLAGS_IF) === 0n) {
      step('irqs-were-off', 'WARN_ON_ONCE(!(regs->flags & X86_EFLAGS_IF))');
      bad_area_nosemaphore(k, regs, error_code, address);
      return out();
    }
  }
  k.perf.page_faults++; // perf_sw_event(PERF_COUNT_SW_PAGE_FAULTS): every fault that gets this far
  if (error_code & PF_W) flags |= FAULT_FLAG_WRITE;
  if (k.version !== '5.19' && error_code & PF_SS) flags |= FAULT_FLAG_WRITE;
  if (error_code & PF_I) flags |= FAULT_FLAG_INSTRUCTION;
  if (k.version !== '5.19' && user_mode(regs)) flags |= FAULT_FLAG_USER;

  if (is_vsyscall_vaddr(address) && emulate_vsyscall(k, error_code, regs, address)) {
    step('vsyscall-emulated');
    return out();
  }
  const st = { tried: false };
  const vma = k.features.perVmaLock ? find_vma_6x(k, regs, error_code, address, flags, st) : find_vma_519(k, regs, error_code, address);
  if (vma === 'done') return out();
  good_area(k, regs, error_code, address, vma, st.tried ? flags | FAULT_FLAG_TRIED : flags);
  out();
}

/**
 * 5.19: mmap_read_trylock (a kernel fault with no exception-table entry gives up rather than
 * deadlock), find_vma, and stack growth for a GROWSDOWN VMA above the address.
 */
function find_vma_519(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint): VmAreaStruct | 'done' {
  const fn = 'do_user_addr_fault';
  const mm = k.current.mm!;
  if (!mmap_read_trylock(k, mm)) {
    if (!user_mode(regs) && !search_exception_tables(k, regs.ip)) {
      decide(k, fn, 'mmap-trylock-failed-no-fixup');
      bad_area_nosemaphore(k, regs, error_code, address);
      return 'done';
    }
    mmap_read_lock(k, mm);
  }
  const addr = num(address);
  const vma = find_vma(k, mm, addr);
  if (!vma) {
    decide(k, fn, 'no-vma', 'no VMA at or above the address');
    bad_area(k, regs, error_code, address);
    return 'done';
  }
  if (vma.vm_start <= addr) {
    if (k.machine.trace.enabled) decide(k, fn, 'vma-found', `[${hex(vma.vm_start)}, ${hex(vma.vm_end)})`);
    return vma;
  }
  if (!(vma.vm_flags & VM_GROWSDOWN)) {
    decide(k, fn, 'below-vma-not-growsdown', 'the next VMA is above and is not a stack');
    bad_area(k, regs, error_code, address);
    return 'done';
  }
  if (expand_stack(k, vma, addr)) {
    decide(k, fn, 'stack-expand-failed');
    bad_area(k, regs, error_code, address);
    return 'done';
  }
  decide(k, fn, 'stack-expanded');
  return vma;
}

/**
 * 6.x: user faults first try the per-VMA lock (lock_vma_under_rcu); a result other than RETRY is
 * final. Otherwise lock_mm_and_find_vma() (which also grows stacks); NULL -> bad_area_nosemaphore.
 */
function find_vma_6x(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, flags: number, st?: { tried: boolean }): VmAreaStruct | 'done' {
  const fn = 'do_user_addr_fault';
  const mm = k.current.mm!;
  const addr = num(address);
  if (flags & FAULT_FLAG_USER) {
    const vma = lock_vma_under_rcu(k, mm, addr);
    if (!vma) {
      decide(k, fn, 'per-vma-lock-unavailable', 'no VMA, no anon_vma yet, or outside it: lock_mmap');
    } else if (access_error(k, error_code, vma)) {
      if (k.features.vmaLockBadAccess) {
        decide(k, fn, 'per-vma-access-error', 'bad_area_access_error() under the VMA lock (6.10+: no retry under mmap_lock)');
        bad_area_access_error(k, regs, error_code, address, vma, 'vma_lock');
        return 'done';
      }
      decide(k, fn, 'per-vma-access-error', 'vma_end_read(); lock_mmap');
      vma_end_read(k, vma);
    } else {
      decide(k, fn, 'per-vma-lock');
      const fault = handle_mm_fault(k, vma, addr, flags | FAULT_FLAG_VMA_LOCK, regs);
      if (!(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED))) vma_end_read(k, vma);
      if (!(fault & VM_FAULT_RETRY)) {
        fault_done(k, regs, error_code, address, fault);
        return 'done';
      }
      decide(k, fn, 'retry', fault & VM_FAULT_MAJOR ? 'VMA-lock RETRY after MAJOR: TRIED' : 'VMA-lock RETRY: fall back');
      if (fault & VM_FAULT_MAJOR && st) st.tried = true; // flags |= FAULT_FLAG_TRIED for the mmap_lock attempt
    }
  }
  const vma = lock_mm_and_find_vma(k, mm, addr, user_mode(regs));
  if (!vma) {
    decide(k, fn, 'lock_mm_and_find_vma-failed', 'no VMA, or the stack could not grow');
    bad_area_nosemaphore(k, regs, error_code, address);
    return 'done';
  }
  if (k.machine.trace.enabled) decide(k, fn, 'vma-found', `[${hex(vma.vm_start)}, ${hex(vma.vm_end)})`);
  return vma;
}

/** good_area: access_error(), handle_mm_fault(), RETRY handling, unlock, then errors. */
function good_area(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, first: VmAreaStruct, flags: number): void {
  const fn = 'do_user_addr_fault';
  const mm = k.current.mm!;
  let vma: VmAreaStruct | 'done' = first;
  for (let tries = 0; ; tries++) {
    if (access_error(k, error_code, vma)) {
      decide(k, fn, 'access-error');
      bad_area_access_error(k, regs, error_code, address, vma);
      return;
    }
    const fault = handle_mm_fault(k, vma, num(address), flags, regs);
    // fault_signal_pending(): no signals are pending mid-fault in the model.
    if (fault & VM_FAULT_COMPLETED) return;
    if (fault & VM_FAULT_RETRY) {
      if (tries > 4) throw new Error('model bug: handle_mm_fault keeps returning VM_FAULT_RETRY');
      decide(k, fn, 'retry', 'flags |= FAULT_FLAG_TRIED; the mm code dropped mmap_lock: look the VMA up again');
      flags |= FAULT_FLAG_TRIED;
      vma = k.features.perVmaLock ? find_vma_6x(k, regs, error_code, address, flags & ~FAULT_FLAG_USER) : find_vma_519(k, regs, error_code, address);
      if (vma === 'done') return;
      continue;
    }
    mmap_read_unlock(k, mm);
    fault_done(k, regs, error_code, address, fault);
    return;
  }
}

/** done: success returns; VM_FAULT_ERROR turns into OOM handling, SIGBUS or SIGSEGV. */
function fault_done(k: X86Kernel, regs: PtRegs, error_code: number, address: bigint, fault: number): void {
  const fn = 'do_user_addr_fault';
  if (!(fault & VM_FAULT_ERROR)) {
    decide(k, fn, 'done');
    return;
  }
  decide(k, fn, 'vm-fault-error', hex(fault));
  if (fault & VM_FAULT_OOM) {
    if (!user_mode(regs)) kernelmode_fixup_or_oops(k, regs, error_code, address, SIGSEGV, SEGV_MAPERR);
    else decide(k, 'pagefault_out_of_memory', 'no OOM kill from #PF: the instruction re-faults');
  } else if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) {
    do_sigbus(k, regs, error_code, address, fault);
  } else if (fault & VM_FAULT_SIGSEGV) {
    bad_area_nosemaphore(k, regs, error_code, address);
  } else {
    throw new Error(`BUG() in do_user_addr_fault: VM_FAULT ${hex(fault)}`);
  }
}
