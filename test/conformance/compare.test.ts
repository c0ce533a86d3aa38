// Issue 3, "Checked against the real kernel": every scenario in scenarios/ runs on the host kernel
// (translated to probe steps) and on the Linux model (linux-6.18), and every fact both record must
// agree. The scenarios' `expect:` pins what the host does, so the same files document reality and
// are checked on the host on every run. Until the model is registered, its half says so; once it
// is, any disagreement fails with a table (scenario file:line, step, fact, host, model).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMismatches, matchExpect } from '../../src/workload/expect.js';
import { USER_BRK0, USER_RSP } from '../../src/kernel/linux/linux.js';
import { findKernel } from '../../src/workload/kernels.js';
import { runScenario } from '../../src/workload/runner.js';
import { parseScenario } from '../../src/workload/scenario/parse.js';
import type { Scenario } from '../../src/workload/scenario/schema.js';
import { compareRuns, formatTable, hostResult, unobservableOnHost } from './compare.js';
import { runProbe, type HostRun } from './host.js';
import { toProbe, type ProbeProgram } from './translate.js';

const MODEL = 'linux-6.18';
/** The names the model's Linux session binds before step 1 (src/workload/linux.ts). */
const MODEL_NAMES = new Map([['brk0', BigInt(USER_BRK0)], ['stack', USER_RSP]]);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, 'test', 'conformance', 'scenarios');

/** The checklist items of ../shared/reference/linux.md this suite must cover (issue 3; 16-21, 23, 25: issue 5's files). */
const REQUIRED = [2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 27, 28, 29, 30, 33, 34, 35, 36, 37, 38, 39, 40, 41, 45, 46, 52, 55];

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const loaded = files.map((f) => {
  const abs = join(DIR, f);
  try {
    return parseScenario(readFileSync(abs, 'utf8'), relative(ROOT, abs));
  } catch (e) {
    return { file: relative(ROOT, abs), error: e as Error };
  }
});
const scenarios = loaded.filter((s): s is Scenario => !('error' in s));

for (const bad of loaded.filter((s) => 'error' in s)) {
  test(`${bad.file}: parses`, () => assert.fail(bad.error.message));
}

/** `#12 #39` in a description: the checklist items the scenario shows. */
const itemsOf = (s: Scenario): number[] => [...(s.description ?? '').matchAll(/#(\d+)/g)].map((m) => Number(m[1]));

test('the suite: at least 30 scenarios, each naming its checklist items, together covering the required ones', () => {
  assert.ok(scenarios.length >= 30, `${scenarios.length} scenarios`);
  for (const s of scenarios) assert.ok(itemsOf(s).length > 0, `${s.file}: description names no checklist item (#N)`);
  const covered = new Set(scenarios.flatMap(itemsOf));
  assert.deepEqual(REQUIRED.filter((i) => !covered.has(i)), [], 'checklist items without a scenario');
});

const hostRuns = new Map<string, { program: ProbeProgram; run: HostRun }>();
function onHost(s: Scenario): { program: ProbeProgram; run: HostRun } {
  let r = hostRuns.get(s.file);
  if (!r) hostRuns.set(s.file, (r = { program: toProbe(s), run: runProbe(toProbe(s).lines) }));
  return r;
}

for (const s of scenarios) {
  describe(s.file, () => {
    test('host: the real kernel does what the scenario\'s expect says', () => {
      const { program, run } = onHost(s);
      const byLine = new Map(run.records.map((r) => [r.step, r]));
      const problems: string[] = [];
      s.steps.forEach((step, i) => {
        if (!step.expect) return;
        const where = `${s.file}:${step.line}: step ${i + 1} (${program.lines[program.lineOf[i]!]})`;
        const bad = unobservableOnHost(step.expect);
        if (bad.length) problems.push(`${where}: expect pins ${bad.join(', ')}, which the host probe cannot observe`);
        const r = byLine.get(program.lineOf[i]!);
        if (!r) return void problems.push(`${where}: no host record`);
        const mism = matchExpect(step.expect, hostResult(r, step)).filter((x) => !bad.some((b) => x.path.startsWith(b)));
        if (mism.length) problems.push(`${where}\n${formatMismatches(mism, '  ')}`);
      });
      assert.equal(problems.join('\n'), '', 'the host kernel disagrees with the scenario');
    });

    test(`model ${MODEL}: every fact agrees with the host`, () => {
      assert.ok(findKernel(MODEL), `the kernel ${MODEL} is not registered in src/workload/kernels.ts: nothing to compare`);
      const { program, run } = onHost(s);
      const [k] = runScenario(s, { kernels: [MODEL], trace: false });
      const rows = compareRuns({ scenario: s, program, host: run.records, model: k!.results, hostBrk0: run.setup.brk0,
        modelNames: MODEL_NAMES });
      assert.equal(rows.length, 0, `${rows.length} disagreement(s) between the host kernel and ${MODEL}:\n${formatTable(rows)}`);
    });
  });
}

// The host is 6.18. Linux 5.19 differs from it, in these scenarios, only by checklist #34: its
// mprotect leaves PTEs read-only, so the first write after mprotect(RW) takes a (reuse) fault.
const V519 = 'linux-5.19';
const V519_ONLY_34 = [
  'test/conformance/scenarios/mprotect-none.yaml:22 minflt 0 1',
  'test/conformance/scenarios/mprotect-readonly-then-rw.yaml:18 minflt 0 1',
  'test/conformance/scenarios/mprotect-split.yaml:23 minflt 0 1',
];

test(`model ${V519}: differs from the host (6.18) only where linux.md marks 6.x (#34)`, () => {
  assert.ok(findKernel(V519), `the kernel ${V519} is not registered in src/workload/kernels.ts`);
  const rows = scenarios.flatMap((s) => {
    const { program, run } = onHost(s);
    const [k] = runScenario(s, { kernels: [V519], trace: false });
    return compareRuns({ scenario: s, program, host: run.records, model: k!.results, hostBrk0: run.setup.brk0, modelNames: MODEL_NAMES });
  });
  assert.deepEqual(rows.map((r) => `${r.where} ${r.fact} ${r.host} ${r.model}`), V519_ONLY_34, formatTable(rows));
});
