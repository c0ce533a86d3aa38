// Memory protection keys on x86 (arch/x86/mm/pkeys.c, arch/x86/include/asm/pkeys.h and
// mmu_context.h, mm/mprotect.c sys_pkey_alloc/sys_pkey_free/sys_pkey_mprotect; 5.19 and 6.18):
// the per-mm allocation bitmap (key 0 is always allocated), PKRU's access/write-disable bits, the
// fault-time check arch_vma_access_permitted, and setup_pku at boot (CR4.PKE, init_pkru_value).
// The CPU has PKU only with the scenario's `machine: {pku: true}` (the host this project checks
// against has none: there pkey_alloc fails with ENOSPC, as it does here without PKU).
// PROT_EXEC-only mappings get the mm's execute-only key (execute_only_pkey: access-disabled in
// PKRU, so reads fault while instruction fetches, which PKRU does not check, run).
// Simplified: no signal-frame PKRU reset (the model's handlers do not touch PKRU).

import { CR4_PKE } from '../../../../../hw/regs.js';
import type { MmStruct, VmAreaStruct } from '../../../include/linux/mm_types.js';
import { EINVAL, ENOSPC } from '../../../include/uapi/asm-generic/errno-base.js';
import type { Kernel } from '../../../types.js';
import { decision, enter, leave } from '../../../mm/mmtrace.js';
import { PF_I, PF_W } from '../../../../../hw/pferr.js';
import { sys_pkey_mprotect } from '../../../mm/mprotect.js';
import type { SyscallFn } from '../entry/entry_64.js';

/** arch_max_pkey(): 16 keys with PKU. */
export const ARCH_MAX_PKEY = 16;
export const PKEY_DISABLE_ACCESS = 0x1;
export const PKEY_DISABLE_WRITE = 0x2;
/** init_pkru_value: every key but 0 access-disabled (arch/x86/kernel/fpu/xstate.c). */
export const INIT_PKRU_VALUE = 0x55555554;

/** boot_cpu_has(X86_FEATURE_OSPKE): CR4.PKE is set. */
export function ospke(k: Kernel): boolean {
  return (k.machine.cpu.cr4 & CR4_PKE) !== 0n;
}

/** setup_pku (arch/x86/kernel/cpu/common.c): CR4.PKE on, and the boot CPU's PKRU = init_pkru_value. */
export function setup_pku(k: Kernel): void {
  const m = k.machine;
  m.setCr4(m.cpu.cr4 | CR4_PKE);
  m.setPkru(INIT_PKRU_VALUE);
}

/** mm->context.pkey_allocation_map: bit n set = key n allocated (key 0 always). */
function allocation_map(mm: MmStruct): number {
  return (mm.context as { pkey_allocation_map?: number }).pkey_allocation_map ?? 1;
}

function set_allocation_map(mm: MmStruct, map: number): void {
  (mm.context as { pkey_allocation_map?: number }).pkey_allocation_map = map;
}

/** mm_pkey_is_allocated. */
export function mm_pkey_is_allocated(mm: MmStruct, pkey: number): boolean {
  return Number.isInteger(pkey) && pkey >= 0 && pkey < ARCH_MAX_PKEY && (allocation_map(mm) & (1 << pkey)) !== 0;
}

/** __pkru_allows_pkey: AD (bit 2k) forbids any data access; WD (bit 2k+1) forbids writes. */
export function pkru_allows_pkey(pkru: number, pkey: number, write: boolean): boolean {
  const bits = (pkru >>> (2 * pkey)) & 3;
  if (bits & PKEY_DISABLE_ACCESS) return false;
  return !(write && bits & PKEY_DISABLE_WRITE);
}

/**
 * arch_vma_access_permitted (asm/mmu_context.h): instruction fetches are always allowed; without
 * OSPKE every access is; otherwise the current PKRU must allow the VMA's key.
 */
export function arch_vma_access_permitted(k: Kernel, vma: VmAreaStruct, error_code: number): boolean {
  if (error_code & PF_I || !ospke(k)) return true;
  return pkru_allows_pkey(k.machine.cpu.pkru, vma.vm_pkey, (error_code & PF_W) !== 0);
}

/** arch_set_user_pkey_access: the AD/WD bits of one key in this task's PKRU (a WRPKRU). */
function arch_set_user_pkey_access(k: Kernel, pkey: number, rights: number): void {
  const m = k.machine;
  const shift = 2 * pkey;
  const pkru = ((m.cpu.pkru & ~(3 << shift)) | ((rights & 3) << shift)) >>> 0;
  m.setPkru(pkru);
}

/** sys_pkey_alloc(flags, init_access_rights): the lowest free key, its PKRU bits set. The key or -errno. */
export function sys_pkey_alloc(k: Kernel, flags: number, rights: number): number {
  enter(k, 'sys_pkey_alloc', 'mm/mprotect.c');
  const done = (r: number, why: string): number => {
    decision(k, 'sys_pkey_alloc', why);
    leave(k, 'sys_pkey_alloc', String(r));
    return r;
  };
  if (flags !== 0) return done(-EINVAL, 'flags');
  if (rights & ~(PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE)) return done(-EINVAL, 'bad-rights');
  if (!ospke(k)) return done(-ENOSPC, 'no-pku'); // mm_pkey_alloc returns -1 without X86_FEATURE_OSPKE
  const mm = k.current.mm!;
  const map = allocation_map(mm);
  let pkey = -1;
  for (let i = 1; i < ARCH_MAX_PKEY && pkey < 0; i++) if (!(map & (1 << i))) pkey = i;
  if (pkey < 0) return done(-ENOSPC, 'all-allocated');
  set_allocation_map(mm, map | (1 << pkey));
  arch_set_user_pkey_access(k, pkey, rights);
  return done(pkey, 'allocated');
}

/** sys_pkey_free(pkey): -EINVAL unless allocated; PKRU and the VMAs using it are left as they are. */
export function sys_pkey_free(k: Kernel, pkey: number): number {
  enter(k, 'sys_pkey_free', 'mm/mprotect.c');
  const mm = k.current.mm!;
  const ok = pkey !== 0 && mm_pkey_is_allocated(mm, pkey); // mm_pkey_free: key 0 is never allocated by the user
  if (ok) set_allocation_map(mm, allocation_map(mm) & ~(1 << pkey));
  decision(k, 'sys_pkey_free', ok ? 'freed' : 'not-allocated');
  leave(k, 'sys_pkey_free', ok ? '0' : String(-EINVAL));
  return ok ? 0 : -EINVAL;
}

/** arch_dup_pkeys (fork): the child's mm has the parent's allocation map and execute-only key. */
export function arch_dup_pkeys(oldmm: MmStruct, mm: MmStruct): void {
  set_allocation_map(mm, allocation_map(oldmm));
  const ctx = mm.context as { execute_only_pkey?: number };
  ctx.execute_only_pkey = (oldmm.context as { execute_only_pkey?: number }).execute_only_pkey;
}

/**
 * execute_only_pkey / __execute_only_pkey: the mm's key for PROT_EXEC-only memory, allocated on
 * first use and made access-disabled in this task's PKRU (if it is not already). 0 without OSPKE
 * (ARCH_DEFAULT_PKEY); -1 when no key is free.
 */
export function execute_only_pkey(k: Kernel, mm: MmStruct): number {
  if (!ospke(k)) return 0;
  const ctx = mm.context as { execute_only_pkey?: number };
  let pkey = ctx.execute_only_pkey ?? -1;
  const fresh = pkey === -1;
  if (fresh) {
    const map = allocation_map(mm);
    for (let i = 1; i < ARCH_MAX_PKEY && pkey < 0; i++) if (!(map & (1 << i))) pkey = i;
    if (pkey < 0) return -1;
    set_allocation_map(mm, map | (1 << pkey));
    ctx.execute_only_pkey = pkey;
  }
  if (fresh || pkru_allows_pkey(k.machine.cpu.pkru, pkey, false)) arch_set_user_pkey_access(k, pkey, PKEY_DISABLE_ACCESS);
  return pkey;
}

/**
 * arch_override_mprotect_pkey: an explicit key wins; mprotect(PROT_EXEC) moves the VMA to the
 * execute-only key; leaving execute-only (any other prot) goes back to key 0; else the VMA keeps its key.
 */
export function arch_override_mprotect_pkey(k: Kernel, vma: VmAreaStruct, prot: number, pkey: number): number {
  if (pkey !== -1) return pkey;
  const PROT_EXEC = 4;
  if (prot === PROT_EXEC) {
    const p = execute_only_pkey(k, vma.vm_mm);
    if (p > 0) return p;
  } else if ((vma.vm_flags & 7) === 4 && vma.vm_pkey === ((vma.vm_mm.context as { execute_only_pkey?: number }).execute_only_pkey ?? -1)) {
    return 0; // vma_is_pkey_exec_only → ARCH_DEFAULT_PKEY
  }
  return vma.vm_pkey;
}

/** syscall_64.tbl: pkey_mprotect 329, pkey_alloc 330, pkey_free 331. */
export const NR_PKEY = { pkey_mprotect: 329, pkey_alloc: 330, pkey_free: 331 } as const;

/** Add the three pkey calls to sys_call_table. */
export function register_pkey_syscalls(table: Map<number, { name: string; fn: SyscallFn }>): void {
  const ul = (v: bigint): number => Number(BigInt.asUintN(64, v));
  const int = (v: bigint): number => Number(BigInt.asIntN(32, v));
  table.set(NR_PKEY.pkey_alloc, { name: 'pkey_alloc', fn: (k, a) => sys_pkey_alloc(k, ul(a[0]!), ul(a[1]!)) });
  table.set(NR_PKEY.pkey_free, { name: 'pkey_free', fn: (k, a) => sys_pkey_free(k, int(a[0]!)) });
  table.set(NR_PKEY.pkey_mprotect, { name: 'pkey_mprotect', fn: (k, a) => sys_pkey_mprotect(k, ul(a[0]!), ul(a[1]!), int(a[2]!), int(a[3]!)) });
}
