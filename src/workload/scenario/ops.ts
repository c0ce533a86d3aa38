// The arguments of each scenario operation. Process operations are system calls and memory
// accesses that an OS kernel model carries out; machine operations drive the bare hardware
// (control registers, page-table entries, TLB maintenance) with no OS in between.
import * as z from 'zod';
import { describeValue } from './errors.js';
import { bad, bool, enumList, expr, int, leaf, name, oneOf, pteFlags, size, str, strict, u64, type Invalid, type PteFlagName } from './values.js';

/** `exit:` and `mov_cr3:` take no arguments; an empty value means "all defaults". */
const args = <S extends z.core.$ZodLooseShape>(shape: S) => z.preprocess((v) => (v === null ? {} : v), strict(shape));

export const PROTS = ['none', 'r', 'w', 'x', 'rw', 'rx', 'wx', 'rwx'] as const;
export const MMAP_FLAGS = ['private', 'shared', 'anonymous', 'fixed', 'fixed_noreplace', 'populate', 'growsdown', 'noreserve', 'locked', 'stack'] as const;
export const OPEN_MODES = ['r', 'w', 'rw'] as const;
/** madvise advice: Linux's names, then XNU's own (MADV_ZERO, MADV_FREE_REUSABLE, MADV_FREE_REUSE), which Linux rejects. */
export const ADVICE = ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'free', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork', 'cold', 'pageout', 'hugepage', 'nohugepage', 'zero', 'free_reusable', 'free_reuse'] as const;
export const ACCESS_SIZES = [1, 2, 4, 8] as const;
export const PKEY_RIGHTS = ['disable_access', 'disable_write'] as const;
export const LEVELS = ['pml5', 'pml4', 'pdpt', 'pd', 'pt'] as const;
export type AccessSize = (typeof ACCESS_SIZES)[number];

const range = { addr: expr(), length: size(1n) };
const accessSize = oneOf(ACCESS_SIZES);

// --- process operations -------------------------------------------------------------------

const mmap = args({
  as: name().optional(),
  addr: expr().optional(),
  length: size(1n),
  prot: oneOf(PROTS),
  flags: enumList(MMAP_FLAGS),
  file: str().optional(),
  offset: size(0n).optional(),
  /** With `file`: the access mode of the descriptor mmap is given (open(2) O_RDONLY/O_WRONLY/O_RDWR); default rw. */
  open: oneOf(OPEN_MODES).optional(),
});

/**
 * `file:` content: a string is a byte pattern (its UTF-8 bytes repeated to the file's size);
 * `{host: PATH}` copies a host file in (read by the command line; its size is the default size).
 */
export type FileContent = { pattern: string } | { host: string };
const fileContent = leaf('a string pattern or {host: PATH}', (v): FileContent | Invalid => {
  if (typeof v === 'string') return v.length > 0 ? { pattern: v } : bad('a content pattern must not be empty');
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const host = (v as Record<string, unknown>).host;
    if (keys.length === 1 && typeof host === 'string' && host !== '') return { host };
  }
  return bad(`expected a string pattern or {host: PATH}; got ${describeValue(v)}`);
});

// Files and the page cache (issue 5). Kernels: linux-5.19 and linux-6.18 run file, drop_caches
// and pread; the XNU model adds file and drop_caches (see src/kernel/xnu/README.md).
const FILE_OPS = {
  /** Create (or replace) a regular file named `as` of `size` bytes; without content it reads zeros. fs: disk (default) or tmpfs. */
  file: args({ as: name(), size: size(0n).optional(), content: fileContent.optional(), fs: oneOf(['disk', 'tmpfs']).optional() }).superRefine((f, ctx) => {
    if (f.size === undefined && (f.content === undefined || 'pattern' in f.content)) ctx.addIssue({ code: 'custom', message: 'file needs a size (only a {host: PATH} content gives one)', path: ['size'] });
  }),
  /** `echo 1 > /proc/sys/vm/drop_caches`: drop the clean, unmapped page-cache pages. */
  drop_caches: args({}),
  /** pread(2) of 1..8 bytes of a file (through the page cache, not a mapping); value as `read`. */
  pread: args({ file: name(), offset: size(0n).default(0n), size: accessSize.default(1) }),
};

const write = args({
  addr: expr(),
  size: accessSize.optional(),
  value: leaf('an integer or a string of 1..8 bytes', (v) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? v : bad(`expected an integer or a string of 1..8 bytes; got ${describeValue(v)}`)),
}).transform((w, ctx) => {
  const out = writeValue(w.value, w.size);
  if (typeof out === 'string') {
    ctx.addIssue({ code: 'custom', message: out, path: ['value'], input: w.value });
    return z.NEVER;
  }
  return { addr: w.addr, size: out.size, value: out.value };
});

/**
 * The bytes a `write` stores. A string is its UTF-8 bytes, little-endian as they sit in memory;
 * its size is the smallest access that holds them unless `size` says more. An integer must fit
 * the access, read as unsigned or as signed (a negative value is its two's complement).
 */
function writeValue(v: string | number | bigint, given: AccessSize | undefined): { size: AccessSize; value: bigint } | string {
  if (typeof v === 'string') {
    const bytes = new TextEncoder().encode(v);
    if (bytes.length < 1 || bytes.length > 8) return `a string value must be 1..8 bytes; got ${bytes.length}`;
    const need = ACCESS_SIZES.find((s) => s >= bytes.length)!;
    if (given !== undefined && given < bytes.length) return `the string is ${bytes.length} bytes but size is ${given}`;
    const value = bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
    return { size: given ?? need, value };
  }
  if (typeof v === 'number' && !Number.isSafeInteger(v)) return `expected an integer; got ${v}`;
  const s = given ?? 1;
  const n = BigInt(v);
  const bits = BigInt(s * 8);
  if (n >= 1n << bits || n < -(1n << (bits - 1n))) return `${describeValue(v)} does not fit in ${s} byte(s); set size`;
  return { size: s, value: BigInt.asUintN(s * 8, n) };
}

// Mach VM calls and BSD calls that only the XNU model runs (issue 4).
const VM_ALLOCATE_FLAGS = ['anywhere', 'fixed', 'overwrite', 'permanent', 'purgable'] as const;
export const INHERITANCES = ['share', 'copy', 'none'] as const;
const XNU_OPS = {
  mach_vm_allocate: args({ as: name().optional(), addr: expr().optional(), size: size(0n), flags: enumList(VM_ALLOCATE_FLAGS).default(['anywhere']) }),
  mach_vm_deallocate: args({ addr: expr(), size: size(0n) }),
  mach_vm_protect: args({ addr: expr(), size: size(0n), prot: oneOf(PROTS), set_max: bool().optional(), copy: bool().optional() }),
  minherit: args({ ...range, inherit: oneOf(INHERITANCES) }),
  getentropy: args({ addr: expr(), length: size(0n) }),
  mach_vm_read: args({ as: name().optional(), addr: expr(), size: size(1n) }),
  mach_vm_read_overwrite: args({ addr: expr(), size: size(0n), data: expr() }),
  /** vm_purgable_control(VM_PURGABLE_SET_STATE) with `state`, else GET_STATE; ret is the old state. */
  vm_purgable_control: args({ addr: expr(), state: oneOf(['nonvolatile', 'volatile'] as const).optional() }),
};

export const PROCESS_OPS = {
  mmap,
  munmap: args(range),
  mprotect: args({ ...range, prot: oneOf(PROTS) }),
  madvise: args({ ...range, advice: oneOf(ADVICE) }),
  mlock: args(range),
  munlock: args(range),
  brk: args({ addr: expr() }),
  fork: args({ as: name() }),
  exit: args({ code: int(0, 255).optional() }),
  read: args({ addr: expr(), size: accessSize.default(1) }),
  write,
  exec: args({ addr: expr() }),
  // Linux memory protection keys (pkey_alloc(2), pkey_mprotect(2), pkey_free(2), glibc's pkey_set = WRPKRU).
  pkey_alloc: args({ as: name().optional(), rights: enumList(PKEY_RIGHTS).default([]) }),
  pkey_free: args({ pkey: expr() }),
  pkey_mprotect: args({ ...range, prot: oneOf(PROTS), pkey: expr() }),
  pkey_set: args({ pkey: expr(), rights: enumList(PKEY_RIGHTS).default([]) }),
  ...XNU_OPS,
  ...FILE_OPS,
};

// --- machine operations -------------------------------------------------------------------

const MAP_FLAGS: PteFlagName[] = ['p', 'rw', 'us', 'pwt', 'pcd', 'g', 'xd', 'pkey'];
const PTE_FLAGS: PteFlagName[] = [...MAP_FLAGS, 'a', 'd', 'ps', 'bit'];

const PAGE_SIZES = { '4k': 4096, '2m': 2 << 20, '1g': 1 << 30 } as const;
export type PageSize = keyof typeof PAGE_SIZES;

/** `4k`, `2m`, `1g` (any case), or the same sizes in bytes. */
const pageSize = leaf('one of 4k, 2m, 1g', (v): PageSize | Invalid => {
  for (const [k, bytes] of Object.entries(PAGE_SIZES) as [PageSize, number][]) {
    if ((typeof v === 'string' && v.toLowerCase() === k) || v === bytes) return k;
  }
  return bad(`expected one of 4k, 2m, 1g; got ${describeValue(v)}`);
});

const CONTROL_BITS = ['cr0.wp', 'cr4.smep', 'cr4.smap', 'cr4.pke', 'cr4.la57', 'cr4.pcide', 'cr4.pge', 'efer.nxe', 'rflags.ac'] as const;

const set = args({
  ...fieldsOf(CONTROL_BITS, () => bool().optional()),
  pkru: int(0, 0xffffffff).optional(),
  cpl: oneOf([0, 3]).optional(),
}).superRefine(atLeastOne('set', [...CONTROL_BITS, 'pkru', 'cpl']));

const pte = args({
  va: expr(),
  level: oneOf(LEVELS),
  set: pteFlags(PTE_FLAGS).optional(),
  clear: pteFlags(PTE_FLAGS).optional(),
  raw: u64().optional(),
}).superRefine((p, ctx) => {
  if (p.raw !== undefined && (p.set || p.clear)) ctx.addIssue({ code: 'custom', message: 'raw replaces the whole entry; it cannot be combined with set or clear', path: ['raw'] });
  if (p.raw === undefined && !p.set && !p.clear) ctx.addIssue({ code: 'custom', message: 'pte needs at least one of set, clear, raw' });
  const cleared = new Set((p.clear ?? []).map((f) => ('value' in f ? `${f.name}=${f.value}` : f.name)));
  (p.set ?? []).forEach((f, i) => {
    const key = 'value' in f ? `${f.name}=${f.value}` : f.name;
    if (cleared.has(key)) ctx.addIssue({ code: 'custom', message: `${key} is both set and cleared`, path: ['set', i] });
  });
});

/** INVPCID types (SDM Vol. 2 INVPCID): 0 one address, 1 one PCID, 2 all + globals, 3 all but globals. */
const invpcid = args({ type: oneOf([0, 1, 2, 3]), pcid: int(0, 4095).optional(), va: expr().optional() }).superRefine((p, ctx) => {
  const needs: Record<number, ('pcid' | 'va')[]> = { 0: ['pcid', 'va'], 1: ['pcid'], 2: [], 3: [] };
  for (const field of ['pcid', 'va'] as const) {
    const needed = needs[p.type]!.includes(field);
    if (needed && p[field] === undefined) ctx.addIssue({ code: 'custom', message: `invpcid type ${p.type} needs ${field}` });
    if (!needed && p[field] !== undefined) ctx.addIssue({ code: 'custom', message: `invpcid type ${p.type} takes no ${field}`, path: [field] });
  }
});

const access = args({
  va: expr(),
  access: oneOf(['read', 'write', 'exec']),
  size: accessSize.default(1),
  cpl: oneOf([0, 3]).optional(),
  value: u64().optional(),
  implicit: bool().optional(),
}).superRefine((a, ctx) => {
  if (a.value !== undefined && a.access !== 'write') ctx.addIssue({ code: 'custom', message: `value is only for write accesses, not ${a.access}`, path: ['value'] });
});

const IST_SLOTS = ['ist1', 'ist2', 'ist3', 'ist4', 'ist5', 'ist6', 'ist7'] as const;
const tss = args({
  rsp0: expr().optional(),
  ...fieldsOf(IST_SLOTS, () => expr().optional()),
}).superRefine(atLeastOne('tss', ['rsp0', ...IST_SLOTS]));

export const MACHINE_OPS = {
  set,
  map: args({
    as: name().optional(),
    va: expr(),
    pa: expr().optional(),
    size: pageSize.default('4k'),
    flags: pteFlags(MAP_FLAGS),
    table_flags: pteFlags(MAP_FLAGS).optional(),
  }),
  pte,
  invlpg: args({ va: expr() }),
  invpcid,
  mov_cr3: args({ pcid: int(0, 4095).optional(), noflush: bool().optional() }),
  access,
  idt: args({
    vector: int(0, 255),
    present: bool().optional(),
    type: oneOf(['interrupt', 'trap']).optional(),
    dpl: int(0, 3).optional(),
    ist: int(0, 7).optional(),
    offset: expr().optional(),
  }),
  tss,
};

/** The same kind of field under several names. */
function fieldsOf<const K extends string, S>(keys: readonly K[], make: () => S): Record<K, S> {
  return Object.fromEntries(keys.map((k) => [k, make()])) as Record<K, S>;
}

/** A refinement: an operation whose fields are all optional still needs one of them. */
function atLeastOne(op: string, fields: readonly string[]) {
  return (v: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (!fields.some((f) => v[f] !== undefined)) ctx.addIssue({ code: 'custom', message: `${op} needs at least one of ${fields.join(', ')}` });
  };
}
