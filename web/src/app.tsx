// The visualizer's page: scenario editor and examples on the left, step controls on top, and the
// views of the machine and the kernel at the current event. State lives here and flows down;
// every view only reads. Moving the cursor replays the scenario to that event (deterministic).

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { describeEvent } from '../../src/render/index.js';
import { depths, derive, move, type Move } from './model/derive.js';
import { EXAMPLES, SEED } from './model/examples.js';
import { explain } from './model/explain.js';
import { readKernel } from './model/kernel-state.js';
import { readMachine, type MachineView, type PtEntry, type PtTable } from './model/machine-state.js';
import type { KernelView } from './model/kernel-state.js';
import { availableKernels, fullRun, parse, plannedKernels, replay, scenarioKernels, type InputError, type Run } from './model/run.js';
import { Compare } from './views/compare.js';
import { Editor } from './views/editor.js';
import { AddressSpace, FramesView } from './views/memory.js';
import { EntryBits, PageTableTree } from './views/pagetables.js';
import { CallStack, CountersView, IdtView, RegistersView, StackView, TlbView } from './views/panels.js';
import { Guard, Panel } from './views/util.js';

declare global {
  interface Window {
    /** Timings for the end-to-end test: ms since navigation at first render, ms per cursor move. */
    __faultline?: { readyAt?: number; lastStepMs?: number; steps: number };
  }
}

type View = { ok: true; m: MachineView; k: KernelView; mismatch: boolean } | { ok: false; err: string };

const KEYS: Record<string, Move> = {
  ArrowRight: 'next', s: 'next', ArrowLeft: 'back', b: 'back', i: 'into', o: 'over', u: 'out',
  f: 'fault', n: 'nextStep', p: 'prevStep', e: 'end', End: 'end', Home: 'start', r: 'start',
};

const BUTTONS: [Move, string, string][] = [
  ['start', '|◀ restart', 'restart (Home, r)'],
  ['prevStep', '◀◀ prev step', 'previous scenario step (p)'],
  ['back', '◀ back', 'step back by replay (←, b)'],
  ['next', 'step ▶', 'next event (→, s)'],
  ['into', 'into', 'step into: next function entered or left (i)'],
  ['over', 'over', 'step over nested calls (o)'],
  ['out', 'out', 'step out of the current function (u)'],
  ['nextStep', 'next step ▶▶', 'next scenario step (n)'],
  ['fault', 'to fault', 'run to the next fault (f)'],
  ['end', 'end ▶|', 'run to the end (e, End)'],
];

export function App() {
  const [file, setFile] = useState(SEED.file);
  const [text, setText] = useState(SEED.text);
  const [kernelPick, setKernelPick] = useState<string | null>(null);
  const [comparePick, setComparePick] = useState<string | null>(null);
  const [cursor, setCursor] = useState(-1);
  const [selected, setSelected] = useState<PtEntry | null>(null);
  const t0 = useRef<number | null>(null);

  const parsed = useMemo(() => parse(text, file), [text, file]);
  const available = availableKernels();
  const kernels = useMemo(() => {
    if (!parsed.ok) return null;
    return scenarioKernels(parsed.scenario, kernelPick ? [kernelPick] : undefined);
  }, [parsed, kernelPick]);
  const primary = kernels?.ok ? kernels.kernels[0]! : null;
  const run = useMemo(() => (parsed.ok && primary ? fullRun(parsed.scenario, primary) : null), [parsed, primary]);
  const others = available.filter((k) => k !== primary && k !== 'bare' && primary !== 'bare');
  // Side by side: the kernel picked, else the scenario's next kernel (linux-seed names two).
  const listed = parsed.ok ? (parsed.scenario.kernel ?? []).filter((k) => others.includes(k)) : [];
  const compareWith = comparePick === '' ? null : comparePick ?? listed[0] ?? null;
  const cmpRun = useMemo(() => (parsed.ok && compareWith && others.includes(compareWith) ? fullRun(parsed.scenario, compareWith) : null), [parsed, compareWith, primary]);
  const error: InputError | null = !parsed.ok ? parsed.error : kernels && !kernels.ok ? kernels.error : run && !run.ok ? run.error : null;
  const r: Run | null = run?.ok ? run.run : null;
  const events = r?.events ?? [];
  const dep = useMemo(() => depths(events), [r]);
  const cur = Math.min(cursor, events.length - 1);

  useEffect(() => setCursor(-1), [r]);

  // Views already built for this run, so stepping back and forth over them costs no replay.
  const cache = useMemo(() => new Map<number, View>(), [r]);
  const view = useMemo((): View | null => {
    if (!r) return null;
    const hit = cache.get(cur);
    if (hit) return hit;
    let v: View;
    try {
      const rep = replay(r, cur);
      v = { ok: true, m: readMachine(rep.session.machine), k: readKernel(r.kernel, rep.state ?? rep.session), mismatch: cur >= 0 && rep.reached !== cur };
    } catch (e) {
      v = { ok: false, err: e instanceof Error ? e.message : String(e) };
    }
    if (cache.size >= 64) cache.delete(cache.keys().next().value!);
    cache.set(cur, v);
    return v;
  }, [r, cur]);
  const d = useMemo(() => derive(events, cur), [r, cur]);
  const bootCr3 = useMemo(() => {
    if (!r) return null;
    try {
      return readMachine(replay(r, -1).session.machine).regs.cr3 ?? null;
    } catch {
      return null;
    }
  }, [r]);
  const [tablesOf, setTablesOf] = useState<'access' | 'current' | string>('access');
  // Whose page tables to draw: by default those the current access walked (a kernel may have
  // switched CR3 since, as PTI and XNU's shadow CR3 do), else CR3 now, else a process's root.
  const tree = (() => {
    if (!view?.ok) return null;
    const now = view.m.regs.cr3!;
    const walked = d.access ? d.accessCr3 ?? bootCr3 ?? now : now;
    const pickRoot = view.k.roots.find((x) => x.name === tablesOf);
    const cr3 = tablesOf === 'current' ? now : pickRoot ? `0x${pickRoot.cr3.toString(16)}` : walked;
    return { cr3, now, walked, root: cr3 === now ? view.m.root : view.m.tablesAt(BigInt(cr3)) };
  })();

  // The key handler is registered once and reads the latest trace through this ref; the cursor
  // update is functional, so quick key presses never act on a stale cursor.
  const latest = useRef({ events, dep });
  latest.current = { events, dep };
  const go = (how: Move) => {
    t0.current = performance.now();
    setCursor((c) => {
      const { events: ev, dep: dp } = latest.current;
      return move(ev, dp, Math.min(c, ev.length - 1), how);
    });
  };
  const jump = (at: number) => {
    t0.current = performance.now();
    setCursor(at);
  };

  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      const tag = (ev.target as HTMLElement | null)?.tagName;
      if (tag === 'TEXTAREA' || tag === 'INPUT' || tag === 'SELECT' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const how = KEYS[ev.key];
      if (how) {
        ev.preventDefault();
        go(how);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const g = (window.__faultline ??= { steps: 0 });
    if (g.readyAt === undefined) g.readyAt = performance.now();
    if (t0.current !== null) {
      g.lastStepMs = performance.now() - t0.current;
      g.steps++;
      t0.current = null;
    }
  });

  // The entry whose bits are shown: the one clicked, else where the walk stopped, else the last PTE written.
  const walkEntry = (() => {
    if (!view?.ok) return null;
    const lastWalk = d.walk[d.walk.length - 1];
    const target = lastWalk ? Number(lastWalk.entryPa) : d.lastPte ? Number(d.lastPte.entryPa) : -1;
    if (target < 0) return null;
    const find = (t: PtTable | null | undefined): PtEntry | null => {
      if (!t) return null;
      for (const e of t.entries) {
        if (e.pa === target) return e;
        const x = find(e.child);
        if (x) return x;
      }
      return null;
    };
    const w = d.walk[d.walk.length - 1];
    return find(tree?.root) ?? (w ? { index: w.index, pa: target, lo: 0, hi: 0, raw: w.entry, flags: w.flags, va: d.access?.va ?? '', level: w.level, leaf: w.leaf } : null);
  })();
  const shownEntry = selected ?? walkEntry;

  const pick = (f: string) => {
    const ex = EXAMPLES.find((x) => x.file === f);
    if (!ex) return;
    setFile(ex.file);
    setText(ex.text);
    setKernelPick(null);
    setComparePick(null);
    setSelected(null);
  };

  // A file from the user's disk is read as text and parsed as data, like the examples.
  const openFile = (f: File | undefined) => {
    if (!f) return;
    if (f.size > 1024 * 1024) {
      setFile(f.name);
      setText(`# ${f.name} is too large (${f.size} bytes; the limit is 1 MiB)\n`);
      return;
    }
    void f.text().then((t) => {
      setFile(f.name);
      setText(t);
      setKernelPick(null);
      setComparePick(null);
      setSelected(null);
    });
  };

  const kernelChoices = parsed.ok ? [...new Set([...(parsed.scenario.kernel ?? ['bare']), ...available])] : available;
  const planned = plannedKernels();
  const result = r && d.step ? r.run.results[d.step.n - 1] : undefined;
  const e = cur >= 0 ? events[cur] : undefined;

  return (
    <div class="app" data-cursor={cur} data-events={events.length} data-kernel={primary ?? ''}>
      <header>
        <h1>faultline</h1>
        <label>
          example{' '}
          <select id="example" value={file} onChange={(ev) => pick((ev.currentTarget as HTMLSelectElement).value)}>
            {EXAMPLES.some((x) => x.file === file) ? null : <option value={file}>{file} (opened)</option>}
            {EXAMPLES.map((x) => <option value={x.file}>{x.file.replace('scenarios/', '')}</option>)}
          </select>
        </label>
        <label>
          kernel{' '}
          <select id="kernel" value={primary ?? ''} onChange={(ev) => { setKernelPick((ev.currentTarget as HTMLSelectElement).value); setSelected(null); }}>
            {kernelChoices.map((k) => <option value={k} disabled={!available.includes(k)}>{k}{available.includes(k) ? '' : planned[k] ? ' (not in this build)' : ''}</option>)}
          </select>
        </label>
        <label class="open" title="open a scenario file (YAML or JSON; read as text, never run)">
          open…{' '}
          <input id="open-file" type="file" accept=".yaml,.yml,.json,text/yaml,application/json" onChange={(ev) => openFile((ev.currentTarget as HTMLInputElement).files?.[0])} />
        </label>
        <span class="title">{parsed.ok ? parsed.scenario.name : 'scenario has an error'}</span>
        <span class="keys muted">keys: → step · ← back · i into · o over · u out · f fault · n/p step · e end · Home restart · Esc leaves the editor</span>
      </header>
      <div class="controls" role="toolbar" aria-label="step controls">
        {BUTTONS.map(([how, label, title]) => (
          <button id={`btn-${how}`} title={title} disabled={!r} onClick={() => go(how)}>{label}</button>
        ))}
        <span class="pos" id="position">
          {r ? `event ${cur + 1} / ${events.length}` : ''}{d.step ? ` · step ${d.step.n} (${d.step.op}, line ${d.step.line ?? '?'})` : ''}
        </span>
        <span class="cur-event" id="current-event">{e ? describeEvent(e) : r ? 'before the first step (the machine has booted)' : ''}</span>
        {r ? <div class="explain" id="explain">{explain(e, r.kernel)}</div> : null}
      </div>
      <main>
        <aside>
          <Editor text={text} file={file} error={error} stepLine={d.step?.line} onChange={(t) => { setText(t); setSelected(null); }} />
          {r ? <Results run={r} cur={cur} onJump={jump} /> : null}
          {r ? <EventList events={events} dep={dep} cur={cur} onJump={jump} /> : null}
        </aside>
        <div class="views">
          {view && !view.ok ? <p class="error">The view could not be rebuilt: {view.err}</p> : null}
          {view?.ok && view.mismatch ? <p class="error">The replay did not reach this event: the views may not match the trace.</p> : null}
          {view?.ok ? (
            <>
              <Guard name="Call stack"><CallStack d={d} kernel={r!.kernel} onJump={jump} /></Guard>
              <Guard name="Page tables">
              <Panel id="pagetables" title="Page tables" sub={`CR3 ${tree!.cr3}${tree!.cr3 !== tree!.now ? ` (CR3 now ${tree!.now})` : ''}${d.access ? ` · access ${d.access.access} ${d.access.va}` : ''}${d.walkFault ? ` · walk stopped at ${d.walkFault.level.toUpperCase()}: ${d.walkFault.reason}` : d.walkOk ? ` · pa ${d.walkOk.pa}` : ''}`} wide>
                <label class="small">
                  tables of{' '}
                  <select id="tables-of" value={tablesOf} onChange={(ev) => setTablesOf((ev.currentTarget as HTMLSelectElement).value)}>
                    <option value="access">the current access (CR3 {tree!.walked})</option>
                    <option value="current">CR3 now ({tree!.now})</option>
                    {view.k.roots.map((x) => <option value={x.name}>{x.name}</option>)}
                  </select>
                </label>
                <PageTableTree root={tree!.root} cr3={tree!.cr3} d={tree!.cr3 === tree!.walked ? d : { ...d, walk: [], walkFault: null }} selected={shownEntry} onSelect={setSelected} />
                {shownEntry ? <EntryBits e={shownEntry} /> : <p class="muted">Click an entry to decode it bit by bit.</p>}
              </Panel>
              </Guard>
              <Guard name="Stacks"><StackView m={view.m} d={d} kernel={r!.kernel} /></Guard>
              <Guard name="IDT"><IdtView m={view.m} d={d} /></Guard>
              <Guard name="TLB"><TlbView m={view.m} d={d} /></Guard>
              <Guard name="Counters"><CountersView m={view.m} d={d} k={view.k} result={result as Record<string, unknown> | undefined} /></Guard>
              <Guard name="Address space"><AddressSpace k={view.k} kernel={r!.kernel} d={d} /></Guard>
              <Guard name="Physical frames"><FramesView m={view.m} k={view.k} d={d} kernel={r!.kernel} /></Guard>
              <Guard name="Registers"><RegistersView m={view.m} d={d} /></Guard>
              <Guard name="Side by side"><Compare runs={cmpRun?.ok ? [r!, cmpRun.run] : [r!]} step={d.step?.n ?? 1} others={others} picked={compareWith} error={cmpRun && !cmpRun.ok ? cmpRun.error.text : null} onPick={(k) => setComparePick(k)} /></Guard>
            </>
          ) : null}
        </div>
      </main>
    </div>
  );
}

function Results(props: { run: Run; cur: number; onJump: (at: number) => void }) {
  const failed = new Set(props.run.run.failed.map((f) => f.step));
  return (
    <table class="grid results" id="results">
      <thead><tr><th>#</th><th>op</th><th>outcome</th><th>detail</th></tr></thead>
      <tbody>
        {props.run.run.results.map((res, i) => {
          const at = props.run.stepStart[i] ?? 0;
          const next = props.run.stepStart[i + 1] ?? Infinity;
          return (
            <tr class={`${props.cur >= at && props.cur < next ? 'hl' : ''} ${failed.has(res.step) ? 'failed' : ''}`} onClick={() => props.onJump(at)} data-step={res.step}>
              <td>{res.step}</td><td>{res.op}</td><td class={`oc ${res.outcome}`}>{res.outcome}</td>
              <td class="small">
                {res.faults?.map((f) => `#${f.vector} ec=0x${f.error_code.toString(16)} cr2=${f.cr2}`).join(' ')}
                {res.signal ? ` ${res.signal.name}` : ''}{res.value ? ` value=${res.value}` : ''}{res.tlb ? ` tlb ${res.tlb}` : ''}
                {res.message ? ` ${res.message}` : ''}{failed.has(res.step) ? ' (expect failed)' : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function EventList(props: { events: Run['events']; dep: Int32Array; cur: number; onJump: (at: number) => void }) {
  const from = Math.max(0, props.cur - 12);
  const to = Math.min(props.events.length, from + 40);
  const rows = [];
  for (let i = from; i < to; i++) {
    const depth = i > 0 ? props.dep[i - 1]! : 0;
    rows.push(
      <li class={i === props.cur ? 'cur' : i > props.cur ? 'future' : ''} onClick={() => props.onJump(i)} style={{ paddingLeft: `${depth * 1.2 + 0.3}em` }}>
        <span class="seq">{i}</span> {describeEvent(props.events[i]!)}
      </li>,
    );
  }
  return <ol class="events" id="events" aria-label="trace events">{rows}</ol>;
}
