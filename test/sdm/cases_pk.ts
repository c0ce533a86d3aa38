// SDM case table, part 3: protection keys (Vol. 3 §4.6.2) and the PK error-code bit (§4.7).
// PKRU holds AD(i) in bit 2i and WD(i) in bit 2i+1; the key is bits 62:59 of the leaf entry.

import { P, PRU, RW, US, pkeyBits, type SdmCase } from './harness.js';
import { PA_1G, PA_4K, implicit3, sup, sup4k, user, user1g, user4k } from './cases_common.js';
import type { RefState } from './ref.js';

/** PKRU with AD set for key k (2 ** keeps bit 31 positive). */
function ad(k: number): number { return 2 ** (2 * k); }
/** PKRU with WD set for key k. */
function wd(k: number): number { return 2 ** (2 * k + 1); }

function pk(pkru: number, over: Partial<RefState> = {}): Partial<RefState> {
  return { pke: true, pkru, ...over };
}

const PU = P | US;

export const PK_CASES: SdmCase[] = [
  { id: 'pk-ad-user-read', sdm: '§4.6.2 / §4.7', what: 'AD(1)=1 blocks a user read of a key-1 page: P|U|PK',
    state: pk(ad(1)), tables: user4k({ pkey: 1 }), access: user('read'), expect: { pf: 0x25 } },
  { id: 'pk-ad-user-write', sdm: '§4.6.2 / §4.7', what: 'AD(1)=1 blocks a user write: P|W|U|PK',
    state: pk(ad(1)), tables: user4k({ pkey: 1 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-wd-user-write', sdm: '§4.6.2 / §4.7', what: 'WD(1)=1 blocks a user write',
    state: pk(wd(1)), tables: user4k({ pkey: 1 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-wd-user-read-ok', sdm: '§4.6.2', what: 'WD(1)=1 does not block a user read',
    state: pk(wd(1)), tables: user4k({ pkey: 1 }), access: user('read'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-other-key-ok', sdm: '§4.6.2', what: 'AD/WD of key 2 do not affect a key-1 page',
    state: pk(ad(2) | wd(2)), tables: user4k({ pkey: 1 }), access: user('write'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-key0', sdm: '§4.6.2', what: 'key 0 is a key like any other: AD(0) blocks',
    state: pk(ad(0)), tables: user4k(), access: user('read'), expect: { pf: 0x25 } },
  { id: 'pk-key15-wd', sdm: '§4.6.2', what: 'key 15 uses PKRU bits 30 (AD) and 31 (WD)',
    state: pk(wd(15)), tables: user4k({ pkey: 15 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-key15-ad', sdm: '§4.6.2', what: 'AD(15) (PKRU bit 30) blocks a read of a key-15 page',
    state: pk(ad(15)), tables: user4k({ pkey: 15 }), access: user('read'), expect: { pf: 0x25 } },
  { id: 'pk-sup-wd-wp1', sdm: '§4.6.2 / §4.7', what: 'WD(1)=1 blocks a supervisor write to a user page when WP=1: P|W|PK',
    state: pk(wd(1)), tables: user4k({ pkey: 1 }), access: sup('write'), expect: { pf: 0x23 } },
  { id: 'pk-sup-wd-wp0', sdm: '§4.6.2', what: 'WD(1)=1 does not block a supervisor write when WP=0',
    state: pk(wd(1), { wp: false }), tables: user4k({ pkey: 1 }), access: sup('write'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-sup-ad-read', sdm: '§4.6.2 / §4.7', what: 'AD(1)=1 blocks a supervisor read of a user page: P|PK',
    state: pk(ad(1)), tables: user4k({ pkey: 1 }), access: sup('read'), expect: { pf: 0x21 } },
  { id: 'pk-sup-ad-write-wp0', sdm: '§4.6.2 / §4.7', what: 'AD(1)=1 blocks a supervisor write even with WP=0',
    state: pk(ad(1), { wp: false }), tables: user4k({ pkey: 1 }), access: sup('write'), expect: { pf: 0x23 } },
  { id: 'pk-exec-user', sdm: '§4.6.2', what: 'keys do not apply to instruction fetches (user)',
    state: pk(ad(1) | wd(1)), tables: user4k({ pkey: 1 }), access: user('exec'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-exec-sup', sdm: '§4.6.2', what: 'keys do not apply to instruction fetches (supervisor)',
    state: pk(ad(1)), tables: user4k({ pkey: 1 }), access: sup('exec'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-sup-address-ignored', sdm: '§4.6.2', what: 'keys do not apply to supervisor-mode addresses',
    state: pk(ad(1) | wd(1)), tables: sup4k({ pkey: 1 }), access: sup('write'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-sup-address-upper-us0', sdm: '§4.6.2', what: 'US=0 in the PDPTE makes a supervisor address: no key check',
    state: pk(ad(1)), tables: user4k({ pdpt: P | RW, pkey: 1 }), access: sup('read'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-user-to-sup-address-no-pk', sdm: '§4.7', what: 'user read of a supervisor page with AD for its key: PK=0',
    state: pk(ad(1)), tables: sup4k({ pkey: 1 }), access: user('read'), expect: { pf: 0x5 } },
  { id: 'pk-pke0', sdm: '§4.6.2', what: 'CR4.PKE=0: the key bits are ignored',
    state: { pke: false, pkru: ad(1) | wd(1) }, tables: user4k({ pkey: 1 }), access: user('write'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-pke0-ro-no-pk', sdm: '§4.7', what: 'CR4.PKE=0: a read-only fault never has PK',
    state: { pke: false, pkru: wd(1) }, tables: user4k({ pt: PU, pkey: 1 }), access: user('write'), expect: { pf: 0x7 } },
  { id: 'pk-upper-level-key-ignored', sdm: '§4.6.2', what: 'only the leaf carries the key: key bits in the PML4E are ignored',
    state: pk(ad(3)), tables: user4k({ extraBits: { pml4: pkeyBits(3) } }), access: user('read'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-1g-leaf', sdm: '§4.6.2', what: 'the key of a 1 GiB leaf is bits 62:59 of the PDPTE',
    state: pk(wd(7)), tables: user1g({ pkey: 7 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-1g-leaf-read', sdm: '§4.6.2', what: 'WD on a 1 GiB leaf: read allowed',
    state: pk(wd(7)), tables: user1g({ pkey: 7 }), access: user('read'), expect: { ok: true, pa: PA_1G } },

  // ---- PK together with other error bits: set whenever the §4.7 conditions hold ----
  { id: 'pk-with-ro-user', sdm: '§4.7', what: 'user write to a read-only page whose key has WD: P|W|U|PK',
    state: pk(wd(1)), tables: user4k({ pt: PU, pkey: 1 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-with-ro-user-wp0', sdm: '§4.7', what: 'same with WP=0: user accesses ignore WP, so PK still set',
    state: pk(wd(1), { wp: false }), tables: user4k({ pt: PU, pkey: 1 }), access: user('write'), expect: { pf: 0x27 } },
  { id: 'pk-with-ro-sup-wp1', sdm: '§4.7', what: 'supervisor write, read-only user page, WP=1, WD: P|W|PK',
    state: pk(wd(1)), tables: user4k({ pt: PU, pkey: 1 }), access: sup('write'), expect: { pf: 0x23 } },
  { id: 'pk-with-smap', sdm: '§4.7', what: 'SMAP denies a supervisor read; AD of the key also holds: P|PK',
    state: pk(ad(1), { smap: true }), tables: user4k({ pkey: 1 }), access: sup('read'), expect: { pf: 0x21 } },
  { id: 'pk-with-smap-wd-read', sdm: '§4.7', what: 'SMAP denies a read; WD alone does not meet §4.7 for a read: P',
    state: pk(wd(1), { smap: true }), tables: user4k({ pkey: 1 }), access: sup('read'), expect: { pf: 0x1 } },
  { id: 'pk-smap-wd-write-wp0', sdm: '§4.7', what: 'SMAP denies a write at WP=0; WD needs WP=1 for supervisor: no PK',
    state: pk(wd(1), { smap: true, wp: false }), tables: user4k({ pkey: 1 }), access: sup('write'), expect: { pf: 0x3 } },
  { id: 'pk-implicit-cpl3-wd-wp1', sdm: '§4.6.2 / §4.7', what: 'implicit write at CPL 3 is supervisor-mode: WD applies with WP=1, U/S=0',
    state: pk(wd(1)), tables: user4k({ pkey: 1 }), access: implicit3('write'), expect: { pf: 0x23 } },
  { id: 'pk-implicit-cpl3-wd-wp0', sdm: '§4.6.2', what: 'implicit write at CPL 3 with WP=0: WD does not apply',
    state: pk(wd(1), { wp: false }), tables: user4k({ pkey: 1 }), access: implicit3('write'), expect: { ok: true, pa: PA_4K } },
  { id: 'pk-not-on-reserved', sdm: '§4.7', what: 'a reserved-bit fault in the leaf is not a PK fault even if AD holds',
    state: pk(ad(1), { maxPhyAddr: 40 }), tables: user4k({ pkey: 1, extraBits: { pt: 1n << 45n } }), access: user('read'),
    expect: { pf: 0xd } },
  { id: 'pk-not-on-not-present', sdm: '§4.7', what: 'a not-present page is not a PK fault',
    state: pk(ad(1)), tables: user4k({ pt: pkeyBits(1) | RW | US }), access: user('read'), expect: { pf: 0x4 } },
  { id: 'pk-xd-fetch', sdm: '§4.7', what: 'a fetch blocked by XD on a key-1 page with AD: fetches never set PK',
    state: pk(ad(1)), tables: user4k({ pt: PRU | (1n << 63n), pkey: 1 }), access: user('exec'), expect: { pf: 0x15 } },
];
