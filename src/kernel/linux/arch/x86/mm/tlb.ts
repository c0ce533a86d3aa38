// TLB flushing and address-space switches (arch/x86/mm/tlb.c, 5.19 and 6.18): ASIDs with PCIDs
// (TLB_NR_DYN_ASIDS dynamic ASIDs per CPU, each remembering which mm (ctx_id) and which tlb_gen it
// holds), the PTI user PCID (bit 11) whose flush is deferred to the next return to user mode via
// user_pcid_flush_mask, and flush_tlb_mm_range's choice between INVLPG per page and a full flush.
// Simplified: one CPU (no IPIs, no lazy TLB mode), no Spectre mitigations in switch_mm.

import type { MmStruct, VmAreaStruct } from '../../../include/linux/mm_types.js';
import { enter, leave, decision } from '../../../mm/mmtrace.js';
import type { Kernel } from '../../../types.js';

export const TLB_NR_DYN_ASIDS = 6;
/** X86_CR3_PTI_PCID_USER_BIT. */
export const X86_CR3_PTI_PCID_USER_BIT = 11;
/** tlb_single_page_flush_ceiling: above this many pages a range flush flushes everything. */
export const tlb_single_page_flush_ceiling = 33;
export const TLB_FLUSH_ALL = -1;

/** struct tlb_state (the per-CPU cpu_tlbstate) plus the global last_mm_ctx_id. */
export interface CpuTlbState {
  loaded_mm: MmStruct;
  loaded_mm_asid: number;
  next_asid: number;
  ctxs: { ctx_id: number; tlb_gen: number }[];
  /** Bit n: the user PCID of ASID n must be flushed on the next return to user mode. */
  user_pcid_flush_mask: number;
  /** last_mm_ctx_id (init_mm has ctx_id 1). */
  last_mm_ctx_id: number;
}

/** this_cpu_ptr(&cpu_tlbstate): created on first use with init_mm loaded in ASID 0. */
export function tlbstate(k: Kernel): CpuTlbState {
  let s = k.cpu_tlbstate;
  if (!s) {
    s = {
      loaded_mm: k.init_mm, loaded_mm_asid: 0, next_asid: 1, user_pcid_flush_mask: 0, last_mm_ctx_id: 1,
      ctxs: Array.from({ length: TLB_NR_DYN_ASIDS }, () => ({ ctx_id: 0, tlb_gen: 0 })),
    };
    s.ctxs[0] = { ctx_id: k.init_mm.context.ctx_id, tlb_gen: k.init_mm.context.tlb_gen };
    k.cpu_tlbstate = s;
  }
  return s;
}

const pcidOn = (k: Kernel): boolean => k.machine.ctl.pcide;
/** kern_pcid(asid) = asid + 1 (PCID 0 is left for code that runs without ASIDs). */
export const kern_pcid = (asid: number): number => asid + 1;
export const user_pcid = (asid: number): number => kern_pcid(asid) | (1 << X86_CR3_PTI_PCID_USER_BIT);

/** build_cr3 / build_cr3_noflush. */
export function build_cr3(k: Kernel, pgd: number, asid: number, noflush: boolean): bigint {
  if (!pcidOn(k)) return BigInt(pgd) << 12n;
  return (BigInt(pgd) << 12n) | BigInt(kern_pcid(asid)) | (noflush ? 1n << 63n : 0n);
}

/** invalidate_user_asid: flush the user PCID lazily, at the next SWITCH_TO_USER_CR3. */
export function invalidate_user_asid(k: Kernel, asid: number): void {
  if (!pcidOn(k) || !k.pti) return;
  tlbstate(k).user_pcid_flush_mask |= 1 << asid;
}

/** choose_new_asid: reuse the ASID that already holds this mm (flushing if it is stale), else the next one round-robin. */
function choose_new_asid(k: Kernel, s: CpuTlbState, next: MmStruct, next_tlb_gen: number): { asid: number; need_flush: boolean } {
  if (!pcidOn(k)) {
    decision(k, 'choose_new_asid', 'no-pcid');
    return { asid: 0, need_flush: true };
  }
  for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
    if (s.ctxs[asid]!.ctx_id !== next.context.ctx_id) continue;
    const need_flush = s.ctxs[asid]!.tlb_gen < next_tlb_gen;
    if (k.machine.trace.enabled) decision(k, 'choose_new_asid', need_flush ? 'asid-reused-stale' : 'asid-reused', `asid ${asid}`);
    return { asid, need_flush };
  }
  const asid = s.next_asid;
  s.next_asid = (asid + 1) % TLB_NR_DYN_ASIDS || 1;
  if (k.machine.trace.enabled) decision(k, 'choose_new_asid', 'asid-new', `asid ${asid}`);
  return { asid, need_flush: true };
}

/** switch_mm_irqs_off: load `next`'s page tables in an ASID, flushing only if that ASID is stale. */
export function switch_mm_irqs_off(k: Kernel, next: MmStruct): void {
  enter(k, 'switch_mm_irqs_off', 'arch/x86/mm/tlb.c');
  const s = tlbstate(k);
  const next_tlb_gen = next.context.tlb_gen;
  let asid: number;
  let need_flush: boolean;
  if (s.loaded_mm === next) {
    asid = s.loaded_mm_asid;
    if (s.ctxs[asid]!.tlb_gen === next_tlb_gen) {
      decision(k, 'switch_mm_irqs_off', 'same-mm-up-to-date');
      leave(k, 'switch_mm_irqs_off');
      return;
    }
    need_flush = true;
  } else {
    ({ asid, need_flush } = choose_new_asid(k, s, next, next_tlb_gen));
  }
  s.ctxs[asid] = { ctx_id: next.context.ctx_id, tlb_gen: next_tlb_gen };
  if (need_flush) invalidate_user_asid(k, asid);
  // load_new_mm_cr3
  k.machine.movToCr3(build_cr3(k, next.pgd, asid, !need_flush));
  s.loaded_mm = next;
  s.loaded_mm_asid = asid;
  leave(k, 'switch_mm_irqs_off');
}

/** native_flush_tlb_one_user: INVLPG, and under PTI the user PCID's entry too (INVPCID, or deferred). */
function flush_tlb_one_user(k: Kernel, addr: number): void {
  const m = k.machine;
  m.invlpg(BigInt(addr));
  if (!k.pti || !pcidOn(k)) return;
  m.invpcid(0, user_pcid(tlbstate(k).loaded_mm_asid), BigInt(addr));
}

/** native_flush_tlb_local: rewrite CR3 (flushes the kernel PCID), user PCID deferred. */
function flush_tlb_local(k: Kernel): void {
  const s = tlbstate(k);
  invalidate_user_asid(k, s.loaded_mm_asid);
  k.machine.movToCr3(k.machine.cpu.cr3 & ~(1n << 63n));
}

/**
 * flush_tlb_mm_range: bump mm->context.tlb_gen; if the mm is loaded here, flush now (page by page up
 * to the ceiling, else everything) and record the generation. An mm loaded elsewhere (or not at
 * all) is flushed when switch_mm finds its ASID's tlb_gen behind.
 */
export function flush_tlb_mm_range(k: Kernel, mm: MmStruct, start: number, end: number): void {
  enter(k, 'flush_tlb_mm_range', 'arch/x86/mm/tlb.c');
  const new_tlb_gen = ++mm.context.tlb_gen;
  const s = tlbstate(k);
  if (s.loaded_mm !== mm) {
    decision(k, 'flush_tlb_mm_range', 'mm-not-loaded');
    leave(k, 'flush_tlb_mm_range');
    return;
  }
  const ctx = s.ctxs[s.loaded_mm_asid]!;
  const pages = end === TLB_FLUSH_ALL ? Infinity : (end - start) / 4096;
  if (pages <= tlb_single_page_flush_ceiling && new_tlb_gen === ctx.tlb_gen + 1) {
    decision(k, 'flush_tlb_func', 'partial');
    for (let a = start; a < end; a += 4096) flush_tlb_one_user(k, a);
  } else {
    decision(k, 'flush_tlb_func', 'full');
    flush_tlb_local(k);
  }
  ctx.tlb_gen = new_tlb_gen;
  leave(k, 'flush_tlb_mm_range');
}

export function flush_tlb_page(k: Kernel, vma: VmAreaStruct, addr: number): void {
  flush_tlb_mm_range(k, vma.vm_mm, addr, addr + 4096);
}

export function flush_tlb_range(k: Kernel, vma: VmAreaStruct, start: number, end: number): void {
  flush_tlb_mm_range(k, vma.vm_mm, start, end);
}

export function flush_tlb_mm(k: Kernel, mm: MmStruct): void {
  flush_tlb_mm_range(k, mm, 0, TLB_FLUSH_ALL);
}
