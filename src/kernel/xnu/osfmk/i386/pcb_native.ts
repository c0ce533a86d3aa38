// Putting a thread on the CPU: act_machine_switch_pcb (osfmk/i386/pcb_native.c:566-580) and
// set_dirbase (osfmk/i386/pmap.h:650), then the thread's return to user mode.
// Simplified: the scheduler and machine_switch_context are not modelled; the model switches
// between processes at step boundaries, when the outgoing thread is in user mode.

import { RFLAGS_IF } from '../../../../hw/regs.js';
import { decide, type Xnu } from '../../xnu.js';
import type { Task, UserRegs } from '../kern/task.js';
import {
  CPU_DATA_VA, CPU_KERNEL_STACK, CPU_SHADOWTASK_CR3, CPU_TASK_CR3, CPU_TASK_MAP, CPU_UBER_ISF, CPU_UCR3, HIB_CPSHADOWS, ISS64_OFFSET,
  KERNEL64_CS, KERNEL64_SS,
} from '../x86_64/hib.js';
import { hibPa } from './mp_desc.js';

/** Save the user registers of the thread on the CPU (the model's half of a context switch). */
export function save_user_regs(k: Xnu, t: Task): void {
  const c = k.m.cpu;
  t.thread.regs = { rip: c.rip, rsp: c.rsp, rflags: c.rflags, cs: c.cs, ss: c.ss, gpr: { ...c.gpr } };
}

/** act_machine_switch_pcb + set_dirbase: point cpu_data (and its shadow) at `t`'s PCB, stack and CR3s. */
export function act_machine_switch_pcb(k: Xnu, t: Task): void {
  const mem = k.m.mem;
  const cd = k.cpuDataPa;
  mem.write64(cd + CPU_UBER_ISF, t.thread.iss + BigInt(ISS64_OFFSET));
  mem.write64(cd + CPU_KERNEL_STACK, t.thread.kstackTop);
  mem.write64(cd + CPU_TASK_CR3, BigInt(t.map.pmap.pml4));
  mem.write64(cd + CPU_UCR3, BigInt(t.map.pmap.upml4));
  mem.write64(cd + CPU_TASK_MAP, 0n); // TASK_MAP_64BIT
  mem.write64(hibPa(HIB_CPSHADOWS) + CPU_SHADOWTASK_CR3, BigInt(t.map.pmap.pml4));
  k.current = t;
}

/** Load `regs` and the user CR3 and return to user mode (what thread_exception_return ends in). */
export function load_user_regs(k: Xnu, t: Task, regs: UserRegs): void {
  const m = k.m;
  const c = m.cpu;
  m.movToCr3(BigInt(t.map.pmap.upml4));
  c.gsBase = 0n;
  c.kernelGsBase = CPU_DATA_VA;
  Object.assign(c.gpr, regs.gpr);
  c.rip = regs.rip;
  c.rsp = regs.rsp;
  c.cs = regs.cs;
  c.ss = regs.ss;
  m.setRflags(regs.rflags);
}

/** Switch the CPU to `t` in user mode (no-op when it is already there). */
export function switch_to_task(k: Xnu, t: Task): void {
  if (k.current === t && (k.m.cpu.cs & 3) === 3) return;
  if (k.current && k.current !== t && (k.m.cpu.cs & 3) === 3 && !k.current.proc.exited) save_user_regs(k, k.current);
  if (k.trace.enabled) decide(k, 'thread_dispatch', 'switch-to', `${t.name}[${t.proc.p_pid}]`);
  act_machine_switch_pcb(k, t);
  load_user_regs(k, t, t.thread.regs);
}

/** The syscall instruction's entry, simplified (hi64_syscall/L_syscall_continue not run step by step). */
export function syscall_enter(k: Xnu, t: Task): void {
  save_user_regs(k, t);
  const m = k.m;
  const c = m.cpu;
  c.gsBase = CPU_DATA_VA;
  c.kernelGsBase = 0n;
  m.movToCr3(BigInt(t.map.pmap.pml4));
  c.cs = KERNEL64_CS;
  c.ss = KERNEL64_SS;
  c.rsp = t.thread.kstackTop - 0x100n;
  m.setRflags(c.rflags | RFLAGS_IF);
}

/** The return from a system call (sysretq, simplified). */
export function syscall_return(k: Xnu, t: Task): void {
  if (t.proc.exited) return;
  load_user_regs(k, t, t.thread.regs);
}
