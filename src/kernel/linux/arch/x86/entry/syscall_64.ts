// arch/x86/entry/syscall_64.c + syscalls/syscall_64.tbl: sys_call_table, the x86-64 numbers of the
// calls the model runs. Arguments arrive as the 64-bit register values from pt_regs (di, si, dx,
// r10, r8, r9); each wrapper narrows them the way the C prototypes do (unsigned long addresses and
// lengths, int prot/flags). Numbers not in the table return -ENOSYS.

import { sys_brk, sys_mmap, sys_munmap } from '../../../mm/mmap.js';
import { sys_exit_group } from '../../../kernel/exit.js';
import { sys_getrandom } from '../../../kernel/sys.js';
import { sys_fork, type TaskFactory } from '../../../kernel/clone.js';
import { sys_mprotect } from '../../../mm/mprotect.js';
import { sys_madvise } from '../../../mm/madvise.js';
import { sys_mlock, sys_munlock } from '../../../mm/mlock.js';
import type { X86Kernel } from '../include/asm/processor.js';
import type { SyscallFn } from './entry_64.js';

/** syscall_64.tbl numbers. */
export const NR = {
  mmap: 9, mprotect: 10, munmap: 11, brk: 12, madvise: 28, fork: 57, exit: 60, exit_group: 231,
  mlock: 149, munlock: 150, getrandom: 318,
} as const;

/** unsigned long as the mm code takes it (user addresses and lengths fit a double exactly below 2^53). */
const ul = (v: bigint): number => Number(BigInt.asUintN(64, v));
/** int. */
const int = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** Fill `table` (LinuxKernel.syscalls) with the calls this build has; `extra` adds or overrides. */
export function register_syscalls(k: X86Kernel & { syscalls: Map<number, { name: string; fn: SyscallFn }> }, extra: Record<number, { name: string; fn: SyscallFn }> = {}): void {
  const t = k.syscalls;
  t.set(NR.mmap, { name: 'mmap', fn: (kk, a) => sys_mmap(kk, ul(a[0]!), ul(a[1]!), int(a[2]!), int(a[3]!), int(a[4]!), ul(a[5]!)) });
  t.set(NR.munmap, { name: 'munmap', fn: (kk, a) => sys_munmap(kk, ul(a[0]!), ul(a[1]!)) });
  t.set(NR.brk, { name: 'brk', fn: (kk, a) => sys_brk(kk, ul(a[0]!)) });
  t.set(NR.exit_group, { name: 'exit_group', fn: (kk, a) => sys_exit_group(kk, int(a[0]!)) });
  t.set(NR.exit, { name: 'exit', fn: (kk, a) => sys_exit_group(kk, int(a[0]!)) });
  t.set(NR.getrandom, { name: 'getrandom', fn: (kk, a) => sys_getrandom(kk, a[0]!, ul(a[1]!), int(a[2]!)) });
  t.set(NR.mprotect, { name: 'mprotect', fn: (kk, a) => sys_mprotect(kk, ul(a[0]!), ul(a[1]!), int(a[2]!)) });
  t.set(NR.madvise, { name: 'madvise', fn: (kk, a) => sys_madvise(kk, ul(a[0]!), ul(a[1]!), int(a[2]!)) });
  t.set(NR.mlock, { name: 'mlock', fn: (kk, a) => sys_mlock(kk, ul(a[0]!), ul(a[1]!)) });
  t.set(NR.munlock, { name: 'munlock', fn: (kk, a) => sys_munlock(kk, ul(a[0]!), ul(a[1]!)) });
  t.set(NR.fork, { name: 'fork', fn: (kk) => sys_fork(kk as TaskFactory) });
  for (const [nr, e] of Object.entries(extra)) t.set(Number(nr), e);
}
