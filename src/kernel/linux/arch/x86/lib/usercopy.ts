// The kernel's user-memory accessors on x86-64: _copy_to_user (lib/usercopy.c) -> access_ok ->
// copy_user_generic, i.e. 5.19's copy_user_enhanced_fast_string (arch/x86/lib/copy_user_64.S)
// or 6.x's rep_movs_alternative, and get_user. The copy runs with EFLAGS.AC set (STAC) so SMAP
// lets it touch user pages; each store is a real CPL 0 access at the `rep movsb` address. A fault
// is delivered like any other; the #PF handler finds the instruction in the exception table and
// IRETQ resumes at the fixup label, where the copy stops and reports the bytes left.
// Simplified: the copy moves up to 8 bytes per access (fast strings), not one.

import { RFLAGS_AC } from '../../../../../hw/regs.js';
import { _TEXT, TASK_SIZE_MAX, type X86Kernel } from '../include/asm/processor.js';
import { decide, fentry, fexit } from '../kernel/ftrace.js';
import type { ExceptionTableEntry } from '../mm/extable.js';

/** Where the copy routine sits in kernel text, per version: the faulting insn and its fixup. */
export function copy_user_symbols(k: X86Kernel): { fn: string; insn: number; fixup: number; type: ExceptionTableEntry['type'] } {
  return k.version === '5.19'
    ? { fn: 'copy_user_enhanced_fast_string', insn: 0x10, fixup: 0x1a, type: 'EX_TYPE_COPY' }
    : { fn: 'rep_movs_alternative', insn: 0x2c, fixup: 0x31, type: 'EX_TYPE_UACCESS' };
}

/** Lay out the copy routines and their exception-table entries (ASM_EXTABLE_UA / _CPY). */
export function layout_usercopy(k: X86Kernel, extable: ExceptionTableEntry[]): bigint {
  const base = _TEXT + 0x600000n;
  const c = copy_user_symbols(k);
  k.syms.add(c.fn, base);
  k.syms.add('__get_user_8', base + 0x100n);
  extable.push({ insn: base + BigInt(c.insn), fixup: base + BigInt(c.fixup), type: c.type });
  extable.push({ insn: base + 0x100n + 0x18n, fixup: base + 0x100n + 0x40n, type: 'EX_TYPE_UACCESS' });
  return base;
}

/** Run the handler the CPU was sent to by a fault (the symbol at RIP). */
function takeException(k: X86Kernel): void {
  const rip = k.machine.cpu.rip;
  if (!k.syms.runAt(k, rip)) throw new Error(`model bug: no entry code at ${k.syms.describe(rip)}`);
}

/**
 * copy_user_generic(to, bytes): STAC, the stores, CLAC. Returns the bytes NOT copied (0 = all),
 * as the assembly does in %eax/%ecx.
 */
function copy_user_generic(k: X86Kernel, to: bigint, bytes: Uint8Array): number {
  const m = k.machine;
  const c = copy_user_symbols(k);
  const base = k.syms.addr(c.fn);
  fentry(k, c.fn, k.version === '5.19' ? 'arch/x86/lib/copy_user_64.S' : 'arch/x86/lib/copy_user_64.S');
  m.setRflags(m.cpu.rflags | RFLAGS_AC); // STAC
  let done = 0;
  let refaults = 0;
  while (done < bytes.length) {
    const va = to + BigInt(done);
    const n = Math.min(8, bytes.length - done, 4096 - Number(va & 0xfffn));
    const size = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[done + i]!);
    m.cpu.rip = base + BigInt(c.insn); // 1: rep movsb
    const r = m.access({ va, access: 'write', size, value: v, what: 'rep movsb' });
    if (r.kind === 'fault') {
      takeException(k);
      if (m.cpu.rip === base + BigInt(c.insn)) {
        // The fault was resolved (the page got mapped): IRETQ re-executes the store.
        if (++refaults > 8) throw new Error('model bug: a uaccess store keeps faulting without a fixup');
        continue;
      }
      if (m.cpu.rip !== base + BigInt(c.fixup)) throw new Error(`model bug: the uaccess fault returned to ${k.syms.describe(m.cpu.rip)}`);
      if (m.trace.enabled) decide(k, c.fn, 'fault at the copy: resumed at the fixup label', `${bytes.length - done} bytes not copied`);
      break;
    }
    done += size;
  }
  m.setRflags(m.cpu.rflags & ~RFLAGS_AC); // CLAC
  if (m.trace.enabled) fexit(k, c.fn, String(bytes.length - done));
  return bytes.length - done;
}

/** _copy_to_user(): access_ok() (the range must lie below TASK_SIZE_MAX), then the copy. */
export function copy_to_user(k: X86Kernel, to: bigint, bytes: Uint8Array): number {
  fentry(k, '_copy_to_user', 'lib/usercopy.c');
  let left = bytes.length;
  if (to + BigInt(bytes.length) > BigInt(TASK_SIZE_MAX) || to + BigInt(bytes.length) < to) {
    decide(k, '_copy_to_user', 'access_ok failed', 'the range reaches kernel space');
  } else {
    left = copy_user_generic(k, to, bytes);
  }
  if (k.machine.trace.enabled) fexit(k, '_copy_to_user', String(left));
  return left;
}

/** get_user() of 8 bytes: the value, or null for -EFAULT (the fixup path). */
export function get_user_u64(k: X86Kernel, from: bigint): bigint | null {
  const m = k.machine;
  if (from + 8n > BigInt(TASK_SIZE_MAX)) return null;
  const base = k.syms.addr('__get_user_8');
  m.setRflags(m.cpu.rflags | RFLAGS_AC);
  let out: bigint | null = null;
  for (let n = 0; n < 8; n++) {
    m.cpu.rip = base + 0x18n;
    const r = m.access({ va: from, access: 'read', size: 8, what: 'get_user' });
    if (r.kind === 'ok') {
      out = r.value;
      break;
    }
    takeException(k);
    if (m.cpu.rip !== base + 0x18n) break; // resumed at the fixup: -EFAULT
  }
  m.setRflags(m.cpu.rflags & ~RFLAGS_AC);
  return out;
}
