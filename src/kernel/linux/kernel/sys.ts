// A system call that fills a user buffer: getrandom(2) (drivers/char/random.c, 5.19/6.18:
// SYSCALL_DEFINE3(getrandom) -> get_random_bytes_user -> copy_to_user). A bad buffer never
// raises a signal: the #PF in copy_to_user is fixed up through the exception table, and the call
// returns the bytes copied so far, or -EFAULT if none were. Simplified: the bytes come from a
// seeded xorshift (deterministic runs), not ChaCha20.

import { copy_to_user } from '../arch/x86/lib/usercopy.js';
import type { X86Kernel } from '../arch/x86/include/asm/processor.js';
import { decide, fentry, fexit } from '../arch/x86/kernel/ftrace.js';

export const EFAULT = 14;
export const EINVAL = 22;
const GRND_NONBLOCK = 1;
const GRND_RANDOM = 2;
const GRND_INSECURE = 4;
const MAX_RW_COUNT = 0x7ffff000;

/** The next 32 bits of the kernel's deterministic stream. */
function next32(k: X86Kernel): number {
  let x = k.crng_state | 0 || 0x9e3779b9;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  k.crng_state = x >>> 0;
  return x >>> 0;
}

/** sys_getrandom(buf, count, flags). */
export function sys_getrandom(k: X86Kernel, buf: bigint, count: number, flags: number): number {
  if (k.machine.trace.enabled) fentry(k, '__do_sys_getrandom', 'drivers/char/random.c', { buf: `0x${buf.toString(16)}`, count: String(count), flags: String(flags) });
  let ret: number;
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) || (flags & (GRND_INSECURE | GRND_RANDOM)) === (GRND_INSECURE | GRND_RANDOM)) {
    decide(k, '__do_sys_getrandom', 'bad flags');
    ret = -EINVAL;
  } else {
    const len = Math.min(count, MAX_RW_COUNT);
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i += 4) {
      const w = next32(k);
      for (let j = 0; j < 4 && i + j < len; j++) bytes[i + j] = (w >>> (8 * j)) & 0xff;
    }
    const left = copy_to_user(k, buf, bytes);
    const copied = len - left;
    ret = copied === 0 && len > 0 ? -EFAULT : copied;
    if (left) decide(k, '__do_sys_getrandom', copied ? 'short copy' : '-EFAULT', 'no signal: the exception table fixed the fault up');
  }
  if (k.machine.trace.enabled) fexit(k, '__do_sys_getrandom', String(ret));
  return ret;
}
