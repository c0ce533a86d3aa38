// The smaller views: call stack, TLB, stacks and saved frame, IDT, counters, registers.

import { explainPfError } from '../../../src/hw/pferr.js';
import type { Derived } from '../model/derive.js';
import { layoutFor } from '../model/frames.js';
import type { KernelView } from '../model/kernel-state.js';
import type { MachineView } from '../model/machine-state.js';
import { sourceRef } from '../model/source.js';
import { NotAvailable, Panel } from './util.js';

export function CallStack(props: { d: Derived; kernel: string; onJump: (at: number) => void }) {
  const { d, kernel } = props;
  const frames = [...d.stack].reverse();
  return (
    <Panel id="callstack" title="Call stack" sub={d.step ? `step ${d.step.n}: ${d.step.op}` : 'before the first step'}>
      {frames.length === 0 ? (
        <p class="na">{kernel === 'bare' && !d.exception ? 'No kernel function is running (the bare lab has no OS: the scenario drives the hardware).' : 'No kernel function is running at this event.'}</p>
      ) : (
        <ol class="frames">
          {frames.map((f, i) => {
            const ref = sourceRef(f.src, f.fn, kernel);
            return (
              <li class={i === 0 ? 'top' : ''} data-fn={f.fn}>
                <a href="#" class="fn" onClick={(ev) => { ev.preventDefault(); props.onJump(f.at); }}>#{i} {f.fn}</a>
                {f.args ? <span class="args">({Object.entries(f.args).map(([k, v]) => `${k}=${v}`).join(', ')})</span> : null}
                <div class="src">
                  {ref?.url ? <a href={ref.url} target="_blank" rel="noopener noreferrer" class="srclink">{ref.file}{ref.line ? `:${ref.line}` : ''}</a> : <span>{f.src}</span>}
                  {ref?.identUrl ? <a href={ref.identUrl} target="_blank" rel="noopener noreferrer" class="ident"> (find {ref.fn})</a> : null}
                  {ref?.version ? <span class="ver"> {ref.version}</span> : null}
                </div>
                {f.decisions.length ? <ul class="decisions">{f.decisions.map((x) => <li>{x.reason}{x.detail ? `: ${x.detail}` : ''}</li>)}</ul> : null}
              </li>
            );
          })}
        </ol>
      )}
      {d.logs.length ? <pre class="log">{d.logs.slice(-4).join('\n')}</pre> : null}
    </Panel>
  );
}

export function TlbView(props: { m: MachineView; d: Derived }) {
  const { m, d } = props;
  if (!m.tlb) return <Panel id="tlb" title="TLB"><p class="na">The TLB is off in this machine: every access walks.</p></Panel>;
  const page = d.access ? BigInt(d.access.va) >> 12n : null;
  const covers = (va: string, size: string) => page !== null && BigInt(va) >> 12n === (size === '4k' ? page : size === '2m' ? (page >> 9n) << 9n : (page >> 18n) << 18n);
  return (
    <Panel id="tlb" title="TLB" sub={m.tlb.geometry}>
      <p class="tlb-result">
        {d.tlbResult ? <span class={`badge ${d.tlbResult.what}`} data-tlb={d.tlbResult.what}>{d.tlbResult.what} {d.tlbResult.va}</span> : <span class="muted">no lookup in the current access</span>}
        <span class="muted"> hits {m.tlb.hits} · misses {m.tlb.misses} · fills {m.tlb.fills} · flushes {m.tlb.flushes}</span>
      </p>
      <table class="grid">
        <thead><tr><th>va</th><th>size</th><th>pcid</th><th>pa</th><th>rights</th><th>G</th><th>D</th></tr></thead>
        <tbody>
          {m.tlb.entries.map((e) => (
            <tr class={covers(e.va, e.size) ? 'hl' : ''}>
              <td>{e.va}</td><td>{e.size}</td><td>{e.pcid}</td><td>{e.pa}</td><td>{e.rights}{e.pkey ? ` pkey=${e.pkey}` : ''}</td><td>{e.global ? 'G' : ''}</td><td>{e.dirty ? 'D' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {d.flushes.length ? (
        <ul class="flushes">
          {d.flushes.slice(-5).map((f) => <li>flush ({f.cause}){f.va ? ` va=${f.va}` : ''}{f.pcid !== undefined ? ` pcid=${f.pcid}` : ''}: {f.entries} entries{f.keepGlobal ? ', globals kept' : ''}</li>)}
        </ul>
      ) : null}
    </Panel>
  );
}

const CPU_WORDS = ['SS', 'RSP', 'RFLAGS', 'CS', 'RIP'];

export function StackView(props: { m: MachineView; d: Derived; kernel: string }) {
  const { m, d, kernel } = props;
  const pushes = [...d.pushed].sort((a, b) => (BigInt(b.addr) > BigInt(a.addr) ? 1 : -1));
  const top = d.stackSwitch ? BigInt(d.stackSwitch.to) : pushes.length ? BigInt(pushes[0]!.addr) + 8n : 0n;
  // The saved frame: where the kernel's trace says it is (pt_regs events), else found from the
  // last saved SS (the CPU's push, or the entry code's copy into the PCB on XNU).
  const ss = [...d.pushed].reverse().find((p) => /(^|[\s.])ss$/i.test(p.what));
  const layout = layoutFor(kernel);
  const ec = d.pushed.find((p) => /error/i.test(p.what));
  return (
    <Panel id="stack" title="Stacks" sub={d.stackSwitch ? `${d.stackSwitch.why === 'ist' ? `IST${d.stackSwitch.ist}` : 'TSS.RSP0'}: ${d.stackSwitch.from} → ${d.stackSwitch.to}` : ''}>
      {pushes.length === 0 ? <p class="na">The CPU has pushed nothing in this step yet.</p> : (
        <table class="grid cpu-frame">
          <caption>pushed by the CPU ({CPU_WORDS.join(', ')}{ec ? ', error code' : ''}){d.deliverAt >= 0 && pushes.some((p) => p.at > d.deliverAt) ? ', then by the entry code' : ''}</caption>
          <thead><tr><th>address</th><th>top−</th><th>by</th><th>word</th><th>value</th></tr></thead>
          <tbody>
            {pushes.map((p) => {
              const cpu = d.deliverAt < 0 || p.at < d.deliverAt;
              return (
                <tr data-what={p.what} class={cpu ? 'cpu' : 'sw'}>
                  <td>{p.addr}</td><td>0x{(top - BigInt(p.addr)).toString(16)}</td><td>{cpu ? 'CPU' : 'entry'}</td><td>{p.what}</td><td class="val">{p.value}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {d.savedRegs ? (
        <table class="grid traced-regs" data-fn={d.savedRegs.fn}>
          <caption>{layout?.name ?? 'saved frame'} at {d.savedRegs.addr}, as {d.savedRegs.fn} left it (trace)</caption>
          <tbody>
            {Object.entries(d.savedRegs.regs).map(([k, v], i) => <tr data-field={k}><td>+0x{(i * 8).toString(16)}</td><td>{k}</td><td class="val">{v}</td></tr>)}
          </tbody>
        </table>
      ) : null}
      {ec && d.exception?.vector === 14 ? <p class="muted">error code {ec.value}: {explainPfError(Number(ec.value)).summary}</p> : null}
      {layout === null ? (
        <NotAvailable what="saved register frame (pt_regs / x86_saved_state64)" kernel={kernel} why="the bare lab's handler saves no registers" />
      ) : !ss && !d.savedRegs ? (
        <p class="na">{layout.name}: no exception frame on the stack yet.</p>
      ) : (
        <SavedFrame m={m} layout={layout} base={d.savedRegs ? BigInt(d.savedRegs.addr) : BigInt(ss!.addr) - BigInt(layout.ssOffset)} />
      )}
    </Panel>
  );
}

function SavedFrame(props: { m: MachineView; layout: NonNullable<ReturnType<typeof layoutFor>>; base: bigint }) {
  const { m, layout, base } = props;
  return (
    <table class="grid saved-frame" data-struct={layout.name}>
      <caption>{layout.name} at 0x{base.toString(16)} (read from memory)</caption>
      <thead><tr><th>offset</th><th>field</th><th>value</th></tr></thead>
      <tbody>
        {layout.fields.map((f) => {
          const word = m.peek(base + BigInt(f.off & ~7));
          const shift = BigInt((f.off & 7) * 8);
          const v = word === null ? null : (word >> shift) & ((1n << BigInt(f.size * 8)) - 1n);
          return <tr data-field={f.name}><td>+0x{f.off.toString(16)}</td><td>{f.name}</td><td class="val">{v === null ? 'unmapped' : `0x${v.toString(16)}`}</td></tr>;
        })}
      </tbody>
    </table>
  );
}

export function IdtView(props: { m: MachineView; d: Derived }) {
  const { m, d } = props;
  if (!m.idt) return <Panel id="idt" title="IDT"><p class="na">No IDT loaded.</p></Panel>;
  const taken = d.gate?.vector;
  const shown = m.idt.gates.filter((g) => g.vector < 32 || g.vector === taken);
  const t = m.idt.gates.find((g) => g.vector === taken);
  return (
    <Panel id="idt" title="IDT" sub={`IDTR.base ${m.idt.base}`}>
      {t ? (
        <div class="gate-taken" data-vector={t.vector}>
          <b>The fault took gate {t.vector} ({t.name})</b>: {t.type}, offset {t.offset}, selector 0x{t.selector.toString(16)}, IST {t.ist}{t.ist ? '' : ' (no IST: RSP0 on a privilege change)'}, DPL {t.dpl}, {t.present ? 'present' : 'not present'}
          <div class="muted">words {t.words.join(' ')}</div>
        </div>
      ) : <p class="muted">No gate taken in this step yet.</p>}
      <table class="grid">
        <thead><tr><th>vec</th><th>name</th><th>type</th><th>offset</th><th>sel</th><th>IST</th><th>DPL</th><th>P</th></tr></thead>
        <tbody>
          {shown.map((g) => (
            <tr class={g.vector === taken ? 'hl' : ''} data-vector={g.vector}>
              <td>{g.vector}</td><td>{g.name}</td><td>{g.type.replace('64-bit ', '')}</td><td>{g.offset}</td><td>0x{g.selector.toString(16)}</td><td>{g.ist}</td><td>{g.dpl}</td><td>{g.present ? '1' : '0'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

export function CountersView(props: { m: MachineView; d: Derived; k: KernelView; result?: Record<string, unknown> }) {
  const { m, d, k } = props;
  const rows: [string, string | number][] = Object.entries(d.counters);
  rows.push(['page walks (machine)', m.walks]);
  for (const [name, v] of Object.entries(k.counters)) rows.push([name, v]);
  if (props.result) for (const f of ['minflt', 'majflt']) if (props.result[f] !== undefined) rows.push([`step ${f}`, String(props.result[f])]);
  return (
    <Panel id="counters" title="Counters" sub="events so far">
      <table class="grid counters">
        <tbody>{rows.map(([n, v]) => <tr data-counter={n}><td>{n}</td><td class="val">{v}</td></tr>)}</tbody>
      </table>
    </Panel>
  );
}

export function RegistersView(props: { m: MachineView; d: Derived }) {
  const { m, d } = props;
  const order = ['rip', 'cs', 'rsp', 'ss', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'efer', 'pkru', 'idtr', 'gdtr', 'tr', 'gs_base', 'kernel_gs_base', 'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
  return (
    <Panel id="regs" title="Registers" sub={`CPL ${m.cpl}${m.la57 ? ', 5-level paging' : ''}${m.pcid ? `, PCID ${m.pcid}` : ''}`}>
      {d.exception ? (
        <p class="exc" data-vector={d.exception.vector}>
          <b>{d.exception.name}</b> vector {d.exception.vector}
          {d.exception.errorCode !== undefined ? ` error_code=0x${d.exception.errorCode.toString(16)}` : ''}
          {d.exception.cr2 ? ` cr2=${d.exception.cr2}` : ''}: {d.exception.reason}
        </p>
      ) : null}
      <table class="grid regs">
        <tbody>
          {order.map((r) => <tr data-reg={r}><td>{r}</td><td class="val">{m.regs[r]}</td></tr>)}
        </tbody>
      </table>
    </Panel>
  );
}
