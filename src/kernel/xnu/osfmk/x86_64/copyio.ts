// copyin/copyout (osfmk/x86_64/copyio.c copyio(); the _bcopy loop of osfmk/x86_64/locore.s with
// its RECOVERY_SECTION entry to _bcopy_fail; xnu-11417.121.6): the kernel moves bytes to or from
// user memory with SMAP lifted (stac). A fault there goes through the IDT like any other;
// kernel_trap either resolves it and the access is retried, or finds the recover_table entry
// and resumes at _bcopy_fail, which returns EFAULT.
// Simplified: aligned 8-byte moves (bytes at unaligned edges); accesses that do not fault are not
// traced one by one (the faulting one is, with the whole trap path); no copy window.

import { RFLAGS_AC } from '../../../../hw/regs.js';
import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import { idt64_trap_entry } from './idt64.js';
import { ktext } from './hib.js';
import { quiet } from './kaccess.js';

export type CopyResult = 0 | 'EFAULT' | 'panic';
type Dir = 'in' | 'out';

/** copyout(kaddr, uaddr, nbytes). */
export function copyout(k: Xnu, bytes: Uint8Array, uaddr: bigint): CopyResult {
  return copyio(k, 'out', bytes, uaddr);
}

/** copyin(uaddr, kaddr, nbytes): fills `bytes`. */
export function copyin(k: Xnu, uaddr: bigint, bytes: Uint8Array): CopyResult {
  return copyio(k, 'in', bytes, uaddr);
}

function copyio(k: Xnu, dir: Dir, bytes: Uint8Array, uaddr: bigint): CopyResult {
  const fn = dir === 'out' ? 'copyout' : 'copyin';
  enter(k, fn, 'osfmk/x86_64/copyio.c', k.trace.enabled ? { user_addr: hx(uaddr), nbytes: String(bytes.length) } : undefined);
  const m = k.m;
  m.setRflags(m.cpu.rflags | RFLAGS_AC); // stac
  let result: CopyResult = 0;
  for (let off = 0; off < bytes.length && result === 0;) {
    m.cpu.rip = ktext('_bcopy');
    const moved = moveQuietly(k, dir, bytes, off, uaddr + BigInt(off));
    off += moved.bytes;
    if (!moved.fault) continue;
    // The access that faulted, again with tracing: the CPU raises the #PF and delivers it.
    const va = uaddr + BigInt(off);
    const r = m.access({ va, access: dir === 'out' ? 'write' : 'read', size: 1, value: BigInt(bytes[off] ?? 0), what: '_bcopy' });
    if (r.kind === 'ok') continue; // a stale fault (another page now mapped): go on
    const how = idt64_trap_entry(k);
    if (how === 'panic') result = 'panic';
    else if (m.cpu.rip === ktext('_bcopy_fail')) {
      if (k.trace.enabled) decide(k, fn, 'recovered-efault', `fault at ${hx(va)}`);
      result = 'EFAULT';
    }
  }
  m.setRflags(m.cpu.rflags & ~RFLAGS_AC); // clac
  leave(k, fn, String(result));
  return result;
}

/**
 * Move bytes from `off` on, untraced, until the end, a page end, or a fault: aligned 8-byte
 * words in one run (Machine.tryWords), single bytes at unaligned edges.
 */
function moveQuietly(k: Xnu, dir: Dir, bytes: Uint8Array, off: number, va: bigint): { bytes: number; fault: boolean } {
  const m = k.m;
  const left = bytes.length - off;
  if ((va & 7n) !== 0n || left < 8) {
    const r = quiet(k, () => m.tryAccess({ va, access: dir === 'out' ? 'write' : 'read', size: 1, value: BigInt(bytes[off]!) }));
    if (r.kind === 'fault') return { bytes: 0, fault: true };
    if (dir === 'in') bytes[off] = Number(r.value);
    return { bytes: 1, fault: false };
  }
  const toPageEnd = Number(4096n - (va & 0xfffn)) / 8;
  const n = Math.min(Math.floor(left / 8), toPageEnd);
  const words = new Array<bigint>(n).fill(0n);
  if (dir === 'out') for (let i = 0; i < n; i++) words[i] = readLe(bytes, off + 8 * i);
  const r = quiet(k, () => m.tryWords(va, 8, dir === 'out' ? 'write' : 'read', words, n));
  if (dir === 'in') for (let i = 0; i < r.done; i++) writeLe(bytes, off + 8 * i, words[i]!);
  return { bytes: 8 * r.done, fault: r.fault !== null };
}

function readLe(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

function writeLe(b: Uint8Array, at: number, v: bigint): void {
  for (let i = 0; i < 8; i++) b[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}
