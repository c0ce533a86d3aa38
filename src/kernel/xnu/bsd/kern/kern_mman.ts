// mmap, munmap, mprotect, minherit (bsd/kern/kern_mman.c:275, 1120, 1187; xnu-11417.121.6)
// with XNU's errno rules (checklist 44-49), anonymous and file mappings (the file's UBC object:
// shared maps it directly, private through a COPY_DELAY copy object with needs_copy); madvise
// with MADV_ZERO and MADV_FREE_REUSABLE/REUSE.
// Simplified: no MAP_JIT/MAP_RESILIENT_*, no VM tags in fd, no code signing of file pages.

import {
  decide, enter, leave, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, KERN_NO_SPACE, KERN_PROTECTION_FAILURE, KERN_RESOURCE_SHORTAGE, KERN_SUCCESS, VM_INHERIT_DEFAULT,
  VM_INHERIT_SHARE, VM_PROT_ALL, VM_PROT_EXECUTE, VM_PROT_READ, VM_PROT_WRITE, type Xnu,
} from '../../xnu.js';
import type { Task } from '../../osfmk/kern/task.js';
import { vm_map_enter } from '../../osfmk/vm/vm_map.js';
import { vm_map_delete } from '../../osfmk/vm/vm_map_ops.js';
import { mach_vm_deallocate, mach_vm_inherit, mach_vm_protect } from '../../osfmk/vm/vm_user.js';
import { vm_map_behavior_set, type VmBehavior } from '../../osfmk/vm/vm_map_behavior.js';
import { vm_object_copy_delay, vm_object_deallocate, vm_object_reference } from '../../osfmk/vm/vm_object.js';
import { ubc_getobject, type Vnode } from '../vfs/vfs_subr.js';
import { vm_map_unwire, vm_map_wire } from '../../osfmk/vm/vm_map_wire.js';

const FILE = 'bsd/kern/kern_mman.c';

export type Errno = 'EINVAL' | 'ENOMEM' | 'EACCES' | 'EFAULT' | 'ENOTSUP' | 'EAGAIN' | 'EBADF' | 'ENODEV';
export type SysResult = { error: 0; ret: bigint } | { error: Errno; ret?: undefined };

export interface MmapFlags {
  shared: boolean;
  fixed: boolean;
}

const ok = (ret: bigint): SysResult => ({ error: 0, ret });
const fail = (error: Errno): SysResult => ({ error });

/** The kern_return_t to errno map of mmap (l.952-967) and mprotect. */
function mmapErrno(kr: number): Errno {
  return kr === KERN_INVALID_ADDRESS || kr === KERN_NO_SPACE ? 'ENOMEM' : kr === KERN_PROTECTION_FAILURE ? 'EACCES' : 'EINVAL';
}

type MmapDecision = 'zero-length' | 'fixed-unaligned' | 'mapped' | 'vm-error';

/** mmap (kern_mman.c:275) for MAP_ANON. */
export function mmap(k: Xnu, t: Task, addr: bigint, len: bigint, prot0: number, flags: MmapFlags): SysResult {
  enter(k, 'mmap', FILE, k.trace.enabled ? { addr: `0x${addr.toString(16)}`, len: `0x${len.toString(16)}`, prot: String(prot0), flags: `MAP_ANON|${flags.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}${flags.fixed ? '|MAP_FIXED' : ''}` } : undefined);
  const done = (why: MmapDecision, r: SysResult): SysResult => {
    decide(k, 'mmap', why);
    leave(k, 'mmap', r.error === 0 ? `0x${r.ret.toString(16)}` : r.error);
    return r;
  };
  let prot = prot0;
  if (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) prot |= VM_PROT_READ; // l.349
  if (len === 0n) return done('zero-length', ok(addr));
  if (flags.fixed && (addr & 0xfffn) !== 0n) return done('fixed-unaligned', fail('EINVAL'));
  const size = Number((len + 0xfffn) & ~0xfffn);
  const hint = flags.fixed ? Number(addr) : Number((addr + 0xfffn) & ~0xfffn); // a non-fixed hint is rounded up
  const req = { addr: hint, size, anywhere: !flags.fixed, overwrite: flags.fixed, cur: prot, max: VM_PROT_ALL, inheritance: flags.shared ? VM_INHERIT_SHARE : VM_INHERIT_DEFAULT };
  const remove = (s: number, e: number): void => void vm_map_delete(k, t.map, s, e);
  let r = vm_map_enter(k, t.map, req, remove);
  if (r.kr === KERN_NO_SPACE && !flags.fixed && hint !== 0) r = vm_map_enter(k, t.map, { ...req, addr: 4096 }, remove);
  if (r.kr !== KERN_SUCCESS) return done('vm-error', fail(mmapErrno(r.kr)));
  return done('mapped', ok(BigInt(r.addr)));
}

/** An open file as mmap receives it: the vnode and the descriptor's access (FREAD/FWRITE). */
export interface MmapFile {
  vnode: Vnode | undefined;
  name: string;
  fread: boolean;
  fwrite: boolean;
  offset: bigint;
}

type FileMmapDecision = 'bad-file' | 'read-needs-fread' | 'shared-write-needs-fwrite' | 'fixed-offset-mismatch' | 'mapped-shared' | 'mapped-private-copy-delay' | 'vm-error';

/**
 * mmap (kern_mman.c:275) of a vnode: a read mapping needs FREAD; MAP_SHARED keeps WRITE in
 * maxprot only with FWRITE; an unaligned offset is truncated to the page and the returned
 * address keeps the remainder (pageoff). The entry maps the UBC object (MAP_SHARED, inheritance
 * SHARE) or, for MAP_PRIVATE, a copy object made by vm_object_copy_delay with needs_copy
 * (vm_map_enter_mem_object_control with copy: vm_object_copy_strategically, COPY_DELAY).
 * FIXME: the UNIX03 caller's EINVAL for an unaligned offset (§9 row 13) is not modelled: no
 * scenario flag selects it, so the legacy rule (map from the page below) always applies.
 */
export function mmap_file(k: Xnu, t: Task, addr: bigint, len: bigint, prot0: number, flags: MmapFlags, f: MmapFile): SysResult {
  enter(k, 'mmap', FILE, k.trace.enabled ? { addr: `0x${addr.toString(16)}`, len: `0x${len.toString(16)}`, prot: String(prot0), flags: `${flags.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}${flags.fixed ? '|MAP_FIXED' : ''}`, fd: `'${f.name}'`, pos: `0x${f.offset.toString(16)}` } : undefined);
  const done = (why: FileMmapDecision, r: SysResult): SysResult => {
    decide(k, 'mmap', why);
    leave(k, 'mmap', r.error === 0 ? `0x${r.ret.toString(16)}` : r.error);
    return r;
  };
  let prot = prot0;
  if (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) prot |= VM_PROT_READ;
  if (f.vnode === undefined) return done('bad-file', fail('EBADF'));
  if (len === 0n) return done('mapped-shared', ok(addr));
  if (prot & VM_PROT_READ && !f.fread) return done('read-needs-fread', fail('EACCES'));
  let maxprot = VM_PROT_ALL;
  if (flags.shared) {
    if (!f.fwrite) maxprot &= ~VM_PROT_WRITE;
    if (prot & VM_PROT_WRITE && !f.fwrite) return done('shared-write-needs-fwrite', fail('EACCES'));
  }
  const pageoff = f.offset & 0xfffn;
  if (flags.fixed && (addr & 0xfffn) !== pageoff) return done('fixed-offset-mismatch', fail('EINVAL'));
  const filePos = Number(f.offset - pageoff);
  const size = Number((len + pageoff + 0xfffn) & ~0xfffn);
  const start = flags.fixed ? Number(addr - pageoff) : Number((addr + 0xfffn) & ~0xfffn);
  const file = ubc_getobject(k, f.vnode);
  let object = file;
  if (!flags.shared) object = vm_object_copy_delay(k, file, filePos, size);
  else vm_object_reference(file);
  const req = {
    addr: start, size, anywhere: !flags.fixed, overwrite: flags.fixed, cur: prot, max: maxprot, inheritance: flags.shared ? VM_INHERIT_SHARE : VM_INHERIT_DEFAULT,
    object, offset: filePos, needsCopy: !flags.shared,
  };
  const remove = (s: number, e: number): void => void vm_map_delete(k, t.map, s, e);
  const r = vm_map_enter(k, t.map, req, remove);
  if (r.kr !== KERN_SUCCESS) {
    vm_object_deallocate(k, object);
    return done('vm-error', fail(mmapErrno(r.kr)));
  }
  return done(flags.shared ? 'mapped-shared' : 'mapped-private-copy-delay', ok(BigInt(r.addr) + pageoff));
}

/** munmap (kern_mman.c:1120): unaligned or zero length is EINVAL; holes are fine. */
export function munmap(k: Xnu, t: Task, addr: bigint, len: bigint): SysResult {
  enter(k, 'munmap', FILE);
  const bad = (addr & 0xfffn) !== 0n || len === 0n;
  decide(k, 'munmap', bad ? 'unaligned-or-zero-length' : 'deallocate');
  const kr = bad ? KERN_INVALID_ARGUMENT : mach_vm_deallocate(k, t.map, addr, len);
  const r = kr === KERN_SUCCESS ? ok(0n) : fail('EINVAL');
  leave(k, 'munmap', r.error === 0 ? '0' : r.error);
  return r;
}

/** mprotect (kern_mman.c:1187): READ added to W or X; PROTECTION_FAILURE is EACCES, INVALID_ADDRESS ENOMEM. */
export function mprotect(k: Xnu, t: Task, addr: bigint, len: bigint, prot0: number): SysResult {
  enter(k, 'mprotect', FILE);
  let prot = prot0;
  if (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) prot |= VM_PROT_READ;
  const unaligned = (addr & 0xfffn) !== 0n;
  decide(k, 'mprotect', unaligned ? 'unaligned' : 'protect');
  const kr = unaligned ? KERN_INVALID_ARGUMENT : mach_vm_protect(k, t.map, addr, len, false, prot);
  const r = kr === KERN_SUCCESS ? ok(0n) : fail(mmapErrno(kr));
  leave(k, 'mprotect', r.error === 0 ? '0' : r.error);
  return r;
}

/** minherit (kern_mman.c): mach_vm_inherit; a bad inheritance value is EINVAL. */
export function minherit(k: Xnu, t: Task, addr: bigint, len: bigint, inh: number): SysResult {
  enter(k, 'minherit', FILE);
  const kr = mach_vm_inherit(k, t.map, addr, len, inh);
  const r = kr === KERN_SUCCESS ? ok(0n) : fail('EINVAL');
  leave(k, 'minherit', r.error === 0 ? '0' : r.error);
  return r;
}

const ADVICE_BEHAVIOR: Readonly<Record<string, VmBehavior>> = {
  normal: 'VM_BEHAVIOR_DEFAULT', random: 'VM_BEHAVIOR_RANDOM', sequential: 'VM_BEHAVIOR_SEQUENTIAL', willneed: 'VM_BEHAVIOR_WILLNEED',
  dontneed: 'VM_BEHAVIOR_DONTNEED', free: 'VM_BEHAVIOR_FREE', free_reusable: 'VM_BEHAVIOR_REUSABLE', free_reuse: 'VM_BEHAVIOR_REUSE',
  zero: 'VM_BEHAVIOR_ZERO',
};

type MadviseDecision = 'behavior' | 'pageout-release-kernel' | 'not-an-xnu-advice' | 'range-overflows';

/**
 * madvise (kern_mman.c): advice -> vm_behavior; MADV_PAGEOUT is ENOTSUP on RELEASE kernels;
 * Linux-only advice (DONTFORK, WIPEONFORK, COLD, ...) is EINVAL; KERN_INVALID_ADDRESS is EINVAL.
 */
export function madvise(k: Xnu, t: Task, addr: bigint, len: bigint, advice: string): SysResult {
  enter(k, 'madvise', FILE, k.trace.enabled ? { addr: `0x${addr.toString(16)}`, len: `0x${len.toString(16)}`, behav: advice } : undefined);
  const behavior = ADVICE_BEHAVIOR[advice];
  const end = addr + len;
  const why: MadviseDecision = advice === 'pageout' ? 'pageout-release-kernel' : behavior === undefined ? 'not-an-xnu-advice' : end > BigInt(t.map.header.vme_end) || end < addr ? 'range-overflows' : 'behavior';
  decide(k, 'madvise', why);
  let r: SysResult;
  if (why === 'pageout-release-kernel') r = fail('ENOTSUP');
  else if (why !== 'behavior') r = fail('EINVAL');
  else {
    const kr = vm_map_behavior_set(k, t.map, Number(addr & ~0xfffn), Number((end + 0xfffn) & ~0xfffn), behavior!);
    r = kr === KERN_SUCCESS ? ok(0n) : fail('EINVAL');
  }
  leave(k, 'madvise', r.error === 0 ? '0' : r.error);
  return r;
}

/** mlock (kern_mman.c): vm_map_wire_kernel(user_wire); RESOURCE_SHORTAGE EAGAIN, PROTECTION_FAILURE EACCES, else ENOMEM. */
export function mlock(k: Xnu, t: Task, addr: bigint, len: bigint): SysResult {
  enter(k, 'mlock', FILE);
  if (len === 0n) {
    decide(k, 'mlock', 'zero-length');
    leave(k, 'mlock', '0');
    return ok(0n);
  }
  const start = addr & ~0xfffn;
  const kr = vm_map_wire(k, t.map, Number(start), Number((addr + len + 0xfffn) & ~0xfffn));
  const r = kr === KERN_SUCCESS ? ok(0n) : fail(kr === KERN_PROTECTION_FAILURE ? 'EACCES' : kr === KERN_RESOURCE_SHORTAGE ? 'EAGAIN' : 'ENOMEM');
  leave(k, 'mlock', r.error === 0 ? '0' : r.error);
  return r;
}

/** munlock (kern_mman.c): mach_vm_wire_kernel(VM_PROT_NONE) unwires; any failure is ENOMEM. */
export function munlock(k: Xnu, t: Task, addr: bigint, len: bigint): SysResult {
  enter(k, 'munlock', FILE);
  const kr = len === 0n ? KERN_SUCCESS : vm_map_unwire(k, t.map, Number(addr & ~0xfffn), Number((addr + len + 0xfffn) & ~0xfffn));
  const r = kr === KERN_SUCCESS ? ok(0n) : fail('ENOMEM');
  leave(k, 'munlock', r.error === 0 ? '0' : r.error);
  return r;
}
