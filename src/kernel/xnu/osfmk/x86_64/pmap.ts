// The x86_64 pmap: page tables the kernel builds in the machine's physical memory
// (osfmk/x86_64/pmap.c, osfmk/i386/pmap_x86_common.c, osfmk/i386/pmap.h; xnu-11417.121.6).
// Each pmap has two PML4s (page-table isolation): pm_pml4 (kernel + user, loaded while the
// kernel runs) and pm_upml4 (user + only the DBLMAP slot 493, loaded while user code runs).
// Lower-level tables are shared by both. PV lists (`pv_head_table`) record every mapping of a
// physical page so pmap_disconnect can find them. TLB invalidation is an INVLPG when the pmap is
// the one in CR3 (no PCIDs and one CPU: FIXME no shootdowns), where PMAP_UPDATE_TLBS does it.

import { hex } from '../../../../trace/events.js';
import { P, RW, US, G, A, D } from '../../../../hw/pte.js';
import { decide, enter, leave, protName, VM_PROT_EXECUTE, VM_PROT_NONE, VM_PROT_WRITE, type Xnu } from '../../xnu.js';
import { vm_page_grab_for_pmap } from '../vm/vm_page.js';

const FILE = 'osfmk/i386/pmap_x86_common.c';
const FILE64 = 'osfmk/x86_64/pmap.c';

/** PML4 slot of the double map (KERNEL_DBLMAP_PML4_INDEX, osfmk/i386/pmap.h:211-212). */
export const KERNEL_DBLMAP_PML4_INDEX = 493;
/** PML4 slot of the kernel's own image and data (KERNEL_PML4_INDEX 511). */
export const KERNEL_PML4_INDEX = 511;

/** INTEL_PTE_* high-word bits (pmap.h:262-295): NX is bit 63, WIRED (software) bit 54. */
const HI_NX = 1 << 31;
const HI_WIRED = 1 << 22;

export interface Pmap {
  /** pm_pml4 / pm_cr3: kernel + user. */
  pml4: number;
  /** pm_upml4 / pm_ucr3: user + the DBLMAP slot. */
  upml4: number;
  isKernel: boolean;
  /** pmap->stats.resident_count / wired_count. */
  resident_count: number;
  wired_count: number;
}

/** One mapping of a physical page (pv_entry, simplified to {pmap, va}). */
export interface PvEntry {
  pmap: Pmap;
  va: number;
}

/** A frame for a page-table page: vm_page_grab once the VM is up, the boot allocator before. */
function pmapAllocTable(k: Xnu): number {
  const pfn = k.pages ? vm_page_grab_for_pmap(k) : k.bootNextPfn++;
  k.m.mem.zeroFrame(pfn);
  return pfn * 4096;
}

/** pmap_create_options (x86_64/pmap.c:1658-1711): two PML4s; kernel slots copied from the kernel pmap. */
export function pmap_create_options(k: Xnu): Pmap {
  enter(k, 'pmap_create_options', FILE64);
  const pm: Pmap = { pml4: pmapAllocTable(k), upml4: pmapAllocTable(k), isKernel: false, resident_count: 0, wired_count: 0 };
  const kp = k.kernelPmap;
  const mem = k.m.mem;
  for (const slot of [KERNEL_DBLMAP_PML4_INDEX, KERNEL_PML4_INDEX]) {
    mem.write64(pm.pml4 + slot * 8, mem.read64(kp.pml4 + slot * 8));
  }
  // The user table carries the kernel only through the double map (page-table isolation).
  mem.write64(pm.upml4 + KERNEL_DBLMAP_PML4_INDEX * 8, mem.read64(kp.pml4 + KERNEL_DBLMAP_PML4_INDEX * 8));
  leave(k, 'pmap_create_options', hex(pm.pml4));
  return pm;
}

/** The kernel pmap (pmap_bootstrap, simplified): one PML4 used for both roles. */
export function pmap_bootstrap(k: Xnu): Pmap {
  const pml4 = pmapAllocTable(k);
  return { pml4, upml4: pml4, isKernel: true, resident_count: 0, wired_count: 0 };
}

/**
 * Index of `va` (a user VA, < 2^47, exact in a double) at the level with this shift: the quotient
 * is exact, and ToUint32 (`>>> 0`) keeps it mod 2^32, a multiple of 512 (no double `%` on the fault path).
 */
const idx = (va: number, shift: number): number => ((va / 2 ** shift) >>> 0) & 511;

/**
 * pmap_pte with pmap_expand_pml4/pdpt/pd (x86_64/pmap.c): the PTE's physical address for user
 * `va`, creating missing tables when `expand`; -1 when a table is missing and not expanding.
 * A new PML4 entry for a user slot is written in both PML4s (pmap_expand_pml4).
 */
export function pmap_pte(k: Xnu, pm: Pmap, va: number, expand: boolean): number {
  const mem = k.m.mem;
  let table = pm.pml4;
  for (let shift = 39; shift > 12; shift -= 9) {
    const at = table + idx(va, shift) * 8;
    const lo = mem.read32(at);
    if (lo & P) {
      table = (lo & 0xfffff000) + (mem.read32(at + 4) & 0xfffff) * 4294967296;
      continue;
    }
    if (!expand) return -1;
    const next = pmapAllocTable(k);
    mem.write32(at, (next | P | RW | US) >>> 0);
    mem.write32(at + 4, 0);
    if (shift === 39 && !pm.isKernel) {
      mem.write32(pm.upml4 + idx(va, 39) * 8, (next | P | RW | US) >>> 0);
      mem.write32(pm.upml4 + idx(va, 39) * 8 + 4, 0);
    }
    if (k.trace.enabled) traceExpand(k, shift, at, next, va);
    table = next;
  }
  return table + idx(va, 12) * 8;
}

function traceExpand(k: Xnu, shift: number, at: number, next: number, va: number): void {
  const fn = shift === 39 ? 'pmap_expand_pml4' : shift === 30 ? 'pmap_expand_pdpt' : 'pmap_expand';
  k.trace.emit({ ev: 'enter', fn, src: `${FILE64}:${fn} (xnu-11417)`, args: { vaddr: hex(va) } });
  const level = shift === 39 ? 'pml4' : shift === 30 ? 'pdpt' : 'pd';
  k.trace.emit({ ev: 'pte_write', level, entryPa: hex(at), old: '0x0', value: hex(next | P | RW | US), flags: 'P RW US', va: hex(va) });
  k.trace.emit({ ev: 'leave', fn });
}

/** PMAP_UPDATE_TLBS (pmap_x86_common.c), one CPU: INVLPG if this pmap is loaded, else nothing to do. */
function pmapUpdateTlbs(k: Xnu, pm: Pmap, va: number): void {
  const cr3 = Number(k.m.cpu.cr3 & 0xffffffffff000n);
  if (cr3 === pm.pml4 || cr3 === pm.upml4 || pm.isKernel) k.m.invlpg(BigInt(va));
  else decide(k, 'PMAP_UPDATE_TLBS', 'pmap-not-active', 'no CPU has this pmap loaded: nothing cached');
}

function writePte(k: Xnu, at: number, lo: number, hi: number, va: number): void {
  const mem = k.m.mem;
  if (k.trace.enabled) {
    const old = mem.read64(at);
    mem.write32(at, lo >>> 0);
    mem.write32(at + 4, hi >>> 0);
    const v = mem.read64(at);
    const flags = [lo & P ? 'P' : '', lo & RW ? 'RW' : '', lo & US ? 'US' : '', hi & HI_NX ? 'NX' : '', hi & HI_WIRED ? 'WIRED' : ''].filter(Boolean).join(' ');
    k.trace.emit({ ev: 'pte_write', level: 'pt', entryPa: hex(at), old: hex(old), value: hex(v), flags, va: hex(va) });
    return;
  }
  mem.write32(at, lo >>> 0);
  mem.write32(at + 4, hi >>> 0);
}

type EnterCase = 'same-page-attributes-only' | 'replace-old-mapping' | 'new-mapping' | 'noenter-expand-only';

/**
 * pmap_enter_options (i386/pmap_x86_common.c:636): map `va` to frame `pfn` with `prot`.
 * Simplified: no superpages, no PAT/cache attributes, no alternate accounting.
 */
export function pmap_enter_options(k: Xnu, pm: Pmap, va: number, pfn: number, prot: number, wired: boolean, noenter = false): number {
  if (k.trace.enabled) k.trace.emit({ ev: 'enter', fn: 'pmap_enter_options', src: `${FILE}:pmap_enter_options (xnu-11417)`, args: { vaddr: hex(va), pn: hex(pfn), prot: protName(prot) } });
  const at = pmap_pte(k, pm, va, true);
  let why: EnterCase;
  if (noenter) {
    why = 'noenter-expand-only';
  } else {
    const mem = k.m.mem;
    const oldLo = mem.read32(at);
    const oldPfn = (oldLo >>> 12) + (mem.read32(at + 4) & 0xfffff) * 1048576;
    const lo = (pfn * 4096) % 4294967296 | P | US | (prot & VM_PROT_WRITE ? RW : 0);
    const hi = Math.floor(pfn / 1048576) | (prot & VM_PROT_EXECUTE ? 0 : HI_NX) | (wired ? HI_WIRED : 0);
    if (oldLo & P && oldPfn === pfn) {
      why = 'same-page-attributes-only';
      // Keep the CPU's A/D bits; only the rights change. Adding write needs no flush; taking it away does.
      writePte(k, at, lo | (oldLo & (A | D)), hi, va);
      if ((oldLo & RW) && !(prot & VM_PROT_WRITE)) pmapUpdateTlbs(k, pm, va);
    } else {
      if (oldLo & P) {
        why = 'replace-old-mapping';
        savePhysAttributes(k, oldPfn, oldLo);
        pvRemove(k, oldPfn, pm, va);
        pm.resident_count--;
        writePte(k, at, 0, 0, va);
        pmapUpdateTlbs(k, pm, va);
      } else why = 'new-mapping';
      writePte(k, at, lo, hi, va);
      pvEnter(k, pfn, pm, va);
      pm.resident_count++;
      if (wired) pm.wired_count++;
    }
  }
  decide(k, 'pmap_enter_options', why);
  leave(k, 'pmap_enter_options', 'KERN_SUCCESS');
  return 0;
}

function pvEnter(k: Xnu, pfn: number, pm: Pmap, va: number): void {
  const list = k.pvHead.get(pfn);
  if (list) list.push({ pmap: pm, va });
  else k.pvHead.set(pfn, [{ pmap: pm, va }]);
}

/** pmap_phys_attributes (x86_64 pmap): a removed PTE's A/D bits are kept per frame, so pmap_get_refmod still sees them. */
function savePhysAttributes(k: Xnu, pfn: number, lo: number): void {
  const bits = (lo & A ? VM_MEM_REFERENCED : 0) | (lo & D ? VM_MEM_MODIFIED : 0);
  if (bits) k.pmapPhysAttributes.set(pfn, (k.pmapPhysAttributes.get(pfn) ?? 0) | bits);
}

function pvRemove(k: Xnu, pfn: number, pm: Pmap, va: number): void {
  const list = k.pvHead.get(pfn);
  if (!list) return;
  const i = list.findIndex((e) => e.pmap === pm && e.va === va);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) k.pvHead.delete(pfn);
}

/** The frame mapped at user `va` in `pm`, or -1 (pmap_find_phys). */
export function pmap_find_phys(k: Xnu, pm: Pmap, va: number): number {
  const at = pmap_pte(k, pm, va, false);
  if (at < 0) return -1;
  const lo = k.m.mem.read32(at);
  return lo & P ? (lo >>> 12) + (k.m.mem.read32(at + 4) & 0xfffff) * 1048576 : -1;
}

/** pmap_remove (x86_64/pmap.c): drop every PTE in [s, e), with their PV entries and TLB entries. */
export function pmap_remove(k: Xnu, pm: Pmap, s: number, e: number): void {
  enter(k, 'pmap_remove', FILE64, k.trace.enabled ? { s: hex(s), e: hex(e) } : undefined);
  forEachPte(k, pm, s, e, (at, va, lo) => {
    const pfn = (lo >>> 12) + (k.m.mem.read32(at + 4) & 0xfffff) * 1048576;
    savePhysAttributes(k, pfn, lo);
    pvRemove(k, pfn, pm, va);
    if (k.m.mem.read32(at + 4) & HI_WIRED) pm.wired_count--;
    pm.resident_count--;
    writePte(k, at, 0, 0, va);
    pmapUpdateTlbs(k, pm, va);
  });
  leave(k, 'pmap_remove');
}

/**
 * pmap_protect_options (x86_64/pmap.c:1880): VM_PROT_NONE removes; otherwise only clears WRITE
 * and sets NX, never adding a right (checklist 48).
 */
export function pmap_protect_options(k: Xnu, pm: Pmap, s: number, e: number, prot: number): void {
  if (prot === VM_PROT_NONE) {
    decide(k, 'pmap_protect_options', 'prot-none-removes');
    pmap_remove(k, pm, s, e);
    return;
  }
  enter(k, 'pmap_protect_options', FILE64, k.trace.enabled ? { s: hex(s), e: hex(e), prot: protName(prot) } : undefined);
  forEachPte(k, pm, s, e, (at, va, lo) => {
    const hi = k.m.mem.read32(at + 4);
    const nlo = prot & VM_PROT_WRITE ? lo : lo & ~RW;
    const nhi = prot & VM_PROT_EXECUTE ? hi : hi | HI_NX;
    if (nlo === lo && nhi === hi) return;
    writePte(k, at, nlo, nhi, va);
    pmapUpdateTlbs(k, pm, va);
  });
  leave(k, 'pmap_protect_options');
}

function forEachPte(k: Xnu, pm: Pmap, s: number, e: number, fn: (at: number, va: number, lo: number) => void): void {
  for (let va = s; va < e; va += 4096) {
    const at = pmap_pte(k, pm, va, false);
    if (at < 0) {
      va = (Math.floor(va / 2097152) + 1) * 2097152 - 4096; // no page table: skip this 2 MiB
      continue;
    }
    const lo = k.m.mem.read32(at);
    if (lo & P) fn(at, va, lo);
  }
}

/** pmap_disconnect / pmap_page_protect(pn, NONE) (pmap_x86_common.c): remove every mapping of `pfn`. */
export function pmap_disconnect(k: Xnu, pfn: number): void {
  enter(k, 'pmap_disconnect', FILE, k.trace.enabled ? { pn: hex(pfn) } : undefined);
  const list = k.pvHead.get(pfn);
  for (const pv of list ? [...list] : []) {
    const at = pmap_pte(k, pv.pmap, pv.va, false);
    savePhysAttributes(k, pfn, k.m.mem.read32(at));
    if (k.m.mem.read32(at + 4) & HI_WIRED) pv.pmap.wired_count--;
    pv.pmap.resident_count--;
    writePte(k, at, 0, 0, pv.va);
    pmapUpdateTlbs(k, pv.pmap, pv.va);
  }
  k.pvHead.delete(pfn);
  leave(k, 'pmap_disconnect');
}

/** How many mappings a frame has (for tests and the "no PTE points at a free frame" property). */
export function pmap_mapping_count(k: Xnu, pfn: number): number {
  return k.pvHead.get(pfn)?.length ?? 0;
}

/** Boot-time kernel mapping (Idle_PTs_init / pmap_enter on kernel_pmap, simplified to a direct write). */
export function pmap_map_kernel(k: Xnu, root: number, va: bigint, pfn: number, writable: boolean, exec: boolean): void {
  const mem = k.m.mem;
  let table = root;
  for (let shift = 39n; shift > 12n; shift -= 9n) {
    const at = table + Number((va >> shift) & 0x1ffn) * 8;
    const lo = mem.read32(at);
    if (lo & P) {
      table = (lo & 0xfffff000) + (mem.read32(at + 4) & 0xfffff) * 4294967296;
      continue;
    }
    const next = pmapAllocTable(k);
    mem.write32(at, (next | P | RW) >>> 0);
    table = next;
  }
  const at = table + Number((va >> 12n) & 0x1ffn) * 8;
  mem.write32(at, ((pfn * 4096) % 4294967296 | P | G | (writable ? RW : 0)) >>> 0);
  mem.write32(at + 4, (Math.floor(pfn / 1048576) | (exec ? 0 : HI_NX)) >>> 0);
}

/** pmap_page_protect (pmap_x86_common.c) for a read-only request: clear WRITE in every mapping of `pfn`. */
export function pmap_page_protect_readonly(k: Xnu, pfn: number): void {
  enter(k, 'pmap_page_protect', FILE, k.trace.enabled ? { pn: hex(pfn), prot: 'r--' } : undefined);
  for (const pv of k.pvHead.get(pfn) ?? []) {
    const at = pmap_pte(k, pv.pmap, pv.va, false);
    const lo = k.m.mem.read32(at);
    if (!(lo & RW)) continue;
    writePte(k, at, lo & ~RW, k.m.mem.read32(at + 4), pv.va);
    pmapUpdateTlbs(k, pv.pmap, pv.va);
  }
  leave(k, 'pmap_page_protect');
}

/** pmap_clear_refmod (pmap_x86_common.c): clear A (and D with `mod`) in every mapping of `pfn`, flushing each. */
export function pmap_clear_refmod(k: Xnu, pfn: number, mod: boolean): void {
  const saved = k.pmapPhysAttributes.get(pfn);
  if (saved !== undefined) k.pmapPhysAttributes.set(pfn, saved & ~(VM_MEM_REFERENCED | (mod ? VM_MEM_MODIFIED : 0)));
  for (const pv of k.pvHead.get(pfn) ?? []) {
    const at = pmap_pte(k, pv.pmap, pv.va, false);
    const lo = k.m.mem.read32(at);
    const nlo = lo & ~(A | (mod ? D : 0));
    if (nlo === lo) continue;
    writePte(k, at, nlo, k.m.mem.read32(at + 4), pv.va);
    pmapUpdateTlbs(k, pv.pmap, pv.va);
  }
}

/** VM_MEM_REFERENCED / VM_MEM_MODIFIED (pmap.h): what pmap_get_refmod reports. */
export const VM_MEM_MODIFIED = 0x1;
export const VM_MEM_REFERENCED = 0x2;

/** pmap_get_refmod (pmap_x86_common.c): the A and D bits of every mapping of `pfn`, ORed with those saved when mappings went away. */
export function pmap_get_refmod(k: Xnu, pfn: number): number {
  let r = k.pmapPhysAttributes.get(pfn) ?? 0;
  for (const pv of k.pvHead.get(pfn) ?? []) {
    const lo = k.m.mem.read32(pmap_pte(k, pv.pmap, pv.va, false));
    if (lo & A) r |= VM_MEM_REFERENCED;
    if (lo & D) r |= VM_MEM_MODIFIED;
  }
  return r;
}

/** pmap_change_wiring (pmap_x86_common.c): set or clear the software WIRED bit of `va`'s PTE. */
export function pmap_change_wiring(k: Xnu, pm: Pmap, va: number, wired: boolean): void {
  const at = pmap_pte(k, pm, va, false);
  if (at < 0 || !(k.m.mem.read32(at) & P)) return;
  const hi = k.m.mem.read32(at + 4);
  if (((hi & HI_WIRED) !== 0) === wired) return;
  k.m.mem.write32(at + 4, (wired ? hi | HI_WIRED : hi & ~HI_WIRED) >>> 0);
  pm.wired_count += wired ? 1 : -1;
}
