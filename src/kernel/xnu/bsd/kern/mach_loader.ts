// The first process's address space, as load_machfile/load_segment and the stack setup leave it
// (bsd/kern/mach_loader.c:2138, bsd/kern/kern_exec.c create_unix_stack; xnu-11417.121.6):
// __PAGEZERO is not an entry: map->min_offset is raised to 4 GiB, so a NULL dereference misses
// every entry (KERN_INVALID_ADDRESS, checklist 18). The main stack is create_unix_stack's
// (bsd/kern/kern_exec.c): MAXSSIZ (64 MiB) allocated below USRSTACK64 (VM_MEMORY_STACK), of which
// everything below the RLIMIT_STACK size (8 MiB) is mach_vm_protect'ed to VM_PROT_NONE: that guard
// is what turns a stack overflow into KERN_PROTECTION_FAILURE, which ux_exception's stack rule
// makes a SIGSEGV (checklist 16). Simplified: no Mach-O, no text/data segments, no dyld, no
// commpage, no ASLR slide.

import { VM_INHERIT_DEFAULT, VM_PROT_ALL, VM_PROT_DEFAULT, VM_PROT_NONE, type Xnu } from '../../xnu.js';
import { thread_create, type Task, type SigAction } from '../../osfmk/kern/task.js';
import { pmap_create_options } from '../../osfmk/x86_64/pmap.js';
import { VM_MAX_USER_ADDRESS, vm_map_create_options, vm_map_enter, type VmMap } from '../../osfmk/vm/vm_map.js';
import { vm_map_raise_min_offset } from '../../osfmk/vm/vm_map_ops.js';
import { mach_vm_protect } from '../../osfmk/vm/vm_user.js';
import { MAXSSIZ } from '../uxkern/ux_exception.js';
import { USER64_CS, USER_DS } from '../../osfmk/x86_64/hib.js';
import { SIGBUS, SIGSEGV } from './kern_sig.js';

/** USRSTACK64 (bsd/i386/vmparam.h) and the default stack size (DFLSSIZ, the RLIMIT_STACK soft limit). */
export const USRSTACK64 = 0x7ff7bff00000;
export const DFLSSIZ = 8 * 1024 * 1024;
/** __PAGEZERO of a 64-bit image: 4 GiB. */
export const PAGEZERO_SIZE = 0x100000000;
/** Where "anywhere" allocations start (vmmap_high_start; FIXME: no random slide). */
export const VMMAP_HIGH_START = 0x108000000;
/** The user RIP the model pretends the faulting instruction is at (the image's __TEXT). */
export const USER_TEXT_RIP = 0x100003f50n;

/** VM_MEMORY_STACK (mach/vm_statistics.h): the stack's VM tag. */
export const VM_MEMORY_STACK = 30;

/**
 * create_unix_stack (kern_exec.c): allocate MAXSSIZ at USRSTACK64 - MAXSSIZ (FIXED, tagged
 * VM_MEMORY_STACK), then protect all of it below the RLIMIT_STACK size to VM_PROT_NONE.
 */
export function create_unix_stack(k: Xnu, map: VmMap): void {
  const addr = USRSTACK64 - MAXSSIZ;
  const stack = vm_map_enter(k, map, {
    addr, size: MAXSSIZ, anywhere: false, overwrite: false, cur: VM_PROT_DEFAULT, max: VM_PROT_ALL, inheritance: VM_INHERIT_DEFAULT, alias: VM_MEMORY_STACK,
  }, () => undefined);
  if (stack.kr !== 0) throw new Error('model bug: could not map the main stack');
  const kr = mach_vm_protect(k, map, BigInt(addr), BigInt(MAXSSIZ - DFLSSIZ), false, VM_PROT_NONE);
  if (kr !== 0) throw new Error('model bug: could not protect the stack guard');
}

/** load_machfile + create_unix_stack for the first process. */
export function load_machfile(k: Xnu, name: string): Task {
  const pmap = pmap_create_options(k);
  const map = vm_map_create_options(pmap, 0, VM_MAX_USER_ADDRESS);
  vm_map_raise_min_offset(map, PAGEZERO_SIZE);
  map.vmmap_high_start = VMMAP_HIGH_START;
  create_unix_stack(k, map);
  const gpr: Record<string, bigint> = {
    rax: 0x41n, rbx: 0x100008000n, rcx: 0x7ff7bfeff9a0n, rdx: 0x2n, rbp: BigInt(USRSTACK64 - 0x100), rdi: 0x108000000n, rsi: 0x41n,
    r8: 0x8n, r9: 0x9n, r10: 0x10n, r11: 0x11n, r12: 0x12n, r13: 0x13n, r14: 0x14n, r15: 0x15n,
  };
  const regs = { rip: USER_TEXT_RIP, rsp: BigInt(USRSTACK64 - 0x120), rflags: 0x202n, cs: USER64_CS, ss: USER_DS, gpr };
  const sigacts = new Map<number, SigAction>();
  if (k.signals === 'handle') for (const s of [SIGSEGV, SIGBUS]) sigacts.set(s, { action: 'handler', onstack: true });
  const task: Task = {
    name, map, faults: 0, cow_faults: 0, pageins: 0, decompressions: 0, thread: thread_create(k, regs), exc_port_task: false, exc_port_thread: false,
    proc: { p_pid: k.nextPid++, p_name: name, user_stack: USRSTACK64, sigacts, p_sigmask: 0, exited: false, p_xsig: 0 },
  };
  k.tasks.push(task);
  return task;
}
