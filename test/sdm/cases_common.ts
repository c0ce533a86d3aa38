// Shared addresses, mappings and accesses for the SDM case table (cases_*.ts).
//
// Error codes in the cases are written as exact numbers; the bits (SDM Vol. 3 §4.7, Fig. 4-12):
//   0x1 P (protection / reserved bit)   0x2 W/R (write)   0x4 U/S (user-mode access)
//   0x8 RSVD   0x10 I/D (instruction fetch, with SMEP or NXE)   0x20 PK (protection key)

import { FRAME_1G, FRAME_2M, FRAME_4K, P, PRU, RW, type MapSpec } from './harness.js';
import type { RefAccess } from './ref.js';

/** A low-half user address whose four table indices all differ (0x24, 0xd1, 0xb3, 0x189). */
export const VA = 0x0000_1234_5678_9abcn;
/** Where VA lands through a 4 KiB, 2 MiB and 1 GiB leaf at the builder's default frames. */
export const PA_4K = FRAME_4K | (VA & 0xfffn);
export const PA_2M = FRAME_2M | (VA & 0x1f_ffffn);
export const PA_1G = FRAME_1G | (VA & 0x3fff_ffffn);
/** A 57-bit address (LA57) using bits 56:48: PML5 index 0x12. */
export const VA57 = 0x0012_3456_789a_bcden;
/** A canonical high-half (kernel) address under 4-level paging. */
export const KVA = 0xffff_8812_3456_7abcn;

export const SUP = P | RW; // present, writable, supervisor-only
export const RO_USER = P | 0x4n; // present, read-only, user

/** Every level present, writable, user; a 4 KiB leaf. */
export function user4k(over: Partial<MapSpec> = {}): MapSpec {
  return { va: VA, pml4: PRU, pdpt: PRU, pd: PRU, pt: PRU, ...over };
}

/** Every level present, writable, supervisor-only; a 4 KiB leaf. */
export function sup4k(over: Partial<MapSpec> = {}): MapSpec {
  return { va: VA, pml4: SUP, pdpt: SUP, pd: SUP, pt: SUP, ...over };
}

/** A user 2 MiB page (PS in the PDE). */
export function user2m(over: Partial<MapSpec> = {}): MapSpec {
  return { va: VA, pml4: PRU, pdpt: PRU, pd: PRU, leafLevel: 'pd', ...over };
}

/** A user 1 GiB page (PS in the PDPTE). */
export function user1g(over: Partial<MapSpec> = {}): MapSpec {
  return { va: VA, pml4: PRU, pdpt: PRU, leafLevel: 'pdpt', ...over };
}

type Kind = RefAccess['kind'];

export function user(kind: Kind, va: bigint = VA, size?: number): RefAccess {
  return size === undefined ? { va, kind, cpl: 3 } : { va, kind, cpl: 3, size };
}

export function sup(kind: Kind, va: bigint = VA, size?: number): RefAccess {
  return size === undefined ? { va, kind, cpl: 0 } : { va, kind, cpl: 0, size };
}

/** An implicit supervisor-mode access (IDT/GDT/TSS/stack during delivery) made at CPL 3. */
export function implicit3(kind: 'read' | 'write', va: bigint = VA): RefAccess {
  return { va, kind, cpl: 3, implicit: true };
}
