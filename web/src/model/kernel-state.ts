// Kernel objects, read without importing the kernels (STYLE.md layering: web reads workload
// sessions, never kernel modules). A session is searched, read-only, for the shapes the real
// kernels use: Linux `vm_area_struct` (vm_start, vm_end, vm_flags), XNU `vm_map_entry`
// (vme_start/vme_end or links.start/links.end) with its red-black tree links and its VM object
// and shadow chain, counters (`vmstat`, `perf`, `min_flt`), the zero page. Every reader is
// tolerant: what it cannot find is reported as absent, and the view says "not available".

import { hex } from '../../../src/trace/events.js';
import { Machine } from '../../../src/hw/machine.js';

export interface ObjectLink {
  label: string;
  fields: Record<string, string>;
}

export interface VmaView {
  start: string;
  end: string;
  /** Flags as the kernel keeps them (decoded names where known). */
  flags: string;
  /** Other scalar fields worth showing (vm_pgoff, protection, max_protection, …). */
  fields: Record<string, string>;
  /** The object and its shadows (XNU), or anon_vma / file (Linux). */
  chain: ObjectLink[];
}

export interface RbNode {
  label: string;
  red: boolean;
  children: (RbNode | null)[];
}

export interface KernelView {
  kind: 'bare' | 'linux' | 'xnu' | 'unknown';
  /** Where the VMAs came from ("current->mm", "current_map()"), or null if none were found. */
  vmaSource: string | null;
  vmas: VmaView[];
  rbTree: RbNode | null;
  counters: Record<string, number>;
  zeroPfn: number | null;
  /** pfn -> refcount / mapcount, when the kernel keeps a struct page (or vm_page) table. */
  pageInfo: (pfn: number) => Record<string, string> | null;
  /** Extra page-table roots (other processes), by name. */
  roots: { name: string; cr3: bigint }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

function scalar(v: unknown): string | null {
  if (typeof v === 'bigint') return hex(v);
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) > 4095 ? hex(v) : String(v);
  if (typeof v === 'boolean' || typeof v === 'string') return String(v);
  if (v instanceof Set) return [...v].map(String).join('|');
  return null;
}

function num(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  return null;
}

/** Breadth-first search of an object graph for objects matching `pred` (bounded, cycle-safe). */
export function findObjects(root: unknown, pred: (o: Obj) => boolean, maxDepth = 7, limit = 20000): Obj[] {
  const seen = new Set<unknown>();
  const out: Obj[] = [];
  let frontier: unknown[] = [root];
  let visited = 0;
  for (let d = 0; d <= maxDepth && frontier.length; d++) {
    const next: unknown[] = [];
    for (const v of frontier) {
      if (!isObj(v) || seen.has(v) || v instanceof Machine || ArrayBuffer.isView(v)) continue;
      seen.add(v);
      if (++visited > limit) return out;
      if (pred(v)) out.push(v);
      const kids = v instanceof Map ? [...v.values()] : v instanceof Set ? [...v] : Array.isArray(v) ? v : Object.values(v);
      for (const k of kids) if (isObj(k)) next.push(k);
    }
    frontier = next;
  }
  return out;
}

function get(o: unknown, ...path: string[]): unknown {
  let v: unknown = o;
  for (const p of path) v = isObj(v) ? v[p] : undefined;
  return v;
}

const isLinuxVma = (o: Obj) => 'vm_start' in o && 'vm_end' in o;
const xnuStart = (o: Obj) => num(o['vme_start']) ?? num(get(o, 'links', 'start'));
const xnuEnd = (o: Obj) => num(o['vme_end']) ?? num(get(o, 'links', 'end'));
const isXnuEntry = (o: Obj) => o['isHeader'] !== true && (('vme_start' in o && 'vme_end' in o) || (isObj(o['links']) && 'start' in (o['links'] as Obj) && 'end' in (o['links'] as Obj) && !('hdr' in o)));

const VM_FLAG_NAMES: [bigint, string][] = [
  [0x1n, 'read'], [0x2n, 'write'], [0x4n, 'exec'], [0x8n, 'shared'], [0x10n, 'mayread'], [0x20n, 'maywrite'],
  [0x40n, 'mayexec'], [0x80n, 'mayshare'], [0x100n, 'growsdown'], [0x2000n, 'locked'], [0x4000n, 'io'],
  [0x20000n, 'dontcopy'], [0x40000n, 'dontexpand'], [0x100000n, 'account'], [0x200000n, 'noreserve'],
  [0x400000n, 'hugetlb'], [0x4000000n, 'wipeonfork'], [0x8000000n, 'dontdump'],
];

function linuxFlags(v: unknown): string {
  const n = num(v);
  if (n === null) return scalar(v) ?? '';
  const names = VM_FLAG_NAMES.filter(([b]) => (n & b) !== 0n).map(([, s]) => s);
  return `${hex(n)} ${names.join(' ')}`.trim();
}

function scalars(o: Obj, skip: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (skip.includes(k)) continue;
    const s = scalar(v);
    if (s !== null && s.length < 60) out[k] = s;
  }
  return out;
}

/** An XNU entry's VM object and the shadow chain behind it; Linux's anon_vma and file. */
function chainOf(o: Obj): ObjectLink[] {
  const out: ObjectLink[] = [];
  const first = o['vme_object'] ?? o['object'] ?? o['vm_object'] ?? get(o, 'vme_object', 'vmo_object');
  let cur: unknown = isObj(first) && isObj(first['vmo_object']) ? first['vmo_object'] : first;
  for (let i = 0; isObj(cur) && i < 16; i++) {
    out.push({ label: i === 0 ? 'object' : `shadow ${i}`, fields: scalars(cur, []) });
    cur = cur['shadow'];
  }
  for (const k of ['anon_vma', 'vm_file']) {
    const v = o[k];
    if (isObj(v)) out.push({ label: k, fields: scalars(v, []) });
  }
  return out;
}

function vmaViews(list: Obj[], linux: boolean): VmaView[] {
  const views = list.map((o): VmaView & { s: bigint } => {
    const s = linux ? num(o['vm_start']) ?? 0n : xnuStart(o) ?? 0n;
    const e = linux ? num(o['vm_end']) ?? 0n : xnuEnd(o) ?? 0n;
    return {
      s, start: hex(s), end: hex(e),
      flags: linux ? linuxFlags(o['vm_flags']) : ['protection', 'max_protection', 'inheritance'].map((k) => `${k}=${scalar(o[k]) ?? '?'}`).join(' '),
      fields: scalars(o, ['vm_start', 'vm_end', 'vm_flags', 'vme_start', 'vme_end', 'protection', 'max_protection', 'inheritance', 'rb_red', 'isHeader', 'vm_lock_readers', 'vm_lock_seq']),
      chain: chainOf(o),
    };
  });
  views.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  return views.map(({ s: _s, ...v }) => v);
}

const LEFT = ['rbe_left', 'left', 'rb_left'];
const RIGHT = ['rbe_right', 'right', 'rb_right'];
const COLOR = ['rbe_color', 'color', 'rb_color', 'rb_red', 'red'];

/** The red-black tree of a vm_map (rb_head_store / RB_ENTRY links), if the model keeps one. */
function rbTree(map: unknown, entries: Obj[]): RbNode | null {
  const rootObj = get(map, 'hdr', 'rb_head_store', 'rbh_root') ?? get(map, 'rb_head_store', 'rbh_root') ?? get(map, 'rb', 'root') ?? get(map, 'hdr', 'rb_root') ?? get(map, 'rb_root') ?? get(map, 'root');
  const linkOf = (o: Obj): Obj => (isObj(o['store']) ? (o['store'] as Obj) : isObj(o['rb']) ? (o['rb'] as Obj) : o);
  const pick = (o: Obj, keys: string[]): unknown => {
    const l = linkOf(o);
    for (const k of keys) if (k in l) return l[k];
    return undefined;
  };
  const hasLinks = (o: unknown) => isObj(o) && LEFT.some((k) => k in linkOf(o)) && RIGHT.some((k) => k in linkOf(o));
  let root: unknown = rootObj;
  if (!hasLinks(root)) root = entries.find((e) => hasLinks(e) && !isObj(pick(e, ['rbe_parent', 'parent', 'rb_parent'])));
  if (!hasLinks(root)) return null;
  const seen = new Set<unknown>();
  const build = (o: unknown, depth: number): RbNode | null => {
    if (!isObj(o) || seen.has(o) || depth > 40) return null;
    seen.add(o);
    const entry = entries.find((e) => e === o || linkOf(e) === o) ?? o;
    const s = xnuStart(entry);
    const c = pick(o, COLOR);
    const red = c === true || c === 1 || c === 'red' || c === 'RED';
    return { label: s === null ? '?' : hex(s), red, children: [build(pick(o, LEFT), depth + 1), build(pick(o, RIGHT), depth + 1)] };
  };
  return build(root, 0);
}

function counters(k: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (prefix: string, o: unknown) => {
    if (!isObj(o)) return;
    for (const [key, v] of Object.entries(o)) if (typeof v === 'number') out[`${prefix}${key}`] = v;
  };
  for (const name of ['vmstat', 'perf', 'vm_stat', 'vm_counters', 'counters', 'stats']) add(`${name}.`, get(k, name));
  const cur = get(k, 'current');
  for (const f of ['min_flt', 'maj_flt', 'faults', 'pageins', 'cow_faults']) {
    const v = get(cur, f);
    if (typeof v === 'number') out[`current.${f}`] = v;
  }
  return out;
}

/** Per-frame fields kept as typed arrays indexed by PFN (Linux's struct page side table). */
const PAGE_ARRAYS = ['refcount', 'mapcount', 'flags', 'anon_vma'];

function pageInfoOf(k: unknown): KernelView['pageInfo'] {
  const mm = get(k, 'memmap') ?? get(k, 'vm_pages') ?? get(k, 'pages');
  const pv = get(k, 'pvHead');
  return (pfn) => {
    const arrays = PAGE_ARRAYS.filter((f) => ArrayBuffer.isView(get(mm, f)));
    if (arrays.length) {
      const out: Record<string, string> = {};
      for (const f of arrays) out[f] = String((get(mm, f) as Int32Array)[pfn] ?? '');
      return out;
    }
    if (pv instanceof Map) {
      const list = pv.get(pfn);
      return Array.isArray(list) ? { pv_mappings: String(list.length) } : null;
    }
    let p: unknown;
    try {
      if (isObj(mm)) {
        for (const f of ['page', 'get', 'pfn_to_page', 'at', 'lookup']) {
          const fn = mm[f];
          if (typeof fn === 'function' && p === undefined) p = (fn as (n: number) => unknown).call(mm, pfn);
        }
        if (p === undefined && mm instanceof Map) p = mm.get(pfn);
        if (p === undefined && Array.isArray(get(mm, 'pages'))) p = (get(mm, 'pages') as unknown[])[pfn];
      }
    } catch {
      p = undefined;
    }
    return isObj(p) ? scalars(p, []) : null;
  };
}

/** The kernel context object inside a session: it has `current` and a machine, or `kernel`/`k`. */
function kernelOf(session: Obj): Obj | null {
  const found = findObjects(session, (o) => 'current' in o && ('machine' in o || 'm' in o || 'version' in o), 3, 2000);
  return found[0] ?? null;
}

export function readKernel(kernelName: string, session: unknown): KernelView {
  const kind: KernelView['kind'] = kernelName === 'bare' ? 'bare' : kernelName.startsWith('linux') ? 'linux' : kernelName.startsWith('xnu') ? 'xnu' : 'unknown';
  const empty: KernelView = { kind, vmaSource: null, vmas: [], rbTree: null, counters: {}, zeroPfn: null, pageInfo: () => null, roots: [] };
  if (kind === 'bare' || !isObj(session)) return empty;
  try {
    const k = kernelOf(session) ?? session;
    const cur = get(k, 'current');
    const linux = kind === 'linux';
    const space = linux ? get(cur, 'mm') : get(cur, 'map') ?? get(cur, 'task', 'map') ?? get(cur, 'vm_map');
    const from = isObj(space) ? space : k;
    const list = findObjects(from, linux ? isLinuxVma : isXnuEntry, 8);
    const zero = get(k, 'zero_pfn') ?? get(k, 'zeroPfn') ?? get(k, 'vm_page_zero_pfn');
    const roots: KernelView['roots'] = [];
    for (const t of findObjects(k, (o) => ('pid' in o || 'proc' in o) && ('mm' in o || 'map' in o), 4, 5000)) {
      // Linux keeps the PGD's PFN in the model's mm_struct; XNU's pmap keeps pm_cr3.
      const pgdPfn = num(get(t, 'mm', 'pgd'));
      const cr3 = pgdPfn !== null ? pgdPfn * 4096n : num(get(t, 'map', 'pmap', 'pml4') ?? get(t, 'map', 'pmap', 'pm_cr3'));
      if (cr3 !== null) roots.push({ name: `${scalar(t['name']) ?? scalar(t['comm']) ?? 'task'} (pid ${scalar(t['pid']) ?? scalar(get(t, 'proc', 'p_pid')) ?? '?'})`, cr3 });
    }
    return {
      kind,
      vmaSource: list.length ? (isObj(space) ? (linux ? 'current->mm' : 'current_map()') : 'kernel objects') : null,
      vmas: vmaViews(list, linux),
      rbTree: linux ? null : rbTree(space, list),
      counters: counters(k),
      zeroPfn: typeof zero === 'number' ? zero : null,
      pageInfo: pageInfoOf(k),
      roots,
    };
  } catch {
    return empty;
  }
}
