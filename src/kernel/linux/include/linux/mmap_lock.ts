// mm->mmap_lock as state (include/linux/mmap_lock.h, 5.19 and 6.18), so traces show who holds it.
// One thread per mm: a lock that would block is a bug in the model (it would deadlock), so it throws.
// 6.x: releasing the write lock ends every VMA write lock (vma_end_write_all: mm_lock_seq++).

import type { Kernel } from '../../types.js';
import type { MmStruct } from './mm_types.js';

const SRC = 'include/linux/mmap_lock.h';

function ev(k: Kernel, fn: string, mm: MmStruct): void {
  const t = k.machine.trace;
  if (t.enabled) {
    t.emit({ ev: 'enter', fn, src: SRC });
    t.emit({ ev: 'leave', fn, ret: `readers=${mm.mmap_lock.readers} writer=${mm.mmap_lock.writer}` });
  }
}

export function mmap_read_trylock(k: Kernel, mm: MmStruct): boolean {
  if (mm.mmap_lock.writer) return false;
  mm.mmap_lock.readers++;
  ev(k, 'mmap_read_trylock', mm);
  return true;
}

export function mmap_read_lock(k: Kernel, mm: MmStruct): void {
  if (mm.mmap_lock.writer) throw new Error('mmap_read_lock: the write lock is held (the model is single-threaded: deadlock)');
  mm.mmap_lock.readers++;
  ev(k, 'mmap_read_lock', mm);
}

export function mmap_read_unlock(k: Kernel, mm: MmStruct): void {
  if (mm.mmap_lock.readers <= 0) throw new Error('mmap_read_unlock: not read-locked');
  mm.mmap_lock.readers--;
  ev(k, 'mmap_read_unlock', mm);
}

export function mmap_write_lock(k: Kernel, mm: MmStruct): void {
  if (mm.mmap_lock.writer || mm.mmap_lock.readers) throw new Error('mmap_write_lock: already held (the model is single-threaded: deadlock)');
  mm.mmap_lock.writer = true;
  ev(k, 'mmap_write_lock', mm);
}

export function mmap_write_unlock(k: Kernel, mm: MmStruct): void {
  if (!mm.mmap_lock.writer) throw new Error('mmap_write_unlock: not write-locked');
  mm.mmap_lock.writer = false;
  mm.mm_lock_seq++;
  ev(k, 'mmap_write_unlock', mm);
}

/** mmap_write_downgrade: write → read without letting anyone in between. */
export function mmap_write_downgrade(k: Kernel, mm: MmStruct): void {
  if (!mm.mmap_lock.writer) throw new Error('mmap_write_downgrade: not write-locked');
  mm.mmap_lock.writer = false;
  mm.mm_lock_seq++;
  mm.mmap_lock.readers++;
  ev(k, 'mmap_write_downgrade', mm);
}

export function mmap_assert_locked(mm: MmStruct): void {
  if (!mm.mmap_lock.writer && mm.mmap_lock.readers === 0) throw new Error('mmap_assert_locked: mmap_lock not held');
}

export function mmap_assert_write_locked(mm: MmStruct): void {
  if (!mm.mmap_lock.writer) throw new Error('mmap_assert_write_locked: mmap_lock not write-held');
}
