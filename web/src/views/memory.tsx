// Address space (Linux VMAs, XNU vm_map entries with the red-black tree and object/shadow
// chains) and physical frames (who maps them, refcounts, the zero page).

import { hierarchy, tree } from 'd3-hierarchy';
import type { Derived } from '../model/derive.js';
import type { KernelView, RbNode } from '../model/kernel-state.js';
import type { MachineView, PtTable } from '../model/machine-state.js';
import { NotAvailable, Panel } from './util.js';

/** The fields of an object in a chain worth a glance. */
const CHAIN_KEYS = /^(id|ref_count|refcount|resident_page_count|vo_size|copy_strategy|shadowed|vo_shadow_offset|degree|num_children|num_active_vmas)$/;

export function AddressSpace(props: { k: KernelView; kernel: string; d: Derived }) {
  const { k, kernel, d } = props;
  const title = k.kind === 'xnu' ? 'Address space (vm_map entries)' : 'Address space (VMAs)';
  if (k.kind === 'bare') return <Panel id="aspace" title={title}><NotAvailable what="VMAs / vm_map entries" kernel={kernel} why="the bare lab has no OS and no address-space objects; the page tables are the whole story" /></Panel>;
  if (!k.vmaSource) return <Panel id="aspace" title={title}><NotAvailable what="VMAs / vm_map entries" kernel={kernel} why="the kernel model exposes none at this point" /></Panel>;
  const va = d.access ? BigInt(d.access.va) : null;
  return (
    <Panel id="aspace" title={title} sub={`from ${k.vmaSource}`} wide>
      <table class="grid vmas">
        <thead><tr><th>start</th><th>end</th><th>flags</th><th>{k.kind === 'xnu' ? 'object → shadow chain' : 'anon_vma / file'}</th><th>fields</th></tr></thead>
        <tbody>
          {k.vmas.map((v) => (
            <tr class={va !== null && BigInt(v.start) <= va && va < BigInt(v.end) ? 'hl' : ''} data-start={v.start}>
              <td>{v.start}</td><td>{v.end}</td><td>{v.flags}</td>
              <td class="small">{v.chain.length ? v.chain.map((c) => <div>{c.label}: {Object.entries(c.fields).filter(([a]) => CHAIN_KEYS.test(a)).map(([a, b]) => `${a}=${b}`).join(' ')}</div>) : 'none yet'}</td>
              <td class="small">{Object.entries(v.fields).slice(0, 6).map(([a, b]) => `${a}=${b}`).join(' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {k.kind === 'xnu' ? (k.rbTree ? <RbTreeSvg root={k.rbTree} /> : <p class="na">The red-black tree of this vm_map is not exposed by the model.</p>) : null}
    </Panel>
  );
}

function RbTreeSvg(props: { root: RbNode }) {
  type N = RbNode | { label: string; red: boolean; children: never[]; nil: true };
  const h = hierarchy<N>(props.root, (n) => ('nil' in n ? [] : n.children.some((c) => c) ? n.children.map((c) => c ?? { label: 'nil', red: false, children: [], nil: true as const }) : []));
  tree<N>().nodeSize([110, 50])(h);
  let minX = Infinity;
  let maxX = -Infinity;
  h.each((n) => { minX = Math.min(minX, n.x!); maxX = Math.max(maxX, n.x!); });
  const w = maxX - minX + 100;
  const ht = (h.height + 1) * 50 + 20;
  return (
    <svg class="rbtree" width={w} height={ht} viewBox={`${minX - 50} -20 ${w} ${ht}`} role="img" aria-label="vm_map red-black tree">
      {h.links().map((l) => <line x1={l.source.x} y1={l.source.y} x2={l.target.x} y2={l.target.y} class="rb-link" />)}
      {h.descendants().map((n) => (
        <g transform={`translate(${n.x},${n.y})`} class={`rb-node ${'nil' in n.data ? 'nil' : n.data.red ? 'red' : 'black'}`}>
          <circle r={'nil' in n.data ? 5 : 14} />
          {'nil' in n.data ? null : <text y={28} text-anchor="middle">{n.data.label}</text>}
        </g>
      ))}
    </svg>
  );
}

interface FrameRow {
  pfn: number;
  maps: string[];
  tables: boolean;
}

function collect(t: PtTable | undefined | null, rows: Map<number, FrameRow>): void {
  if (!t) return;
  const at = (pfn: number) => rows.get(pfn) ?? (rows.set(pfn, { pfn, maps: [], tables: false }), rows.get(pfn)!);
  at(Math.floor(t.pa / 4096)).tables = true;
  for (const e of t.entries) {
    if (e.leaf) at(Math.floor(((e.lo & 0xfffff000) >>> 0) / 4096) + (e.hi & 0xfffff) * 2 ** 20).maps.push(`${e.va} (${e.level === 'pt' ? '4k' : e.level === 'pd' ? '2m' : '1g'}, ${e.flags})`);
    collect(e.child, rows);
  }
}

export function FramesView(props: { m: MachineView; k: KernelView; d: Derived; kernel: string }) {
  const { m, k, d } = props;
  const rows = new Map<number, FrameRow>();
  if (k.roots.length) {
    // Every process's user mappings, so frames shared after fork show each sharer.
    for (const r of k.roots) {
      const per = new Map<number, FrameRow>();
      collect(m.tablesAt(r.cr3), per);
      for (const [pfn, row] of per) {
        const user = row.maps.filter((x) => BigInt(x.split(' ')[0]!) < 0x800000000000n).map((x) => `${r.name}: ${x}`);
        const to = rows.get(pfn) ?? (rows.set(pfn, { pfn, maps: [], tables: false }), rows.get(pfn)!);
        to.maps.push(...user);
        to.tables ||= row.tables;
      }
    }
  } else collect(m.root, rows);
  // Frames the kernel allocated or freed so far show too, with why (a page table, a stack, …).
  const touched = new Set(d.frames.map((f) => Number(f.pfn)));
  const why = new Map(d.frames.map((f) => [Number(f.pfn), `${f.what === 'alloc' ? 'allocated' : 'freed'}: ${f.why}`]));
  for (const pfn of touched) if (!rows.has(pfn)) rows.set(pfn, { pfn, maps: [], tables: false });
  const list = [...rows.values()].sort((a, b) => a.pfn - b.pfn);
  const shown = list.filter((r) => r.maps.length > 0 || touched.has(r.pfn)).slice(0, 200);
  return (
    <Panel id="frames" title="Physical frames" sub={`${list.filter((r) => r.tables).length} page-table frames, ${list.filter((r) => r.maps.length).length} mapped frames (${k.roots.length ? `user pages of ${k.roots.length} process${k.roots.length > 1 ? 'es' : ''}` : 'under CR3'})${k.zeroPfn !== null ? `, zero page pfn 0x${k.zeroPfn.toString(16)}` : ''}`}>
      <table class="grid frames">
        <thead><tr><th>pfn</th><th>mapped at</th><th>struct page / vm_page</th></tr></thead>
        <tbody>
          {shown.map((r) => {
            const info = k.pageInfo(r.pfn);
            return (
              <tr class={r.pfn === k.zeroPfn ? 'zero' : ''} data-pfn={`0x${r.pfn.toString(16)}`}>
                <td>0x{r.pfn.toString(16)}{r.pfn === k.zeroPfn ? ' (zero page)' : ''}</td>
                <td class="small">{r.maps.join('; ') || (r.tables ? 'page table' : why.get(r.pfn) ?? '')}{r.maps.length > 1 ? ` — ${r.maps.length} mappings` : ''}</td>
                <td class="small">{info ? Object.entries(info).filter(([a]) => /count|flags|mapping|index|ref/i.test(a)).map(([a, b]) => `${a}=${b}`).join(' ') : k.kind === 'bare' ? 'no OS: no refcounts' : 'not available'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {d.frames.length ? <ul class="small">{d.frames.slice(-6).map((f) => <li>{f.what} pfn {f.pfn}: {f.why}</li>)}</ul> : null}
      {k.roots.length > 1 ? <p class="muted">processes: {k.roots.map((r) => `${r.name} cr3=0x${r.cr3.toString(16)}`).join(', ')}</p> : null}
    </Panel>
  );
}
