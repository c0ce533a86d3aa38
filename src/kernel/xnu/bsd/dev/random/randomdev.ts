// getentropy(2) (bsd/dev/random/randomdev.c; xnu-11417.121.6): at most 256 bytes of random data
// copied out to the caller's buffer; a bad buffer gives EFAULT through copyout's recovery.
// Simplified: the bytes come from the model's seeded generator.

import { decide, enter, leave, type Xnu } from '../../../xnu.js';
import { copyout } from '../../../osfmk/x86_64/copyio.js';

export type EntropyResult = { error: 0 } | { error: 'EINVAL' | 'EFAULT' } | { error: 'panic' };

export function getentropy(k: Xnu, uaddr: bigint, size: number): EntropyResult {
  enter(k, 'getentropy', 'bsd/dev/random/randomdev.c');
  if (size > 256) {
    decide(k, 'getentropy', 'size-over-256');
    leave(k, 'getentropy', 'EINVAL');
    return { error: 'EINVAL' };
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 8) {
    const r = k.rng.next64();
    for (let j = 0; j < 8 && i + j < size; j++) bytes[i + j] = Number((r >> BigInt(8 * j)) & 0xffn);
  }
  const c = copyout(k, bytes, uaddr);
  const res: EntropyResult = c === 0 ? { error: 0 } : { error: c === 'panic' ? 'panic' : 'EFAULT' };
  leave(k, 'getentropy', String(res.error));
  return res;
}
