// copyout (osfmk/x86_64/copyio.c; the _bcopy loop of osfmk/x86_64/locore.s with its
// RECOVERY_SECTION entry; xnu-11417.121.6): the kernel stores into user memory with SMAP lifted
// (stac). A fault there goes through the IDT like any other; kernel_trap either resolves it and
// the store is retried, or finds the recover_table entry and resumes at _copyout_fail (EFAULT).
// Simplified: byte or 8-byte stores; no copy window, no nested copyio.

import { RFLAGS_AC } from '../../../../hw/regs.js';
import { decide, enter, hx, leave, type Xnu } from '../../xnu.js';
import { idt64_trap_entry } from './idt64.js';
import { ktext } from './hib.js';

export type CopyResult = 0 | 'EFAULT' | 'panic';

/** copyout(kaddr, uaddr, nbytes). */
export function copyout(k: Xnu, bytes: Uint8Array, uaddr: bigint): CopyResult {
  enter(k, 'copyout', 'osfmk/x86_64/copyio.c', k.trace.enabled ? { user_addr: hx(uaddr), nbytes: String(bytes.length) } : undefined);
  const m = k.m;
  m.setRflags(m.cpu.rflags | RFLAGS_AC); // stac
  let result: CopyResult = 0;
  for (let off = 0; off < bytes.length && result === 0;) {
    const va = uaddr + BigInt(off);
    const size = (va & 7n) === 0n && bytes.length - off >= 8 ? 8 : 1;
    let value = 0n;
    for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[off + i]!);
    m.cpu.rip = ktext('_bcopy');
    const r = m.access({ va, access: 'write', size, value, what: '_bcopy store' });
    if (r.kind === 'ok') {
      off += size;
      continue;
    }
    const how = idt64_trap_entry(k);
    if (how === 'panic') result = 'panic';
    else if (m.cpu.rip === ktext('_copyout_fail')) {
      if (k.trace.enabled) decide(k, 'copyout', 'recovered-efault', `fault at ${hx(va)}`);
      result = 'EFAULT';
    }
  }
  m.setRflags(m.cpu.rflags & ~RFLAGS_AC); // clac
  leave(k, 'copyout', String(result));
  return result;
}
