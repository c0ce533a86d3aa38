// user_trap and kernel_trap for page faults, and i386_exception (osfmk/i386/trap.c:1075, 664,
// 1642; xnu-11417.121.6). user_trap reads the saved state the entry path wrote, turns the #PF
// error code into a protection, calls vm_fault, and raises EXC_BAD_ACCESS(kr, cr2) for anything
// but SUCCESS/ABORTED (checklist 12-14). kernel_trap resolves faults the kernel takes on user
// memory and, when vm_fault fails, resumes at the copyio recovery address (EFAULT).
// Simplified: no LBR/instruction-stream capture, no DTrace, no FPU/debug traps.

import { R_RIP, RFLAGS_AC, RFLAGS_IF, joinHalves } from '../../../../hw/regs.js';
import { decide, hx, krName, leave, klog, KERN_ABORTED, KERN_FAILURE, KERN_SUCCESS, VM_PROT_EXECUTE, VM_PROT_READ, VM_PROT_WRITE, protName, type Xnu } from '../../xnu.js';
import { exception_triage } from '../kern/exception.js';
import { vm_fault } from '../vm/vm_fault.js';
import { VM_MAX_USER_ADDRESS } from '../vm/vm_map.js';
import { R64, ktext } from '../x86_64/hib.js';
import { Halves, kread, kreadAt, kreadSmallAt, kwrite, kwriteSmallAt, trapScratch } from '../x86_64/kaccess.js';
import { T_PAGE_FAULT, T_PF_EXECUTE, T_PF_PROT, T_PF_WRITE } from '../x86_64/idt_table.js';

const FILE = 'osfmk/i386/trap.c';

/** exception_type_t (osfmk/mach/exception_types.h). */
export const EXC_BAD_ACCESS = 1;
/** EXC_I386_GPFLT (osfmk/mach/i386/exception.h). */
export const EXC_I386_GPFLT = 13;

/** prot from the #PF error code (trap.c:1299): READ, +WRITE, +EXECUTE; P/U/RSVD ignored (checklist 12). */
export function protFromErr(err: number): number {
  let prot = VM_PROT_READ;
  if (err & T_PF_WRITE) prot |= VM_PROT_WRITE;
  if (err & T_PF_EXECUTE) prot |= VM_PROT_EXECUTE;
  return prot;
}

const IF = Number(RFLAGS_IF);
const USER_TRAP_TEXT = new Halves(0n).of(ktext('user_trap'));

type UserTrapOutcome = 'resume' | 'resume-aborted' | 'panic-kern-failure' | 'exc-bad-access' | 'gp-fault';


/** user_trap (trap.c:1075) on the saved state at `hi`:`lo`. Returns false when the kernel panicked. */
export function user_trap(k: Xnu, hi: number, lo: number): boolean {
  const W = trapScratch(k).trapW; // the saved state's quadwords user_trap reads
  const m = k.m;
  const type = kreadSmallAt(k, hi, lo, R64.trapno, 2);
  kreadAt(k, hi, lo, R64.err, W, 1);
  const err = W[0]! & 0xffff;
  kreadAt(k, hi, lo, R64.cr2, W, 1);
  const vaLo = W[0]!;
  const vaHi = W[1]!;
  kreadAt(k, hi, lo, R64.rip, W, 1);
  if (k.trace.enabled) {
    const args = { saved_state: hx(joinHalves(lo, hi)), type: String(type), err: hx(err), vaddr: hx(joinHalves(vaLo, vaHi)), rip: hx(joinHalves(W[0]!, W[1]!)) };
    k.trace.emit({ ev: 'enter', fn: 'user_trap', src: `${FILE}:user_trap (xnu-11417)`, args });
  }
  kwriteSmallAt(k, hi, lo, R64.cpu, 0, 2); // isf.cpu = cpu_number()
  m.cpu.r[R_RIP] = USER_TRAP_TEXT.lo;
  m.cpu.r[R_RIP + 1] = USER_TRAP_TEXT.hi;
  m.setFlags(m.cpu.flags | IF); // pal_sti()
  let exc = 0;
  let code = 0;
  let subcode = 0n;
  let why: UserTrapOutcome;
  if (type === T_PAGE_FAULT) {
    const prot = protFromErr(err);
    if (k.trace.enabled) decide(k, 'user_trap', 'T_PAGE_FAULT', `prot = ${protName(prot)} from err ${hx(err)}`);
    const kr = vm_fault(k, k.current!.map, vaHi * 2 ** 32 + vaLo, prot, false, 'THREAD_ABORTSAFE');
    if (kr === KERN_SUCCESS) why = 'resume';
    else if (kr === KERN_ABORTED) why = 'resume-aborted';
    else if (kr === KERN_FAILURE) why = 'panic-kern-failure';
    else {
      why = 'exc-bad-access';
      exc = EXC_BAD_ACCESS;
      code = kr;
      subcode = joinHalves(vaLo, vaHi);
    }
  } else {
    why = 'gp-fault';
    exc = EXC_BAD_ACCESS;
    code = EXC_I386_GPFLT;
  }
  if (k.trace.enabled) decide(k, 'user_trap', why, exc ? `EXC_BAD_ACCESS code=${krName(code)} subcode=${hx(subcode)}` : undefined);
  if (why === 'panic-kern-failure') {
    k.trap.panic = `panic: vm_fault() KERN_FAILURE from user fault on thread ${hx(k.current!.thread.iss)}`;
    klog(k, k.trap.panic);
    leave(k, 'user_trap');
    return false;
  }
  if (exc) i386_exception(k, exc, code, subcode);
  leave(k, 'user_trap');
  return true;
}

/** i386_exception (trap.c:1642): codes = {code, subcode}; exception_triage (does not return: thread_exception_return). */
export function i386_exception(k: Xnu, exc: number, code: number, subcode: bigint): void {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'i386_exception', src: `${FILE}:i386_exception (xnu-11417)`, args: { exc: 'EXC_BAD_ACCESS', code: String(code), subcode: hx(subcode) } });
  k.trap.mach_exception = { type: exc, code, subcode };
  exception_triage(k, exc, code, subcode);
  leave(k, 'i386_exception');
}

type KernelTrapOutcome = 'resolved' | 'copyio-recovery' | 'panic-no-recovery' | 'panic-smap' | 'panic-smep' | 'panic-null-deref';
type FaultPath = 'vm_fault' | 'interrupts-disabled-kern-failure' | 'kernel-map-not-modelled';

/** The copyio recover_table (trap.c:647 find_recovery_entry): faults in _bcopy resume at _bcopy_fail (EFAULT). */
function find_recovery_entry(rip: bigint): bigint | null {
  return rip === ktext('_bcopy') ? ktext('_bcopy_fail') : null;
}

/** kernel_trap (trap.c:664) for T_PAGE_FAULT, on the saved state at `hi`:`lo`. Returns false when the kernel panicked. */
export function kernel_trap(k: Xnu, hi: number, lo: number): boolean {
  const state = joinHalves(lo, hi);
  const err = Number(kread(k, state + BigInt(R64.err)) & 0xffffn);
  const vaddr = kread(k, state + BigInt(R64.cr2));
  const rip = kread(k, state + BigInt(R64.rip));
  const rflags = kread(k, state + BigInt(R64.rflags));
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'kernel_trap', src: `${FILE}:kernel_trap (xnu-11417)`, args: { err: hx(err), vaddr: hx(vaddr), rip: hx(rip) } });
  const userMap = k.current !== null && vaddr < BigInt(VM_MAX_USER_ADDRESS);
  decide(k, 'kernel_trap', userMap ? 'user-address-thread-map' : 'kernel-map');
  const rp = find_recovery_entry(rip);
  let why: KernelTrapOutcome;
  if (err === (T_PF_PROT | T_PF_EXECUTE) && rip === vaddr) why = 'panic-smep';
  else if ((err & T_PF_PROT) && (rflags & RFLAGS_AC) === 0n && userMap) why = 'panic-smap';
  else if (vaddr < 4096n && rp === null) why = 'panic-null-deref';
  else {
    // Interrupts are restored to their state at the trap; a fault taken with them off fails (trap.c).
    const path: FaultPath = (rflags & RFLAGS_IF) === 0n ? 'interrupts-disabled-kern-failure' : userMap ? 'vm_fault' : 'kernel-map-not-modelled';
    if (path !== 'vm_fault') decide(k, 'kernel_trap', path);
    const kr = path === 'vm_fault' ? vm_fault(k, k.current!.map, Number(vaddr), protFromErr(err), false, 'THREAD_UNINT') : KERN_FAILURE;
    why = kr === KERN_SUCCESS ? 'resolved' : rp !== null ? 'copyio-recovery' : 'panic-no-recovery';
  }
  if (k.trace.enabled) decide(k, 'kernel_trap', why, why === 'copyio-recovery' ? `isf.rip = ${hx(rp!)} (recover table)` : undefined);
  if (why === 'copyio-recovery') {
    kwrite(k, state + BigInt(R64.rip), rp!);
    k.trap.recovered = true;
  } else if (why !== 'resolved') {
    k.trap.panic = `panic: Kernel trap at ${hx(rip)}, type 14=page fault, cr2: ${hx(vaddr)}, error code: ${hx(err)} (${why})`;
    klog(k, k.trap.panic);
  }
  leave(k, 'kernel_trap');
  return why === 'resolved' || why === 'copyio-recovery';
}
