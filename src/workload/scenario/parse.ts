// Scenario text -> Scenario. The only exception this module throws for bad input is
// ScenarioError, positioned at the offending key or value (or, for a missing field, at the
// mapping that lacks it).
import { readFileSync, statSync } from 'node:fs';
import { ScenarioError, describeValue, type FieldPath, type SourceLoc } from './errors.js';
import { MAX_TEXT_CHARS, readYaml, type Locations } from './yaml.js';
import { issueTarget, scenarioSchema, type Scenario, type ScenarioData, type Step } from './schema.js';
import { errorMap } from './values.js';

export { ScenarioError } from './errors.js';

/** Parse scenario text (YAML, or JSON, which YAML 1.2 contains). `file` is used in messages. */
export function parseScenario(text: string, file: string): Scenario {
  const { data, locs } = readYaml(text, file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const what = data === null ? 'the file is empty' : `got ${describeValue(data)}`;
    throw new ScenarioError(locs.at([]), `a scenario is a mapping with name: and steps:; ${what}`);
  }
  const r = scenarioSchema.safeParse(data, { error: errorMap });
  if (!r.success) throw firstError(r.error.issues, locs);
  return withPositions(r.data, file, locs);
}

/** Read and parse a scenario file; an unreadable file is a ScenarioError without a position. */
export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readScenarioText(path), path);
}

function readScenarioText(path: string): string {
  const at: SourceLoc = { file: path, line: 0, col: 0, path: '' };
  try {
    // Check the size first so a huge file is refused without reading it.
    const st = statSync(path);
    if (st.isDirectory()) throw new ScenarioError(at, 'is a directory, not a scenario file');
    if (st.size > MAX_TEXT_CHARS) throw new ScenarioError(at, `file is too large (${st.size} bytes; the limit is 1 MiB)`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(at, `cannot read the scenario: ${fsReason(e)}`);
  }
}

function fsReason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a directory',
  };
  return typeof code === 'string' ? `${reasons[code] ?? 'read failed'} (${code})` : String(e);
}

/**
 * The issue to report: the first in the file, so fixing errors top to bottom works; but a
 * missing field only when nothing else is wrong, since a misspelt field (`lenght:`, which
 * comes with a "did you mean") also makes the real one missing.
 */
function firstError(issues: readonly Parameters<typeof issueTarget>[0][], locs: Locations): ScenarioError {
  let best: { err: ScenarioError; rank: number[] } | undefined;
  for (const iss of issues) {
    const { path, at } = issueTarget(iss);
    const err = new ScenarioError(locs.at(path, at), iss.message || 'invalid value');
    const rank = [locs.has(path) ? 0 : 1, err.line, err.col];
    if (!best || before(rank, best.rank)) best = { err, rank };
  }
  return best?.err ?? new ScenarioError(locs.at([]), 'invalid scenario');
}

function before(a: readonly number[], b: readonly number[]): boolean {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i >= 0 && a[i]! < b[i]!;
}

function withPositions(data: ScenarioData, file: string, locs: Locations): Scenario {
  const steps = data.steps.map((s, index): Step => {
    const base: FieldPath = ['steps', index];
    const { line, col } = locs.at(base);
    const loc = (field: string | readonly (string | number)[] = []): SourceLoc =>
      locs.at([...base, ...(typeof field === 'string' ? splitPath(field) : field)]);
    return { ...s, index, line, col, loc, argLoc: (field) => loc([s.op, ...(typeof field === 'string' ? splitPath(field) : field)]) };
  });
  return { ...data, file, steps, loc: (path) => locs.at(path) };
}

/** `mmap.addr`, `flags[1]` -> ['mmap', 'addr'], ['flags', 1]. */
function splitPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
