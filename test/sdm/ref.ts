// Reference model of x86-64 linear-address translation, written straight from the Intel SDM
// Vol. 3 chapter 4 (4-level and 5-level paging only). It is the independent oracle the fast
// walker in src/hw is checked against, so it imports nothing from src/ and is deliberately
// plain and slow: bigint everywhere, one rule per line, each rule citing its SDM section.
//
// Where the SDM leaves a choice, this model decides (and the fast model must agree):
//  - A flags are set only when the whole access succeeds: every entry walked for every page the
//    access touches (§4.8), and D in the leaf of every page written. A faulting access sets none.
//  - `setA` lists every entry used (root first, page by page, each entry once), whether or not
//    its A flag was already 1: hardware "sets the accessed flag" (§4.8), an idempotent store.
//  - `setD` is the first page's leaf; a write crossing pages also sets D in the later leaves
//    (visible in memory, see `refTranslateWithEffects`).
//  - Reserved bits are checked level by level in walk order; a not-present entry stops the walk
//    (P=0) before its reserved bits are looked at (§4.7: "P=0 ... not-present page").
//  - Access rights (§4.6) are checked only after a successful walk to the leaf; a reserved-bit
//    fault therefore never has PK set.
//  - PK (§4.7) is set on every protection fault for which the §4.7 conditions hold for the
//    leaf's key, even if another rule also denied the access.
//  - An access whose first or last byte is non-canonical raises #GP(0) before any walk (§3.3.7.1
//    Vol. 1, §4.5: linear addresses must be canonical; #GP, not #PF).

export interface RefState {
  cr3: bigint; // physical address of the root table (PML4 or PML5), 4 KiB aligned
  wp: boolean; // CR0.WP
  smep: boolean; // CR4.SMEP
  smap: boolean; // CR4.SMAP
  pke: boolean; // CR4.PKE
  la57: boolean; // CR4.LA57
  nxe: boolean; // IA32_EFER.NXE
  ac: boolean; // RFLAGS.AC
  pkru: number; // PKRU: AD(i) = bit 2i, WD(i) = bit 2i+1
  maxPhyAddr: number; // CPUID.80000008H:EAX[7:0], default 46
  page1g: boolean; // CPUID.80000001H:EDX.Page1GB[26], default true
}

export interface RefAccess {
  va: bigint; // 64-bit, unsigned
  kind: 'read' | 'write' | 'exec';
  cpl: 0 | 3;
  implicit?: boolean; // implicit supervisor-mode access (IDT, GDT, TSS, stack during delivery)
  size?: number; // bytes, default 1
}

export type RefResult =
  | { kind: 'ok'; pa: bigint; pageSize: '4k' | '2m' | '1g'; setA: bigint[]; setD: bigint | null }
  | { kind: 'pf'; errorCode: number; cr2: bigint }
  | { kind: 'gp'; errorCode: 0 };

export type RefLevel = 'pml5' | 'pml4' | 'pdpt' | 'pd' | 'pt';

/** Why the reference decided what it did: a label for test failure messages. */
export type RefWhy =
  | 'ok' | 'non-canonical' | 'not-present' | 'reserved-bit'
  | 'user-access-to-supervisor-address' | 'user-write-to-read-only' | 'fetch-from-xd'
  | 'smep' | 'smap' | 'supervisor-write-to-read-only' | 'pkru-ad' | 'pkru-wd';

export interface RefEffects {
  result: RefResult;
  why: RefWhy;
  setA: bigint[]; // entry PAs whose A flag the access sets (empty on a fault)
  setD: bigint[]; // leaf entry PAs whose D flag the access sets, one per page written
}

export const DEFAULT_REF_STATE: RefState = {
  cr3: 0x1000n, wp: true, smep: false, smap: false, pke: false, la57: false, nxe: true,
  ac: false, pkru: 0, maxPhyAddr: 46, page1g: true,
};

export function refState(over: Partial<RefState> = {}): RefState {
  return { ...DEFAULT_REF_STATE, ...over };
}

// ---- bits -------------------------------------------------------------------------------------

const U64 = (1n << 64n) - 1n;

function bitSet(v: bigint, n: number): boolean {
  return ((v >> BigInt(n)) & 1n) === 1n;
}

/** Bits hi..lo inclusive; empty when hi < lo. */
function bitRange(hi: number, lo: number): bigint {
  if (hi < lo) return 0n;
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

// Entry bits, SDM Tables 4-14 .. 4-20.
//   63  62..59  58..52   51..M   M-1..12   11..9  8   7      6  5  4    3    2    1    0
//  +--+-------+--------+-------+----------+------+---+------+--+--+----+----+----+----+---+
//  |XD|  PK   |ignored |  rsvd |  address |ignord| G |PS/PAT| D| A| PCD| PWT| U/S| R/W| P |
//  +--+-------+--------+-------+----------+------+---+------+--+--+----+----+----+----+---+
// A 2 MiB PDE has PAT at bit 12 and bits 20:13 reserved; a 1 GiB PDPTE has PAT at bit 12 and
// bits 29:13 reserved. PK, G and D mean something only in a leaf.
const P = 0, RW = 1, US = 2, PS = 7, XD = 63;

// ---- §4.5: canonical addresses and the walk ---------------------------------------------------

/** §4.5 / Vol. 1 §3.3.7.1: bits 63:48 (63:57 with CR4.LA57) copy bit 47 (56). */
export function refIsCanonical(va: bigint, la57: boolean): boolean {
  const width = la57 ? 57 : 48;
  const top = va >> BigInt(width - 1); // the sign bit and everything above it
  return top === 0n || top === (1n << BigInt(64 - width + 1)) - 1n;
}

interface LevelInfo { name: RefLevel; shift: number }

// §4.5.4 (4-level and 5-level paging): each level indexes 9 bits of the linear address.
const LEVELS: LevelInfo[] = [
  { name: 'pml5', shift: 48 }, // bits 56:48, only with CR4.LA57 = 1
  { name: 'pml4', shift: 39 }, // bits 47:39
  { name: 'pdpt', shift: 30 }, // bits 38:30
  { name: 'pd', shift: 21 }, // bits 29:21
  { name: 'pt', shift: 12 }, // bits 20:12
];

interface UsedEntry { level: RefLevel; pa: bigint; value: bigint }

type Walk =
  | { kind: 'ok'; used: UsedEntry[]; pa: bigint; pageSize: '4k' | '2m' | '1g' }
  | { kind: 'not-present' }
  | { kind: 'reserved-bit' };

/** §4.5: does this present entry map a page (rather than reference another table)? */
function isLeaf(level: RefLevel, e: bigint): boolean {
  if (level === 'pt') return true; // §4.5.4 Table 4-20: a PTE always maps a 4 KiB page
  if (level === 'pd' || level === 'pdpt') return bitSet(e, PS); // Tables 4-17, 4-18: PS=1
  return false; // PML5E/PML4E: bit 7 is reserved, never a page
}

/** §4.5.4 Tables 4-14..4-20 and §4.7 (RSVD): is any reserved bit set in this present entry? */
function hasReservedBit(st: RefState, level: RefLevel, e: bigint): boolean {
  // Bits 51:MAXPHYADDR of every present entry are reserved (Tables 4-14..4-20).
  if ((e & bitRange(51, st.maxPhyAddr)) !== 0n) return true;
  // §4.6.1 / Table 4-14 note: bit 63 is XD only if IA32_EFER.NXE = 1; otherwise reserved.
  if (!st.nxe && bitSet(e, XD)) return true;
  // Tables 4-14, 4-15: bit 7 of a PML5E and of a PML4E is reserved (must be 0).
  if ((level === 'pml5' || level === 'pml4') && bitSet(e, PS)) return true;
  if (level === 'pdpt' && bitSet(e, PS)) {
    // §4.1.4 / Table 4-16: PS=1 in a PDPTE is reserved if 1-GByte pages are not supported.
    if (!st.page1g) return true;
    // Table 4-16: bits 29:13 of a PDPTE that maps a 1-GByte page are reserved.
    if ((e & bitRange(29, 13)) !== 0n) return true;
  }
  // Table 4-18: bits 20:13 of a PDE that maps a 2-MByte page are reserved (bit 12 is PAT).
  if (level === 'pd' && bitSet(e, PS) && (e & bitRange(20, 13)) !== 0n) return true;
  return false;
}

/** §4.5.4: walk from CR3 to the leaf for one (canonical) linear address. */
function walk(read64: (pa: bigint) => bigint, st: RefState, va: bigint): Walk {
  // §4.5.2: CR3 bits M-1:12 locate the root (PML5 with LA57, else PML4).
  let table = st.cr3 & bitRange(51, 12);
  const used: UsedEntry[] = [];
  for (const lv of LEVELS) {
    if (lv.name === 'pml5' && !st.la57) continue; // §4.5 / §4.1.4: without CR4.LA57 there is no PML5
    const index = (va >> BigInt(lv.shift)) & 0x1ffn;
    const pa = table + index * 8n;
    const e = read64(pa) & U64;
    used.push({ level: lv.name, pa, value: e });
    // §4.7 / §4.5.4: P=0 in any entry -> #PF with P=0; the rest of the entry is ignored.
    if (!bitSet(e, P)) return { kind: 'not-present' };
    // §4.7 RSVD: checked only in present entries, in walk order.
    if (hasReservedBit(st, lv.name, e)) return { kind: 'reserved-bit' };
    if (isLeaf(lv.name, e)) {
      // §4.5.4: frame from the entry's address bits, offset from the low bits of va.
      const offsetBits = lv.shift; // 12 (4 KiB), 21 (2 MiB) or 30 (1 GiB)
      const frame = e & bitRange(51, offsetBits);
      const pa = frame | (va & bitRange(offsetBits - 1, 0));
      const pageSize = lv.name === 'pt' ? '4k' : lv.name === 'pd' ? '2m' : '1g';
      return { kind: 'ok', used, pa, pageSize };
    }
    table = e & bitRange(51, 12); // Tables 4-14..4-19: address of the next table
  }
  throw new Error('ref walk: fell off the last level'); // a PTE is always a leaf
}

// ---- §4.6: access rights ----------------------------------------------------------------------

interface Rights { userAddr: boolean; writable: boolean; xd: boolean; key: number }

/** §4.6.1 / §4.6.2: rights are combined over every entry used to translate the address. */
function rightsOf(st: RefState, used: UsedEntry[]): Rights {
  // §4.6.1: a user-mode address has U/S=1 in every paging-structure entry controlling it.
  const userAddr = used.every((u) => bitSet(u.value, US));
  // §4.6.1: writable only if R/W=1 in every entry controlling the translation.
  const writable = used.every((u) => bitSet(u.value, RW));
  // §4.6.1: with IA32_EFER.NXE=1, execute-disable if XD=1 in any entry.
  const xd = st.nxe && used.some((u) => bitSet(u.value, XD));
  // §4.6.2: the key is bits 62:59 of the entry that maps the page.
  const leaf = used[used.length - 1];
  if (leaf === undefined) throw new Error('ref rights: empty walk');
  const key = Number((leaf.value >> 59n) & 0xfn);
  return { userAddr, writable, xd, key };
}

function isUserMode(acc: RefAccess): boolean {
  // §4.6: CPL=3 accesses are user-mode, except implicit supervisor-mode accesses (IDT, GDT, TSS,
  // stack during event delivery), which are supervisor-mode even at CPL 3.
  return acc.cpl === 3 && acc.implicit !== true;
}

function pkruAD(st: RefState, key: number): boolean {
  return ((st.pkru >>> (2 * key)) & 1) === 1; // §4.6.2: AD(i) is PKRU bit 2i
}

function pkruWD(st: RefState, key: number): boolean {
  return ((st.pkru >>> (2 * key + 1)) & 1) === 1; // §4.6.2: WD(i) is PKRU bit 2i+1
}

/** §4.6.1 (with §4.6.2 for keys): the first rule that denies the access, or 'ok'. */
function accessRule(st: RefState, acc: RefAccess, r: Rights): RefWhy {
  const write = acc.kind === 'write';
  // §4.6.2: keys apply to data accesses (user or supervisor) to user-mode addresses, with PKE=1.
  const keyed = st.pke && r.userAddr && acc.kind !== 'exec';
  if (isUserMode(acc)) {
    // §4.6.1 user-mode accesses: only user-mode addresses, of any kind.
    if (!r.userAddr) return 'user-access-to-supervisor-address';
    // §4.6.1: user writes need R/W=1 everywhere, whatever CR0.WP says.
    if (write && !r.writable) return 'user-write-to-read-only';
    // §4.6.1: user fetches need XD=0 everywhere when NXE=1.
    if (acc.kind === 'exec' && r.xd) return 'fetch-from-xd';
    // §4.6.2: AD(i)=1 forbids all data accesses; WD(i)=1 forbids user writes.
    if (keyed && pkruAD(st, r.key)) return 'pkru-ad';
    if (keyed && write && pkruWD(st, r.key)) return 'pkru-wd';
    return 'ok';
  }
  if (acc.kind === 'exec') {
    // §4.6.1 supervisor fetches: none from user-mode addresses when CR4.SMEP=1.
    if (r.userAddr && st.smep) return 'smep';
    // §4.6.1: with NXE=1, none from an address with XD=1 in any entry.
    if (r.xd) return 'fetch-from-xd';
    return 'ok'; // §4.6.1: SMAP and protection keys do not apply to fetches
  }
  // §4.6.1 supervisor data accesses to user-mode addresses with CR4.SMAP=1: allowed only for
  // explicit accesses with RFLAGS.AC=1; implicit ones are always denied.
  if (r.userAddr && st.smap && (acc.implicit === true || !st.ac)) return 'smap';
  // §4.6.1: with CR0.WP=1 supervisor writes need R/W=1 everywhere; with WP=0 they do not.
  if (write && st.wp && !r.writable) return 'supervisor-write-to-read-only';
  // §4.6.2: AD(i)=1 forbids supervisor data accesses too; WD(i)=1 forbids supervisor writes
  // only when CR0.WP=1.
  if (keyed && pkruAD(st, r.key)) return 'pkru-ad';
  if (keyed && write && st.wp && pkruWD(st, r.key)) return 'pkru-wd';
  return 'ok';
}

/** §4.7 PK: the four conditions, evaluated for the leaf's key regardless of the denying rule. */
function pkConditionsHold(st: RefState, acc: RefAccess, r: Rights): boolean {
  if (!st.pke) return false; // (1) IA32_EFER.LMA = CR4.PKE = 1 (LMA is always 1 here)
  if (acc.kind === 'exec') return false; // (2) a data access
  if (!r.userAddr) return false; // (3) a user-mode address with protection key i
  if (pkruAD(st, r.key)) return true; // (4a) AD(i) = 1
  // (4b) WD(i) = 1, a write, and either CR0.WP = 1 or a user-mode access
  return pkruWD(st, r.key) && acc.kind === 'write' && (st.wp || isUserMode(acc));
}

// ---- §4.7: the error code ---------------------------------------------------------------------

interface FaultBits { present: boolean; rsvd: boolean; pk: boolean }

function errorCode(st: RefState, acc: RefAccess, f: FaultBits): number {
  let ec = 0;
  if (f.present) ec |= 0x1; // P: 0 not-present page; 1 protection or reserved-bit violation
  if (acc.kind === 'write') ec |= 0x2; // W/R: 1 for a write (fetches and reads give 0)
  if (isUserMode(acc)) ec |= 0x4; // U/S: 1 for user-mode accesses, 0 for supervisor-mode
  if (f.rsvd) ec |= 0x8; // RSVD
  // I/D: 1 for an instruction fetch if CR4.SMEP=1 or (PAE paging and) IA32_EFER.NXE=1.
  if (acc.kind === 'exec' && (st.smep || st.nxe)) ec |= 0x10;
  if (f.pk) ec |= 0x20; // PK
  return ec;
}

// ---- one page, then the whole access ----------------------------------------------------------

type PageOutcome =
  | { kind: 'ok'; used: UsedEntry[]; pa: bigint; pageSize: '4k' | '2m' | '1g' }
  | { kind: 'pf'; why: RefWhy; errorCode: number };

function translatePage(read64: (pa: bigint) => bigint, st: RefState, acc: RefAccess, va: bigint): PageOutcome {
  const w = walk(read64, st, va);
  if (w.kind === 'not-present') {
    return { kind: 'pf', why: 'not-present', errorCode: errorCode(st, acc, { present: false, rsvd: false, pk: false }) };
  }
  if (w.kind === 'reserved-bit') {
    return { kind: 'pf', why: 'reserved-bit', errorCode: errorCode(st, acc, { present: true, rsvd: true, pk: false }) };
  }
  const r = rightsOf(st, w.used);
  const why = accessRule(st, acc, r);
  if (why !== 'ok') {
    const pk = pkConditionsHold(st, acc, r);
    return { kind: 'pf', why, errorCode: errorCode(st, acc, { present: true, rsvd: false, pk }) };
  }
  return w;
}

/** The linear addresses to translate: the access's first byte, then each later page's start. */
function pagesTouched(va: bigint, size: number): bigint[] {
  const last = (va + BigInt(size) - 1n) & U64; // linear addresses wrap at 2^64 in 64-bit mode
  const out: bigint[] = [va];
  let page = va & ~0xfffn;
  while (page !== (last & ~0xfffn)) {
    page = (page + 0x1000n) & U64;
    out.push(page);
  }
  return out;
}

/** Translate and report every side effect: the A and D flags the access sets. */
export function refTranslateWithEffects(read64: (pa: bigint) => bigint, st: RefState, acc: RefAccess): RefEffects {
  const size = acc.size ?? 1;
  if (acc.va < 0n || acc.va > U64) throw new Error(`ref: va ${acc.va} is not a 64-bit unsigned value`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`ref: bad access size ${size}`);
  const last = (acc.va + BigInt(size) - 1n) & U64;
  // Vol. 1 §3.3.7.1 / §4.5: a non-canonical byte in the access gives #GP(0), not #PF.
  if (!refIsCanonical(acc.va, st.la57) || !refIsCanonical(last, st.la57)) {
    return { result: { kind: 'gp', errorCode: 0 }, why: 'non-canonical', setA: [], setD: [] };
  }
  const setA: bigint[] = [];
  const setD: bigint[] = [];
  let first: { pa: bigint; pageSize: '4k' | '2m' | '1g' } | null = null;
  for (const va of pagesTouched(acc.va, size)) {
    // §4.6: an access spanning pages is checked on each page; CR2 names the page that faults.
    const o = translatePage(read64, st, acc, va);
    if (o.kind === 'pf') return { result: { kind: 'pf', errorCode: o.errorCode, cr2: va }, why: o.why, setA: [], setD: [] };
    for (const u of o.used) if (!setA.includes(u.pa)) setA.push(u.pa); // §4.8: A in each entry used
    const leaf = o.used[o.used.length - 1];
    if (acc.kind === 'write' && leaf !== undefined) setD.push(leaf.pa); // §4.8: D in the leaf
    if (first === null) first = { pa: o.pa, pageSize: o.pageSize };
  }
  if (first === null) throw new Error('ref: access touched no page');
  const result: RefResult = { kind: 'ok', pa: first.pa, pageSize: first.pageSize, setA: [...setA], setD: setD[0] ?? null };
  return { result, why: 'ok', setA, setD };
}

/** The translation alone: a pure function of memory, state and access. */
export function refTranslate(read64: (pa: bigint) => bigint, st: RefState, acc: RefAccess): RefResult {
  return refTranslateWithEffects(read64, st, acc).result;
}

/** §4.8: commit the A and D flags of a successful access (bit 5 = A, bit 6 = D). */
export function refCommit(mem: { read64(pa: bigint): bigint; write64(pa: bigint, v: bigint): void }, fx: RefEffects): void {
  for (const pa of fx.setA) mem.write64(pa, mem.read64(pa) | (1n << 5n));
  for (const pa of fx.setD) mem.write64(pa, mem.read64(pa) | (1n << 6n));
}
