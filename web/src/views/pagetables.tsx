// The page-table tree under CR3, drawn with d3-hierarchy's tidy-tree layout: one node per
// non-zero entry, the current access's walk numbered level by level, the entry the walk stopped
// at (even an empty one) marked, the last PTE the kernel wrote marked, and every entry decoded
// bit by bit on click.

import { hierarchy, tree } from 'd3-hierarchy';
import { useState } from 'preact/hooks';
import { PTE_BITS } from '../../../src/hw/pte.js';
import type { Level } from '../../../src/trace/events.js';
import type { Derived } from '../model/derive.js';
import type { PtEntry, PtTable } from '../model/machine-state.js';

interface TNode {
  id: string;
  label: string;
  sub: string;
  kind: 'root' | 'entry' | 'missing' | 'more';
  entry?: PtEntry;
  children?: TNode[];
}

const LEVEL_LABEL: Record<Level, string> = { pml5: 'PML5', pml4: 'PML4', pdpt: 'PDPT', pd: 'PD', pt: 'PT' };
const hex3 = (i: number) => `0x${i.toString(16).padStart(3, '0')}`;

function countEntries(t: PtTable | undefined): number {
  if (!t) return 0;
  return t.entries.reduce((n, e) => n + 1 + countEntries(e.child), 0);
}

function buildTree(root: PtTable, cr3: string, walkPa: Set<number>, missing: Map<number, PtEntry>, expandAll: boolean, toggled: Set<string>): TNode {
  const table = (t: PtTable, topUser: boolean, depth: number): TNode[] => {
    const out: TNode[] = [];
    const entries = [...t.entries];
    for (const [pa, e] of missing) if (Math.floor(pa / 4096) * 4096 === t.pa && !entries.some((x) => x.pa === pa)) entries.push(e);
    entries.sort((a, b) => a.index - b.index);
    for (const e of entries) {
      const id = `e${e.pa}`;
      const user = depth === 0 ? BigInt(e.va) < 0x800000000000n || (BigInt(e.va) < (1n << 56n) && root.level === 'pml5') : topUser;
      const onWalk = walkPa.has(e.pa);
      const n: TNode = {
        id, kind: missing.has(e.pa) && !t.entries.includes(e) ? 'missing' : 'entry', entry: e,
        label: `${LEVEL_LABEL[e.level]}[${hex3(e.index)}]`, sub: e.flags,
      };
      if (e.child) {
        const open = (expandAll || onWalk || user) !== toggled.has(id);
        if (open) n.children = table(e.child, user, depth + 1);
        else n.children = [{ id: `${id}-more`, kind: 'more', label: `+${countEntries(e.child)} entries`, sub: 'click to open' }];
      }
      out.push(n);
    }
    return out;
  };
  return { id: 'root', kind: 'root', label: `CR3 ${cr3}`, sub: `${LEVEL_LABEL[root.level]} @ 0x${root.pa.toString(16)}`, children: table(root, false, 0) };
}

export function PageTableTree(props: { root: PtTable | null; cr3: string; d: Derived; selected: PtEntry | null; onSelect: (e: PtEntry) => void }) {
  const [toggled, setToggled] = useState<Set<string>>(new Set());
  const { root, d } = props;
  if (!root) return <p class="na">CR3 points at no page table.</p>;
  const walkPa = new Map<number, number>();
  d.walk.forEach((w, i) => walkPa.set(Number(w.entryPa), i + 1));
  const missing = new Map<number, PtEntry>();
  for (const w of d.walk) {
    if (w.entry === '0x0') {
      const pa = Number(w.entryPa);
      missing.set(pa, { index: w.index, pa, lo: 0, hi: 0, raw: '0x0', flags: 'empty', va: d.access?.va ?? '', level: w.level, leaf: false });
    }
  }
  const total = countEntries(root);
  const data = buildTree(root, props.cr3, new Set(walkPa.keys()), missing, total <= 80, toggled);
  const h = hierarchy<TNode>(data);
  const rowH = 34;
  const colW = 190;
  tree<TNode>().nodeSize([rowH, colW])(h);
  let minX = Infinity;
  let maxX = -Infinity;
  h.each((n) => {
    minX = Math.min(minX, n.x!);
    maxX = Math.max(maxX, n.x!);
  });
  const width = (h.height + 1) * colW + 20;
  const height = maxX - minX + rowH + 10;
  // The walk of an implicit access (the IDT read, a push) made since, drawn dashed.
  const otherWalk = new Set(d.lastWalk.filter((w) => !walkPa.has(Number(w.entryPa))).map((w) => Number(w.entryPa)));
  const faultPa = d.walkFault ? Number(d.walk[d.walk.length - 1]?.entryPa ?? -1) : -1;
  const written = d.lastPte ? Number(d.lastPte.entryPa) : -1;
  const toggle = (id: string) => {
    const next = new Set(toggled);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setToggled(next);
  };
  return (
    <div class="pt-scroll">
      <svg class="pt-tree" width={width} height={height} viewBox={`-10 ${minX - rowH / 2} ${width} ${height}`} role="img" aria-label="page-table tree">
        {h.links().map((l) => (
          <path class={`pt-link${walkPa.has(l.target.data.entry?.pa ?? -1) ? ' on-walk' : ''}`} d={`M${l.source.y! + 150},${l.source.x} C${l.source.y! + 170},${l.source.x} ${l.target.y! - 20},${l.target.x} ${l.target.y},${l.target.x}`} />
        ))}
        {h.descendants().map((n) => {
          const e = n.data.entry;
          const order = e ? walkPa.get(e.pa) : undefined;
          const cls = ['pt-node', n.data.kind];
          if (order !== undefined) cls.push('on-walk');
          else if (e && otherWalk.has(e.pa)) cls.push('other-walk');
          if (e && e.pa === faultPa) cls.push('walk-fault');
          if (e && e.pa === written) cls.push('written');
          if (e && props.selected?.pa === e.pa) cls.push('selected');
          if (e?.leaf) cls.push('leaf');
          const click = () => {
            if (n.data.kind === 'more' && n.parent) toggle(n.parent.data.id);
            else if (e) {
              props.onSelect(e);
              if (n.data.children) toggle(n.data.id);
            }
          };
          return (
            <g class={cls.join(' ')} transform={`translate(${n.y},${n.x})`} onClick={click} data-pa={e ? `0x${e.pa.toString(16)}` : undefined}>
              <rect x={0} y={-13} width={150} height={26} rx={4} />
              <text x={6} y={-2} class="lbl">{n.data.label}{order !== undefined ? ` ${'①②③④⑤'[order - 1] ?? order}` : ''}</text>
              <text x={6} y={9} class="sub">{n.data.sub.length > 26 ? n.data.sub.slice(0, 25) + '…' : n.data.sub}</text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

interface BitField {
  name: string;
  hi: number;
  lo: number;
  doc: string;
}

function fieldsFor(level: Level, leaf: boolean): BitField[] {
  const doc = (n: string) => PTE_BITS.find((b) => b.name === n)?.doc ?? '';
  const large = leaf && level !== 'pt';
  const f: BitField[] = [
    { name: 'P', hi: 0, lo: 0, doc: doc('p') }, { name: 'R/W', hi: 1, lo: 1, doc: doc('rw') }, { name: 'U/S', hi: 2, lo: 2, doc: doc('us') },
    { name: 'PWT', hi: 3, lo: 3, doc: doc('pwt') }, { name: 'PCD', hi: 4, lo: 4, doc: doc('pcd') }, { name: 'A', hi: 5, lo: 5, doc: doc('a') },
    { name: 'D', hi: 6, lo: 6, doc: leaf ? doc('d') : 'ignored in a non-leaf entry' },
    { name: level === 'pt' ? 'PAT' : 'PS', hi: 7, lo: 7, doc: level === 'pt' ? 'page attribute table index bit' : doc('ps') },
    { name: 'G', hi: 8, lo: 8, doc: leaf ? doc('g') : 'ignored in a non-leaf entry' },
    { name: 'avail', hi: 11, lo: 9, doc: 'ignored by the CPU; free for software' },
  ];
  if (large) f.push({ name: 'PAT', hi: 12, lo: 12, doc: 'PAT bit of a large page' });
  const addrLo = large ? (level === 'pd' ? 21 : 30) : 12;
  if (large) f.push({ name: 'rsvd', hi: addrLo - 1, lo: 13, doc: 'reserved (must be 0) in a large-page entry' });
  f.push({ name: large ? 'frame' : leaf ? 'PFN' : 'table', hi: 51, lo: addrLo, doc: leaf ? 'physical address of the page' : 'physical address of the next table' });
  f.push({ name: 'avail', hi: 58, lo: 52, doc: 'ignored by the CPU; free for software' });
  f.push({ name: leaf ? 'PKEY' : 'avail', hi: 62, lo: 59, doc: leaf ? 'protection key (CR4.PKE)' : 'ignored in a non-leaf entry' });
  f.push({ name: 'XD', hi: 63, lo: 63, doc: doc('xd') });
  return f;
}

export function EntryBits(props: { e: PtEntry }) {
  const { e } = props;
  const v = BigInt(e.raw);
  const bit = (n: number) => Number((v >> BigInt(n)) & 1n);
  const fields = fieldsFor(e.level, e.leaf || e.level === 'pt');
  const value = (f: BitField) => (v >> BigInt(f.lo)) & ((1n << BigInt(f.hi - f.lo + 1)) - 1n);
  const row = (from: number) => Array.from({ length: 32 }, (_, i) => from - i);
  return (
    <div class="bits" data-entry={e.raw}>
      <p>
        <b>{LEVEL_LABEL[e.level]}[{hex3(e.index)}]</b> @ pa 0x{e.pa.toString(16)} = <code class="raw">{e.raw}</code> <span class="flags">{e.flags}</span>
      </p>
      {[63, 31].map((from) => (
        <div class="bitrow">
          {row(from).map((b) => (
            <span class={`bit b${bit(b)}`} title={`bit ${b}: ${fields.find((f) => f.lo <= b && b <= f.hi)?.name ?? ''}`}>
              <i>{b}</i>
              {bit(b)}
            </span>
          ))}
        </div>
      ))}
      <table class="fields">
        <thead><tr><th>bits</th><th>field</th><th>value</th><th>meaning</th></tr></thead>
        <tbody>
          {fields.map((f) => {
            const x = value(f);
            const shown = f.name === 'PFN' || f.name === 'table' || f.name === 'frame' ? `0x${(x << BigInt(f.lo)).toString(16)}` : f.hi === f.lo ? String(x) : `0x${x.toString(16)}`;
            return (
              <tr class={x !== 0n ? 'set' : ''} data-field={f.name}>
                <td>{f.hi === f.lo ? f.lo : `${f.hi}:${f.lo}`}</td><td>{f.name}</td><td>{shown}</td><td>{f.doc}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
