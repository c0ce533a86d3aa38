// x86 page-table entry bits as Linux names them (arch/x86/include/asm/pgtable_types.h, 5.19 and
// 6.18 agree), kept as two 32-bit words (STYLE.md: no bigint on the fault path).
//
//   63  62:59   58:52   51:12     11       10      9       8           7   6 5 4   3   2  1  0
//  +--+------+-------+--------+---------+-------+-------+-----------+---+-+-+---+---+--+--+--+
//  |NX| PKEY | (sw)  |  PFN   |SOFTDIRTY|UFFD_WP|SPECIAL|GLOBAL/    |PAT|D|A|PCD|PWT|US|RW|P |
//  |  |      |       |        | (sw)    | (sw)  | (sw)  |PROTNONE   |PSE| | |   |   |  |  |  |
//  +--+------+-------+--------+---------+-------+-------+-----------+---+-+-+---+---+--+--+--+
//
// _PAGE_PROTNONE shares bit 8 with _PAGE_GLOBAL: user PTEs are never global, so a PTE with P=0
// and bit 8 set is "present" to the kernel (pte_present) and not present to the MMU. SPECIAL (bit 9)
// marks the zero page's PTE (vm_normal_page returns NULL for it).

/** Low-word bits. */
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_PWT = 1 << 3;
export const _PAGE_PCD = 1 << 4;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_PSE = 1 << 7;
export const _PAGE_GLOBAL = 1 << 8;
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
export const _PAGE_SPECIAL = 1 << 9;
export const _PAGE_UFFD_WP = 1 << 10;
export const _PAGE_SOFT_DIRTY = 1 << 11;
/** High-word bits (bit n of the entry is bit n-32 of the high word). */
export const _PAGE_HI_NX = 1 << 31; // bit 63
export const _PAGE_HI_PKEY_SHIFT = 59 - 32; // bits 59..62
export const _PAGE_HI_PKEY_MASK = 0xf << _PAGE_HI_PKEY_SHIFT;
/** PFN bits 51:12: bits 31:12 of the low word and 19:0 of the high word. */
export const PTE_PFN_LO_MASK = 0xfffff000;
export const PTE_PFN_HI_MASK = 0x000fffff;

/** A pgprot_t as two words. */
export interface Pgprot {
  readonly lo: number;
  readonly hi: number;
}

const pg = (lo: number, nx: boolean): Pgprot => ({ lo, hi: nx ? _PAGE_HI_NX : 0 });

/** _PAGE_TABLE: what pXd_populate writes for user tables; _KERNPG_TABLE for kernel ones. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

const UA = _PAGE_USER | _PAGE_ACCESSED;
export const PAGE_NONE: Pgprot = pg(_PAGE_PROTNONE | _PAGE_ACCESSED, false);
export const PAGE_SHARED: Pgprot = pg(_PAGE_PRESENT | _PAGE_RW | UA, true);
export const PAGE_SHARED_EXEC: Pgprot = pg(_PAGE_PRESENT | _PAGE_RW | UA, false);
export const PAGE_COPY: Pgprot = pg(_PAGE_PRESENT | UA, true);
export const PAGE_COPY_EXEC: Pgprot = pg(_PAGE_PRESENT | UA, false);
export const PAGE_READONLY: Pgprot = pg(_PAGE_PRESENT | UA, true);
export const PAGE_READONLY_EXEC: Pgprot = pg(_PAGE_PRESENT | UA, false);

/**
 * protection_map[16], indexed by VM_READ|VM_WRITE|VM_EXEC|VM_SHARED (vm_flags & 0xf):
 * 5.19 builds it from __P000..__S111 in mm/mmap.c; 6.0+ keeps it in arch/x86/mm/pgprot.c. The
 * values are the same in both versions.
 */
export const protection_map: readonly Pgprot[] = [
  PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
  PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
];

/** The bits pte_modify() replaces (everything but _PAGE_CHG_MASK: PFN, PCD/PWT, SPECIAL, A, D, SOFT_DIRTY, UFFD_WP). */
export const _PAGE_CHG_MASK_LO = PTE_PFN_LO_MASK | _PAGE_PCD | _PAGE_PWT | _PAGE_SPECIAL | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_UFFD_WP;
export const _PAGE_CHG_MASK_HI = PTE_PFN_HI_MASK;

/** "P RW US A D NX …" for trace events, with the software bits Linux uses. */
export function pteFlags(lo: number, hi: number): string {
  if (lo === 0 && hi === 0) return 'none';
  const out: string[] = [];
  if (lo & _PAGE_PRESENT) out.push('P');
  else if (lo & _PAGE_PROTNONE) out.push('PROTNONE');
  else out.push('!P');
  out.push(lo & _PAGE_RW ? 'RW' : 'RO');
  if (lo & _PAGE_USER) out.push('US');
  if (lo & _PAGE_ACCESSED) out.push('A');
  if (lo & _PAGE_DIRTY) out.push('D');
  if ((lo & _PAGE_GLOBAL) && (lo & _PAGE_PRESENT)) out.push('G');
  if (lo & _PAGE_SPECIAL) out.push('SPECIAL');
  if (lo & _PAGE_SOFT_DIRTY) out.push('SOFTDIRTY');
  if (hi & _PAGE_HI_NX) out.push('NX');
  const pkey = (hi & _PAGE_HI_PKEY_MASK) >>> _PAGE_HI_PKEY_SHIFT;
  if (pkey) out.push(`PKEY=${pkey}`);
  return out.join(' ');
}
