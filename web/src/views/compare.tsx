// The same scenario on two kernels, step by step: outcome, faults, signal, fault counts, and the
// kernel functions each one ran for the step being shown.

import type { TraceEvent } from '../../../src/trace/events.js';
import type { Run } from '../model/run.js';
import { Panel } from './util.js';

function callsOfStep(run: Run, step: number): { fn: string; depth: number }[] {
  const out: { fn: string; depth: number }[] = [];
  const from = run.stepStart[step - 1];
  if (from === undefined) return out;
  let depth = 0;
  for (let i = from + 1; i < run.events.length; i++) {
    const e: TraceEvent = run.events[i]!;
    if (e.ev === 'step') break;
    if (e.ev === 'enter') out.push({ fn: e.fn, depth: depth++ });
    if (e.ev === 'leave') depth = Math.max(0, depth - 1);
    if (out.length > 60) break;
  }
  return out;
}

export function Compare(props: { runs: Run[]; step: number; others: string[]; onPick: (k: string) => void; picked: string | null; error: string | null }) {
  const { runs, step } = props;
  return (
    <Panel id="compare" title="Side by side" sub={props.others.length ? '' : 'one kernel in this build'} wide>
      <label>
        compare with{' '}
        <select id="compare-kernel" value={props.picked ?? ''} onChange={(e) => props.onPick((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">(none)</option>
          {props.others.map((k) => <option value={k}>{k}</option>)}
        </select>
      </label>
      {props.error ? <p class="error">{props.picked}: {props.error}</p> : null}
      {props.others.length === 0 ? <p class="na">Only one kernel model in this build; Linux and XNU appear here as they land.</p> : null}
      <div class="cmp-cols">
        {runs.map((r) => {
          const res = r.run.results[step - 1];
          return (
            <div class="cmp-col" data-kernel={r.kernel}>
              <h3>{r.kernel}</h3>
              {res ? (
                <p>
                  step {res.step} {res.op}: <b>{res.outcome}</b>
                  {res.faults?.map((f) => ` #${f.vector} ec=0x${f.error_code.toString(16)} cr2=${f.cr2}`).join('')}
                  {res.signal ? ` ${res.signal.name} code=${res.signal.code} addr=${res.signal.addr}` : ''}
                  {res.minflt !== undefined ? ` minflt=${res.minflt}` : ''}{res.majflt !== undefined ? ` majflt=${res.majflt}` : ''}
                </p>
              ) : <p class="muted">no step yet</p>}
              <ul class="calls">{callsOfStep(r, step).map((c) => <li style={{ paddingLeft: `${c.depth}em` }}>{c.fn}</li>)}</ul>
            </div>
          );
        })}
      </div>
    </Panel>
  );
}
