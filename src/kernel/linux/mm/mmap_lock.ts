// Per-VMA locking and the 6.x fault-path lock helpers (6.18 mm/mmap_lock.c; 6.4-6.8 mm/memory.c):
// lock_vma_under_rcu (maple-tree walk + vma_start_read), vma_end_read, and lock_mm_and_find_vma,
// which takes mmap_lock, finds the VMA and, for a stack, upgrades to the write lock to grow it.
// Simplified: one thread, so trylocks succeed unless this thread holds the lock for writing.

import { mmap_read_trylock, mmap_read_unlock, mmap_write_downgrade, mmap_write_lock, mmap_write_unlock } from '../include/linux/mmap_lock.js';
import { VM_GROWSDOWN, type MmStruct, type VmAreaStruct } from '../include/linux/mm_types.js';
import { mas_walk } from '../lib/maple_tree.js';
import type { Kernel } from '../types.js';
import { expand_stack } from './mmap.js';
import { decision, enter, leave } from './mmtrace.js';
import { find_vma } from './vma.js';

export type LockVmaReason = 'no-vma' | 'vma-write-locked' | 'locked';
export type LockMmReason = 'found' | 'no-vma' | 'not-growsdown' | 'expand-failed' | 'stack-expanded';

/** vma_start_read: fails while a writer holds the VMA (vm_lock_seq == mm_lock_seq). */
export function vma_start_read(mm: MmStruct, vma: VmAreaStruct): boolean {
  if (vma.vm_lock_seq === mm.mm_lock_seq && mm.mmap_lock.writer) return false;
  vma.vm_lock_readers++;
  return true;
}

export function vma_end_read(_k: Kernel, vma: VmAreaStruct): void {
  if (vma.vm_lock_readers <= 0) throw new Error('vma_end_read: VMA not read-locked');
  vma.vm_lock_readers--;
}

/** vma_start_write: mark the VMA as being modified under the mmap write lock. */
export function vma_start_write(mm: MmStruct, vma: VmAreaStruct): void {
  vma.vm_lock_seq = mm.mm_lock_seq;
}

/** lock_vma_under_rcu: the VMA containing address, read-locked, or null (then the caller takes mmap_lock). */
export function lock_vma_under_rcu(k: Kernel, mm: MmStruct, address: number): VmAreaStruct | null {
  enter(k, 'lock_vma_under_rcu', 'mm/mmap_lock.c');
  const vma = mm.mm_mt ? mas_walk(mm.mm_mt, address) : null;
  let why: LockVmaReason;
  let ret: VmAreaStruct | null = null;
  if (!vma) why = 'no-vma';
  else if (!vma_start_read(mm, vma)) why = 'vma-write-locked';
  else {
    why = 'locked';
    ret = vma;
  }
  decision(k, 'lock_vma_under_rcu', why);
  leave(k, 'lock_vma_under_rcu', ret ? 'vma' : 'NULL');
  return ret;
}

/**
 * lock_mm_and_find_vma: mmap_read_lock + find_vma; below a GROWSDOWN VMA, drop the read lock, take
 * the write lock, look up again, expand_stack_locked, downgrade. Null (lock released) on failure.
 */
export function lock_mm_and_find_vma(k: Kernel, mm: MmStruct, address: number, _userMode: boolean): VmAreaStruct | null {
  enter(k, 'lock_mm_and_find_vma', 'mm/mmap_lock.c');
  const done = (why: LockMmReason, v: VmAreaStruct | null): VmAreaStruct | null => {
    decision(k, 'lock_mm_and_find_vma', why);
    leave(k, 'lock_mm_and_find_vma', v ? 'vma' : 'NULL');
    return v;
  };
  if (!mmap_read_trylock(k, mm)) throw new Error('lock_mm_and_find_vma: mmap_lock is write-held by this thread (deadlock)');
  let vma = find_vma(k, mm, address);
  if (vma && vma.vm_start <= address) return done('found', vma);
  if (!vma || !(vma.vm_flags & VM_GROWSDOWN)) {
    mmap_read_unlock(k, mm);
    return done(vma ? 'not-growsdown' : 'no-vma', null);
  }
  mmap_read_unlock(k, mm);
  mmap_write_lock(k, mm);
  vma = find_vma(k, mm, address);
  if (!vma || (vma.vm_start > address && !(vma.vm_flags & VM_GROWSDOWN))) {
    mmap_write_unlock(k, mm);
    return done(vma ? 'not-growsdown' : 'no-vma', null);
  }
  if (vma.vm_start > address && expand_stack(k, vma, address)) {
    mmap_write_unlock(k, mm);
    return done('expand-failed', null);
  }
  mmap_write_downgrade(k, mm);
  return done('stack-expanded', vma);
}
