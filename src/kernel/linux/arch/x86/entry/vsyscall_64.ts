// arch/x86/entry/vsyscall/vsyscall_64.c (5.19/6.18), vsyscall=xonly (the default): the legacy page at
// 0xffffffffff600000 is not mapped at all; a call into it faults with INSTR|USER, and
// emulate_vsyscall() performs gettimeofday/time/getcpu (at +0, +0x400, +0x800) and emulates the
// `ret`. Reads, writes and kernel-mode faults are never fixed up; a read logs "vsyscall read
// attempt denied". Simplified: the emulated calls do not write their (NULL) output pointers.

import { PF_I, PF_U, PF_W } from '../../../../../hw/pferr.js';
import { SIGSEGV, force_sig } from '../../../kernel/signal.js';
import { VSYSCALL_ADDR, type X86Kernel } from '../include/asm/processor.js';
import { storeField, type PtRegs } from '../include/asm/ptrace.js';
import { decide, fentry, fexit, printk } from '../kernel/ftrace.js';
import { get_user_u64 } from '../lib/usercopy.js';

const SRC = 'arch/x86/entry/vsyscall/vsyscall_64.c';
const lx = (v: bigint): string => BigInt.asUintN(64, v).toString(16);

/** warn_bad_vsyscall(): "comm[pid] message ip:%lx cs:%lx sp:%lx ax:%lx si:%lx di:%lx". */
function warn_bad_vsyscall(k: X86Kernel, regs: PtRegs, message: string): void {
  const t = k.current;
  const v = regs.v;
  printk(k, `${t.comm}[${t.pid}] ${message} ip:${lx(v.ip)} cs:${lx(v.cs)} sp:${lx(v.sp)} ax:${lx(v.ax)} si:${lx(v.si)} di:${lx(v.di)}`);
}

/** addr_to_vsyscall_nr(): 0, 1, 2 for the three entry points, else -1. */
function addr_to_vsyscall_nr(addr: bigint): number {
  if ((addr & ~0xc00n) !== VSYSCALL_ADDR) return -1;
  const nr = Number((addr & 0xc00n) >> 10n);
  return nr >= 3 ? -1 : nr;
}

/** emulate_vsyscall(): true when the fault was handled here (emulated, or a SIGSEGV forced). */
export function emulate_vsyscall(k: X86Kernel, error_code: number, regs: PtRegs, address: bigint): boolean {
  const fn = 'emulate_vsyscall';
  fentry(k, fn, SRC);
  const done = (r: boolean, why: string) => {
    decide(k, fn, why);
    fexit(k, fn, r ? 'true' : 'false');
    return r;
  };
  if ((error_code & (PF_W | PF_U)) !== PF_U) return done(false, 'write or kernel-mode fault: never fixed up');
  if (!(error_code & PF_I)) {
    warn_bad_vsyscall(k, regs, 'vsyscall read attempt denied -- look up the vsyscall kernel parameter if you need a workaround');
    return done(false, 'read of the xonly vsyscall page');
  }
  const nr = addr_to_vsyscall_nr(address);
  if (nr < 0) {
    warn_bad_vsyscall(k, regs, 'misaligned vsyscall (exploit attempt or buggy program) -- look up the vsyscall kernel parameter if you need a workaround');
    force_sig(k, SIGSEGV);
    return done(true, 'misaligned: SIGSEGV');
  }
  const caller = get_user_u64(k, regs.sp);
  if (caller === null) {
    warn_bad_vsyscall(k, regs, 'vsyscall with bad stack (exploit attempt?)');
    force_sig(k, SIGSEGV);
    return done(true, 'bad stack: SIGSEGV');
  }
  // gettimeofday(NULL, NULL) = 0, time(NULL) = a fixed clock, getcpu(NULL, NULL, NULL) = 0.
  const ret = nr === 1 ? 1_700_000_000n : 0n;
  storeField(k.machine, regs, 'ax', ret);
  storeField(k.machine, regs, 'ip', caller); // emulate `ret`
  storeField(k.machine, regs, 'sp', regs.v.sp + 8n);
  return done(true, ['gettimeofday', 'time', 'getcpu'][nr]! + ' emulated');
}
