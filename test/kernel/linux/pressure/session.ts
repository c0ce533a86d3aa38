// Helpers for the memory-pressure tests: a Linux session with a small RAM, optional swap and THP,
// traced into memory, plus an invariant check over every page, PTE, swap slot and LRU list.

import { Machine } from '../../../../src/hw/machine.js';
import { MemorySink, type TraceEvent } from '../../../../src/trace/events.js';
import type { LinuxVersion } from '../../../../src/kernel/linux/types.js';
import { LinuxSession } from '../../../../src/workload/linux.js';
import type { StepResult } from '../../../../src/workload/result.js';
import { parseScenario } from '../../../../src/workload/scenario/parse.js';
import { entry_pfn, for_each_pte, pte_none, pte_present, pte_pfn, read_hi, read_lo, walk_existing } from '../../../../src/kernel/linux/arch/x86/mm/pgtable.js';
import { is_huge_zero_pfn, pmd_trans_huge } from '../../../../src/kernel/linux/mm/huge_memory.js';
import { vmas_of } from '../../../../src/kernel/linux/mm/vma.js';
import { live_tasks, pressure } from '../../../../src/kernel/linux/mm/vmscan.js';
import { lru_add_drain } from '../../../../src/kernel/linux/mm/swap.js';
import { is_swap_pte, pte_to_swp_entry } from '../../../../src/kernel/linux/mm/swapfile.js';
import { PG_anon, PG_lru, PG_swapcache, PG_tail } from '../../../../src/kernel/linux/mm/page_alloc.js';
import type { MmStruct } from '../../../../src/kernel/linux/include/linux/mm_types.js';
import type { ThpEnabled } from '../../../../src/kernel/linux/mm/vmscan.js';

export const VERSIONS: readonly LinuxVersion[] = ['5.19', '6.18'];

export interface Booted {
  s: LinuxSession;
  sink: MemorySink;
  steps(yaml: string): StepResult[];
}

export interface PressureOpts {
  ram?: string;
  swap?: string;
  thp?: ThpEnabled;
  trace?: boolean;
  pku?: boolean;
  signals?: 'handle' | 'default';
}

const bytes = (s: string): bigint => BigInt(parseInt(s, 10)) * (s.endsWith('m') ? 1n << 20n : s.endsWith('k') ? 1024n : 1n);

export function bootPressure(v: LinuxVersion, o: PressureOpts = {}): Booted {
  const m = new Machine();
  const s = new LinuxSession(m, v, {
    signals: o.signals ?? 'handle', seed: 0, ram: o.ram ? bytes(o.ram) : undefined, swap: o.swap ? bytes(o.swap) : undefined, thp: o.thp, pku: o.pku,
  });
  const sink = new MemorySink();
  if (o.trace !== false) m.trace = sink;
  return {
    s,
    sink,
    steps(yaml: string): StepResult[] {
      const sc = parseScenario(`name: t\nsteps:\n${yaml}`, 't.yaml');
      return sc.steps.map((st) => s.run(st, { kernel: `linux-${v}`, step: st.index + 1, proc: st.proc, op: st.op }));
    },
  };
}

/** `write` steps for `n` pages from `name`, each page's first byte = its index + 1 (mod 256). */
export function writePages(name: string, n: number, from = 0, proc = 'main'): string {
  let y = '';
  for (let i = from; i < from + n; i++) y += `  - write: {addr: ${name}+${i * 4096}, value: ${(i % 255) + 1}}\n    proc: ${proc}\n`;
  return y;
}

export function readPages(name: string, n: number, from = 0): string {
  let y = '';
  for (let i = from; i < from + n; i++) y += `  - read: {addr: ${name}+${i * 4096}}\n`;
  return y;
}

export function decisions(events: readonly TraceEvent[], fn: string): string[] {
  return events.filter((e): e is Extract<TraceEvent, { ev: 'decision' }> => e.ev === 'decision' && e.fn === fn).map((e) => e.reason);
}

/**
 * The invariants of memory pressure: no PTE points at a free frame; each swap PTE's slot counts
 * exactly the PTEs that hold it; swap-cache pages and slots agree; MM_SWAPENTS and MM_ANONPAGES
 * match the page tables; every LRU page is allocated and on exactly the list count kept.
 * Returns the problems found (empty = consistent).
 */
export function checkInvariants(b: Booted): string[] {
  const k = b.s.k;
  const mm = k.memmap;
  const st = pressure(k);
  lru_add_drain(k); // page-cache pages wait in the "per-CPU batch" until reclaim drains it
  const bad: string[] = [];
  const slotRefs = new Map<number, number>();
  const seen = new Set<MmStruct>();
  for (const t of live_tasks(k)) {
    const m = t.mm!;
    if (seen.has(m)) continue;
    seen.add(m);
    let swapents = 0;
    let anon = 0;
    for (const vma of vmas_of(m)) {
      for (let h = Math.ceil(vma.vm_start / 0x200000) * 0x200000; h + 0x200000 <= vma.vm_end; h += 0x200000) {
        const pmdPa = walk_existing(k, m, h, 2);
        if (pmdPa < 0 || !pmd_trans_huge(read_lo(k, pmdPa))) continue;
        const head = entry_pfn(read_lo(k, pmdPa), read_hi(k, pmdPa));
        if (is_huge_zero_pfn(k, head)) continue;
        anon += 512;
        for (let i = 0; i < 512; i++) if (mm.isFree(head + i)) bad.push(`pid ${t.pid} 0x${h.toString(16)}: a huge PMD over free pfn 0x${(head + i).toString(16)}`);
      }
      for_each_pte(k, m, vma.vm_start, vma.vm_end, (pa, addr) => {
        const lo = read_lo(k, pa);
        const hi = read_hi(k, pa);
        if (pte_none(lo, hi)) return;
        if (is_swap_pte(lo, hi)) {
          const { off } = pte_to_swp_entry(lo, hi);
          slotRefs.set(off, (slotRefs.get(off) ?? 0) + 1);
          swapents++;
          return;
        }
        if (!pte_present(lo)) { bad.push(`pid ${t.pid} 0x${addr.toString(16)}: a non-present PTE that is not a swap entry`); return; }
        const pfn = pte_pfn(lo, hi);
        if (pfn === k.zero_pfn) return;
        if (mm.isFree(pfn)) bad.push(`pid ${t.pid} 0x${addr.toString(16)}: PTE points at free pfn 0x${pfn.toString(16)}`);
        if (mm.flags[pfn]! & PG_anon) anon++;
      }, 'skip');
    }
    if (swapents !== m.rss_stat.swapents) bad.push(`pid ${t.pid}: MM_SWAPENTS ${m.rss_stat.swapents} but ${swapents} swap PTEs`);
    if (anon !== m.rss_stat.anon) bad.push(`pid ${t.pid}: MM_ANONPAGES ${m.rss_stat.anon} but ${anon} anon PTEs`);
  }
  const si = st.swap;
  if (si) {
    let inuse = 0;
    for (let off = 1; off < si.max; off++) {
      if (si.swap_map[off] !== (slotRefs.get(off) ?? 0)) bad.push(`slot ${off}: swap_map ${si.swap_map[off]} but ${slotRefs.get(off) ?? 0} PTEs`);
      if (si.swap_map[off] || si.has_cache[off]) inuse++;
      const cached = st.swap_cache.get(off);
      if (!!si.has_cache[off] !== (cached !== undefined)) bad.push(`slot ${off}: SWAP_HAS_CACHE ${si.has_cache[off]} but cache ${cached}`);
      if (si.swap_map[off] === 0 && !si.has_cache[off] && si.data.has(off)) bad.push(`slot ${off}: free but holds data`);
    }
    if (inuse !== si.inuse_pages) bad.push(`inuse_pages ${si.inuse_pages} but ${inuse} slots in use`);
  } else if (slotRefs.size) bad.push('swap PTEs without a swap area');
  for (const [off, pfn] of st.swap_cache) {
    if (!(mm.flags[pfn]! & PG_swapcache) || st.page_private[pfn] !== off) bad.push(`swap cache slot ${off}: pfn 0x${pfn.toString(16)} lacks PG_swapcache/private`);
    if (mm.isFree(pfn)) bad.push(`swap cache slot ${off}: pfn 0x${pfn.toString(16)} is free`);
  }
  let onLists = 0;
  for (let pfn = 0; pfn < mm.totalPages; pfn++) {
    const on = st.lru.on[pfn]!;
    if (on >= 0) {
      onLists++;
      if (mm.isFree(pfn)) bad.push(`pfn 0x${pfn.toString(16)} is on LRU list ${on} but free`);
      if (!(mm.flags[pfn]! & PG_lru)) bad.push(`pfn 0x${pfn.toString(16)} is on LRU list ${on} without PG_lru`);
    } else if (mm.flags[pfn]! & PG_lru && !mm.isFree(pfn)) bad.push(`pfn 0x${pfn.toString(16)} has PG_lru but is on no list`);
    else if (mm.flags[pfn]! & (PG_anon | PG_swapcache) && !mm.isFree(pfn) && !(mm.flags[pfn]! & PG_tail)) {
      bad.push(`pfn 0x${pfn.toString(16)}: an anon or swap-cache page on no LRU list (unaccounted for reclaim)`);
    }
  }
  const sizes = [...st.lru.size].reduce((a, b) => a + b, 0);
  if (sizes !== onLists) bad.push(`LRU sizes add up to ${sizes} but ${onLists} pages are on lists`);
  return bad;
}
