// `faultline run FILE… [--kernel K] [--format F] [--out F]`: run scenario files and print the
// trace and each step's result. Exit 0 when every `expect` held, 1 when one did not, 2 for bad
// input (a scenario error names file, line, column and field).

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { vectorMnemonic } from '../../hw/exceptions.js';
import { explainPfError } from '../../hw/pferr.js';
import { FORMATS, isFormat, renderPerfetto, renderText, type Format } from '../../render/index.js';
import { formatMismatches } from '../../workload/expect.js';
import type { StepResult } from '../../workload/result.js';
import { runScenario, type KernelRun } from '../../workload/runner.js';
import { ScenarioError } from '../../workload/scenario/errors.js';
import { loadScenarioFile } from '../../workload/scenario/parse.js';
import type { Scenario } from '../../workload/scenario/schema.js';
import { CliExit, EXIT_FAILURE, UsageError, examples, table, type Io } from '../io.js';

interface RunOpts {
  kernel?: string[];
  format: string;
  out?: string;
  trace: boolean;
  color?: boolean;
}

export function register(program: Command, io: Io): void {
  program
    .command('run')
    .summary('run scenario files and print the trace and the results')
    .description(
      'Run each scenario on its kernels (the scenario\'s `kernel:`, or --kernel) and print the trace ' +
        '(an ftrace function_graph-like listing by default) and one result per step. A step\'s ' +
        '`expect:` is checked; a mismatch is shown as a diff and the exit code is 1. Bad input exits 2.',
    )
    .argument('<FILE...>', 'scenario files (YAML or JSON)')
    .option('-k, --kernel <name...>', 'kernel(s) to run on, overriding the scenario (see `faultline kernels`)')
    .option('-f, --format <format>', `output format: ${FORMATS.join(', ')}`, 'text')
    .option('-o, --out <file>', 'write the output to a file instead of stdout')
    .option('--no-trace', 'print only the results (text format)')
    .option('--color', 'colour the text trace (default: when stdout is a terminal)')
    .addHelpText('after', examples([
      'run scenarios/bare-user-write.yaml',
      'run scenarios/*.yaml --format json --out results.json',
      'run scenarios/bare-user-write.yaml --format perfetto --out trace.json   # open in ui.perfetto.dev',
    ]))
    .action((files: string[], opts: RunOpts) => {
      if (!isFormat(opts.format)) throw new UsageError(`--format '${opts.format}' is not one of ${FORMATS.join(', ')}`);
      const scenarios = files.map(load);
      const kernels = opts.kernel?.flatMap((k) => k.split(',')).filter((k) => k !== '');
      const runs = scenarios.flatMap((s) => {
        try {
          return runScenario(s, { kernels, trace: opts.trace || opts.format !== 'text', readHostFile: hostFileReader(s.file) });
        } catch (e) {
          if (e instanceof ScenarioError) throw new UsageError(e.format());
          throw e;
        }
      });
      const text = render(runs, opts.format, opts.color ?? (io.isTTY === true && !opts.out));
      if (opts.out) writeOut(opts.out, text);
      else io.out(text);
      const failed = runs.filter((r) => r.failed.length > 0);
      for (const r of failed) {
        for (const f of r.failed) {
          io.err(`${r.file}:${f.line}: step ${f.step} on ${r.kernel}: expectation failed\n${formatMismatches(f.mismatches, '  ')}\n`);
        }
      }
      if (failed.length > 0) throw new CliExit(EXIT_FAILURE);
    });
}

function load(file: string): Scenario {
  try {
    return loadScenarioFile(file);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.format());
    throw e;
  }
}

function writeOut(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`--out '${file}': cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function render(runs: KernelRun[], format: Format, color: boolean): string {
  switch (format) {
    case 'text':
      return runs.map((r) => renderRun(r, color)).join('\n');
    case 'json':
      return jsonText({ runs: runs.map(({ scenario, file, kernel, results, failed, events }) => ({ scenario, file, kernel, results, failed, events })) });
    case 'jsonl':
      return runs.map((r) => [
        ...r.events.map((e) => JSON.stringify(e)),
        ...r.results.map((x) => JSON.stringify({ ev: 'result', ...x })),
      ].join('\n') + '\n').join('');
    case 'perfetto':
      return renderPerfetto(runs.flatMap((r) => r.events));
  }
}

function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x), 2) + '\n';
}

/** One run as text: a header, the trace, then one line per step. */
export function renderRun(r: KernelRun, color = false): string {
  const head = `# faultline: ${r.scenario} on ${r.kernel} (${r.file})\n`;
  const trace = r.events.length > 0 ? renderText(r.events, { color }) + '\n' : '';
  const rows = [['step', 'op', 'outcome', 'detail'], ...r.results.map((x) => [String(x.step), x.op, x.outcome, detail(x)])];
  return head + trace + '# results\n' + table(rows, '  ');
}

/** The facts of a result that matter most, on one line. */
export function detail(x: StepResult): string {
  const parts: string[] = [];
  for (const f of x.faults ?? []) {
    const what = f.vector === 14 ? ` (${explainPfError(f.error_code).summary})` : '';
    parts.push(`${vectorMnemonic(f.vector)} error_code=0x${f.error_code.toString(16)}${f.vector === 14 ? ` cr2=${f.cr2}` : ''}${what}`);
  }
  if (x.value !== undefined) parts.push(`value=${x.value}`);
  if (x.pa !== undefined) parts.push(`pa=${x.pa}`);
  if (x.tlb !== undefined) parts.push(`tlb=${x.tlb}`);
  if (x.signal) parts.push(`${x.signal.name} code=${x.signal.code} addr=${x.signal.addr}`);
  if (x.errno) parts.push(`errno=${x.errno}`);
  if (x.message) parts.push(x.message);
  return parts.join(' ');
}


/** `file: {content: {host: PATH}}`: PATH relative to the scenario file's directory, at most 64 MiB. */
function hostFileReader(scenarioFile: string): (path: string) => Uint8Array {
  return (path) => {
    const full = resolve(dirname(scenarioFile), path);
    const st = statSync(full);
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    if (st.size > 64 << 20) throw new Error(`${path} is larger than 64 MiB`);
    return new Uint8Array(readFileSync(full));
  };
}
