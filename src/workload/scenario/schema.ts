// The scenario language: a name, some machine settings and a list of steps. Each step is a
// mapping with exactly one operation key (`mmap:`, `access:`, …) plus `proc`, `expect`, `note`.
//
//   name: write to a read-only page
//   steps:
//     - mmap: {as: buf, length: 4k, prot: r, flags: [private, anonymous]}
//     - write: {addr: buf+8, value: 1}
//       expect: {outcome: signal, signal: {name: SIGSEGV}}
import * as z from 'zod';
import { expectSchema, type Expect } from '../expect.js';
import { unknownFieldMessage, type SourceLoc } from './errors.js';
import { MACHINE_OPS, PROCESS_OPS } from './ops.js';
import { bool, errorMap, int, leaf, bad, name, oneOf, size, str, strict, type IssueParams } from './values.js';
import { describeValue } from './errors.js';

export { MACHINE_OPS, PROCESS_OPS } from './ops.js';
export type { Expr } from './expr.js';
export type { PteFlag } from './values.js';
export type { PageSize, AccessSize } from './ops.js';
export type { Expect } from '../expect.js';

export const OPS = { ...PROCESS_OPS, ...MACHINE_OPS };
export type Op = keyof typeof OPS;
export type ProcessOp = keyof typeof PROCESS_OPS;
export type MachineOp = keyof typeof MACHINE_OPS;
export type OpArgs<K extends Op> = z.output<(typeof OPS)[K]>;

export type MmapArgs = OpArgs<'mmap'>;
export type RangeArgs = OpArgs<'munmap'>;
export type MprotectArgs = OpArgs<'mprotect'>;
export type MadviseArgs = OpArgs<'madvise'>;
export type BrkArgs = OpArgs<'brk'>;
export type ForkArgs = OpArgs<'fork'>;
export type ExitArgs = OpArgs<'exit'>;
export type ReadArgs = OpArgs<'read'>;
export type WriteArgs = OpArgs<'write'>;
export type ExecArgs = OpArgs<'exec'>;
export type SetArgs = OpArgs<'set'>;
export type MapArgs = OpArgs<'map'>;
export type PteArgs = OpArgs<'pte'>;
export type InvlpgArgs = OpArgs<'invlpg'>;
export type InvpcidArgs = OpArgs<'invpcid'>;
export type MovCr3Args = OpArgs<'mov_cr3'>;
export type AccessArgs = OpArgs<'access'>;
export type IdtArgs = OpArgs<'idt'>;
export type TssArgs = OpArgs<'tss'>;

export function isProcessOp(op: Op): op is ProcessOp {
  return Object.hasOwn(PROCESS_OPS, op);
}

/** A step as the schema produces it, before parse.ts adds its position. */
export type StepData = {
  [K in Op]: { op: K; args: OpArgs<K>; proc: string; expect?: Expect; note?: string };
}[Op];

/** A step with its place in the file, for the runner's messages. */
export type Step = StepData & {
  /** 0-based position in `steps`. */
  index: number;
  /** 1-based line and column of the step's first key. */
  line: number;
  col: number;
  /**
   * Where a field of this step is written, e.g. `loc('mmap.addr')` or `loc(['set', 'cr0.wp'])`
   * (relative to the step); an absent field gives its nearest written ancestor.
   */
  loc(field?: string | readonly (string | number)[]): SourceLoc;
  /** `loc` of a field of the operation's arguments: `argLoc('addr')` = `loc([op, 'addr'])`. */
  argLoc(field: string | readonly (string | number)[]): SourceLoc;
};

const STEP_FIELDS = ['proc', 'expect', 'note'] as const;
const stepFields = strict({ proc: name().default('main'), expect: expectSchema.optional(), note: str().optional() });

/** One step: find its single operation key, then check that operation's arguments. */
const step = z.unknown().transform((raw, ctx): StepData => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: `expected a mapping with one operation (${Object.keys(OPS).join(', ')}); got ${describeValue(raw)}` });
    return z.NEVER;
  }
  const keys = Object.keys(raw);
  const ops = keys.filter((k): k is Op => Object.hasOwn(OPS, k));
  const stray = keys.find((k) => !Object.hasOwn(OPS, k) && !(STEP_FIELDS as readonly string[]).includes(k));
  if (stray !== undefined) {
    return issue(ctx, [stray], unknownFieldMessage(stray, [...Object.keys(OPS), ...STEP_FIELDS]), 'key');
  }
  if (ops.length !== 1) {
    const message = ops.length === 0
      ? `a step needs one operation, one of: ${Object.keys(OPS).join(', ')}`
      : `a step has exactly one operation; this one has ${ops.join(', ')}`;
    return issue(ctx, ops.length === 0 ? [] : [ops[1]!], message, 'key');
  }
  const op = ops[0]!;
  const record = raw as Record<string, unknown>;
  const common = forward(ctx, [], stepFields.safeParse(Object.fromEntries(STEP_FIELDS.filter((f) => f in record).map((f) => [f, record[f]])), { error: errorMap }));
  const schema: z.ZodType = OPS[op];
  const args = forward(ctx, [op], schema.safeParse(record[op], { error: errorMap }));
  if (common === undefined || args === undefined) return z.NEVER;
  return { op, args, ...common } as StepData;
});

function issue(ctx: z.RefinementCtx, path: (string | number)[], message: string, at: IssueParams['at']): never {
  ctx.addIssue({ code: 'custom', message, path, params: { at } satisfies IssueParams });
  return z.NEVER;
}

/** Re-raise the issues of a nested parse under `prefix`, keeping where each should point. */
function forward<T>(ctx: z.RefinementCtx, prefix: (string | number)[], r: z.ZodSafeParseResult<T>): T | undefined {
  if (r.success) return r.data;
  for (const iss of r.error.issues) {
    const { path, at } = issueTarget(iss);
    ctx.addIssue({ code: 'custom', message: iss.message, path: [...prefix, ...path], params: { at } satisfies IssueParams });
  }
  return undefined;
}

/** The path an issue is about, and whether to point at that field's key or value. */
export function issueTarget(iss: z.core.$ZodIssue): { path: (string | number)[]; at: 'key' | 'value' } {
  const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (iss.code === 'unrecognized_keys') return { path: [...path, String(iss.keys[0])], at: 'key' };
  const at = iss.code === 'custom' ? (iss.params as IssueParams | undefined)?.at : undefined;
  return { path, at: at ?? 'value' };
}

/** `kernel: linux` or `kernel: [linux, xnu]`; which names exist is the runner's business. */
const kernels = leaf('a kernel name or a list of them', (v): string[] | ReturnType<typeof bad> => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length > 0 && list.every((k) => typeof k === 'string' && k !== '')) return list as string[];
  return bad(`expected a kernel name or a non-empty list of names; got ${describeValue(v)}`);
});

/** TLB geometry: sets must be a power of two, as the set index is a slice of address bits. */
const tlbSets = leaf('a power of two in 1..4096', (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096 && (v & (v - 1)) === 0 ? v : bad(`expected a power of two in 1..4096; got ${describeValue(v)}`));

const machine = strict({
  maxphyaddr: int(36, 52).default(46),
  tlb: strict({ sets: tlbSets.optional(), ways: int(1, 64).optional() }).optional(),
  ram: size(1n).optional(),
  /** Linux: the CPU has protection keys (PKU; CR4.PKE set at boot). Default false, like the host. */
  pku: bool().optional(),
  /** Linux: a swap area of this size (swapon); default none, like the host. */
  swap: size(8192n).optional(),
  /** Linux: /sys/kernel/mm/transparent_hugepage/enabled (default never; the host has madvise). */
  thp: oneOf(['always', 'madvise', 'never']).optional(),
  /** Linux: the first process's RLIMIT_STACK (default 8m). */
  rlimit: strict({ stack: size(4096n).optional() }).optional(),
  /** Linux: the stack_guard_gap= boot parameter, in pages (default 256). */
  stack_guard_gap: int(0, 1 << 20).optional(),
});

export const scenarioSchema = strict({
  name: str(),
  description: str().optional(),
  kernel: kernels.optional(),
  seed: int(0, Number.MAX_SAFE_INTEGER).default(0),
  signals: oneOf(['handle', 'default']).default('handle'),
  machine: machine.prefault({}),
  steps: z.array(step).min(1),
});

/** A parsed scenario; parse.ts adds the file name and the steps' positions. */
export type ScenarioData = z.output<typeof scenarioSchema>;
export type MachineConfig = ScenarioData['machine'];

export interface Scenario extends Omit<ScenarioData, 'steps'> {
  file: string;
  steps: Step[];
  /** Where a top-level field is written, e.g. `loc(['machine', 'swap'])` (parsed scenarios have it). */
  loc?(path: readonly (string | number)[]): SourceLoc;
}
