// Issue 3, "Measure": anonymous write faults/s and COW faults/s after fork, through the Linux
// model's whole fault path (linux-6.18, tracing off) and on the host kernel (bench/host/faults.c,
// built with gcc -O2 at run time), and the ratio model/host (target: at least 1.0).
//
// Both sides run the same workload: map PAGES private anonymous pages and write one byte to each
// (one do_anonymous_page fault per page); for COW, write every page first, fork, and time the
// child writing every page (one wp_page_copy fault each). Only the writes are timed; each side
// checks that every timed write took exactly one minor fault. The best of several runs is kept.
// run.ts runs each figure in its own process; the figures print {"name", "value", "unit"} lines,
// with "value": null and a "note" when a side is not available.

import { hostFaultsPerS, print, writeFaultRate, type Unavailable } from './common.js';

const MODEL = 'linux-6.18';
const HOST_PAGES = 16384;
const HOST_RUNS = 10;
// The model runs the host's workload: as many pages (in a 256 MiB machine, so they fit) and the
// best of as many runs.
const MODEL_PAGES = HOST_PAGES;
const MODEL_RUNS = HOST_RUNS;
const MODEL_MACHINE = '{ram: 256m}';

type Workload = 'anon' | 'cow';


// --- the host kernel ---------------------------------------------------------------------------

function hostRate(w: Workload): number | Unavailable {
  return hostFaultsPerS('faults', [w, String(HOST_PAGES), String(HOST_RUNS)]);
}

// --- the model -----------------------------------------------------------------------------------

function modelRate(w: Workload): number | Unavailable {
  return writeFaultRate(MODEL, { pages: MODEL_PAGES, runs: MODEL_RUNS, cow: w === 'cow', machine: MODEL_MACHINE }, (r, i) => {
    if (r.outcome !== 'ok' || r.minflt !== 1) throw new Error(`bench: model write ${i} did not take exactly one minor fault: ${JSON.stringify(r)}`);
  });
}

function figure(w: Workload, label: string): void {
  const model = modelRate(w);
  const host = hostRate(w);
  const unit = 'faults/s';
  print(`linux_${label}_faults_per_s`, typeof model === 'number' ? model : null, unit, typeof model === 'number' ? undefined : model.reason);
  print(`host_${label}_faults_per_s`, typeof host === 'number' ? host : null, unit, typeof host === 'number' ? undefined : host.reason);
  const ratio = typeof model === 'number' && typeof host === 'number' ? model / host : null;
  print(`linux_${label}_ratio_model_host`, ratio, 'ratio', ratio === null ? 'not available: needs both figures (target >= 1.0)' : undefined);
}

/** The figures run.ts runs, each in its own process. */
export const LINUX_FIGURES: Record<string, () => void> = {
  linux_anon_write_faults: () => figure('anon', 'anon_write'),
  linux_cow_faults: () => figure('cow', 'cow'),
};
