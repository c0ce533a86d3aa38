// The host-kernel side of the Linux conformance suite (issue 3, "Checked against the real
// kernel"): compile probe.c with the host's gcc (once per source hash), run a step list on the real
// kernel, and parse what it recorded into typed records. The step format and every field are
// described in README.md and at the top of probe.c.
//
// No gcc means no conformance suite: compileProbe() throws, so CI fails instead of skipping.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const HOST_OPS = ['mmap', 'munmap', 'mprotect', 'madvise', 'mlock', 'munlock', 'mlockall', 'munlockall',
  'brk', 'read', 'write', 'exec', 'page', 'fork', 'proc', 'exit', 'file', 'drop_caches', 'pread'] as const;
export type HostOp = (typeof HOST_OPS)[number];

/** The signal a faulting access ended in: siginfo plus the ucontext's sigcontext fields. */
export interface HostSignal {
  signo: number;
  name: string;
  /** si_code: SEGV_MAPERR 1, SEGV_ACCERR 2, SI_KERNEL 0x80, ... */
  code: number;
  codeName: string;
  /** si_addr. */
  addr: bigint;
  /** REG_TRAPNO: 14 for #PF, 13 for #GP. Stale (the previous fault's) when the kernel skipped set_signal_archinfo. */
  trapno: number;
  /** REG_ERR: the #PF error code as the kernel reports it (sanitized, USER always set). */
  err: number;
  /** REG_CR2: thread.cr2, which only #PF signals update. */
  cr2: bigint;
}

/** /proc/self/pagemap for the step's page, after the step. */
export interface HostPage {
  /** Bit 63. True for a PROT_NONE (protnone) PTE too: pte_present() is P || PROTNONE. */
  present: boolean;
  swapped: boolean;
  /** Bit 61: a file page or shared anonymous (shmem) page. */
  file: boolean;
  /** Bit 56: the page is mapped exactly once. */
  exclusive: boolean;
  pfn: bigint | null;
  /** PFN by identity: 0 is the shared zero page, then 1, 2, ... by first appearance in the run. */
  pfnId: number | null;
  zero: boolean;
}

export type HostOutcome = 'ok' | 'fault' | 'error' | 'skipped';

export interface HostStepRecord {
  /** Index of the step in the list given to runOnHost. */
  step: number;
  line: string;
  /** The process that ran the step (`main`, or a name given to `fork`). */
  proc: string;
  op: HostOp;
  /** fault: an access ended in a signal (and was skipped); error: the syscall failed. */
  outcome: HostOutcome;
  errno?: string;
  /** The syscall's return value (mmap: the address; brk: the break). */
  ret?: bigint;
  /** The step's address, resolved (mmap: the mapping's start). */
  addr?: bigint;
  /** The value read or written. */
  value?: bigint;
  reason?: string;
  signal?: HostSignal;
  /** getrusage(RUSAGE_SELF) deltas across the step; null for fork, exit, proc and page. */
  minflt: number | null;
  majflt: number | null;
  page: HostPage | null;
}

export interface HostSetup {
  kernel: string;
  cpu: number;
  zeroPfn: bigint;
  brk0: bigint;
  aslr: boolean;
  thpSysfs: string;
  thpDisabled: boolean;
  probeBase: bigint;
  /** The directory of the probe's disk files (`file` steps), and its file system (ext4, xfs, btrfs, other); '' / '?' without files. */
  filesDir: string;
  filesFs: string;
}

export interface HostRun {
  setup: HostSetup;
  records: HostStepRecord[];
}

const CFLAGS = ['-std=c11', '-O1', '-Wall', '-Werror', '-static'];
const RUN_TIMEOUT_MS = 10_000;

function probeSourcePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/test/conformance/; probe.c stays in test/conformance/.
  const candidates = [join(here, 'probe.c'), join(here, '..', '..', '..', 'test', 'conformance', 'probe.c')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`conformance: probe.c not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Compile probe.c with the host's gcc into a temp dir, once per source hash; returns the binary. */
export function compileProbe(): string {
  const src = probeSourcePath();
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'faultline-probe');
  const bin = join(dir, `probe-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync('gcc', [...CFLAGS, '-o', tmp, src], { encoding: 'utf8' });
  if (cc.error && (cc.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('CONFORMANCE SUITE CANNOT RUN: gcc is not installed (or not on PATH). The Linux model is '
      + 'checked against the host kernel with C probes compiled by gcc; install gcc and the static C library '
      + '(Debian: apt-get install gcc libc6-dev). This is a failure, not a skip.');
  }
  if (cc.error) throw new Error(`conformance: running gcc failed: ${cc.error.message}`);
  if (cc.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`conformance: gcc ${CFLAGS.join(' ')} ${src} failed (status ${cc.status}):\n${cc.stderr}`);
  }
  renameSync(tmp, bin); // atomic: a concurrent run sees either no binary or a whole one
  return bin;
}

const hex = z.string().regex(/^0x[0-9a-f]+$/).transform((s) => BigInt(s));
const signalSchema = z.strictObject({
  signo: z.number().int(), name: z.string(), code: z.number().int(), code_name: z.string(),
  addr: hex, trapno: z.number().int(), err: z.number().int(), cr2: hex,
});
const pageSchema = z.strictObject({
  present: z.boolean(), swapped: z.boolean(), file: z.boolean(), exclusive: z.boolean(),
  pfn: hex.nullable(), pfn_id: z.number().int().nonnegative().nullable(), zero: z.boolean(),
});
const recordSchema = z.strictObject({
  step: z.number().int().nonnegative(), line: z.string(), proc: z.string(), op: z.enum(HOST_OPS),
  outcome: z.enum(['ok', 'fault', 'error', 'skipped']), errno: z.string().optional(), ret: hex.optional(),
  addr: hex.optional(), value: hex.optional(), reason: z.string().optional(), signal: signalSchema.optional(),
  minflt: z.number().int().nullable(), majflt: z.number().int().nullable(), page: pageSchema.nullable(),
});
const setupSchema = z.strictObject({
  setup: z.strictObject({
    kernel: z.string(), cpu: z.number().int(), zero_pfn: hex, brk0: hex, aslr: z.boolean(), thp_sysfs: z.string(),
    thp_disabled: z.boolean(), probe_base: hex, files_dir: z.string(), files_fs: z.string(),
  }),
});

function parseLine<T>(schema: z.ZodType<T>, line: string, n: number): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`conformance: probe output line ${n} is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new Error(`conformance: probe output line ${n} is malformed (${z.prettifyError(r.error)}): ${line.slice(0, 200)}`);
  }
  return r.data;
}

/** Parse the probe's stdout; `steps` is the input, to check that every step got exactly one record. */
export function parseProbeOutput(stdout: string, steps: readonly string[]): HostRun {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new Error('conformance: the probe printed nothing');
  const s = parseLine(setupSchema, lines[0]!, 1).setup;
  const setup: HostSetup = {
    kernel: s.kernel, cpu: s.cpu, zeroPfn: s.zero_pfn, brk0: s.brk0, aslr: s.aslr, thpSysfs: s.thp_sysfs,
    thpDisabled: s.thp_disabled, probeBase: s.probe_base, filesDir: s.files_dir, filesFs: s.files_fs,
  };
  const records = lines.slice(1).map((l, i) => toRecord(parseLine(recordSchema, l, i + 2)));
  const expected = steps.flatMap((t, i) => (isStepLine(t) ? [i] : []));
  const got = records.map((r) => r.step);
  if (got.join() !== expected.join()) {
    throw new Error(`conformance: the probe recorded steps [${got.join(', ')}], expected [${expected.join(', ')}]`);
  }
  return { setup, records };
}

function toRecord(r: z.infer<typeof recordSchema>): HostStepRecord {
  const rec: HostStepRecord = {
    step: r.step, line: r.line, proc: r.proc, op: r.op, outcome: r.outcome,
    minflt: r.minflt, majflt: r.majflt, page: r.page ? toPage(r.page) : null,
  };
  if (r.errno !== undefined) rec.errno = r.errno;
  if (r.ret !== undefined) rec.ret = r.ret;
  if (r.addr !== undefined) rec.addr = r.addr;
  if (r.value !== undefined) rec.value = r.value;
  if (r.reason !== undefined) rec.reason = r.reason;
  if (r.signal) rec.signal = toSignal(r.signal);
  return rec;
}

function toSignal(s: z.infer<typeof signalSchema>): HostSignal {
  return {
    signo: s.signo, name: s.name, code: s.code, codeName: s.code_name, addr: s.addr, trapno: s.trapno,
    err: s.err, cr2: s.cr2,
  };
}

function toPage(p: z.infer<typeof pageSchema>): HostPage {
  return {
    present: p.present, swapped: p.swapped, file: p.file, exclusive: p.exclusive, pfn: p.pfn, pfnId: p.pfn_id,
    zero: p.zero,
  };
}

const isStepLine = (t: string): boolean => t.trim() !== '' && !t.trim().startsWith('#');

/** Run the steps on the host kernel; the setup line too. */
export function runProbe(steps: readonly string[]): HostRun {
  const bad = steps.findIndex((t) => /[\n\r]/.test(t));
  if (bad >= 0) throw new Error(`conformance: step ${bad} contains a line break: ${JSON.stringify(steps[bad])}`);
  const bin = compileProbe();
  const r = spawnSync(bin, [], {
    input: steps.join('\n') + '\n', encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`conformance: running the probe failed: ${r.error.message}`);
  if (r.status !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    throw new Error(`conformance: the probe failed (${how}):\n${r.stderr.trim()}\nsteps:\n${steps.join('\n')}`);
  }
  return parseProbeOutput(r.stdout, steps);
}

/** Run the steps on the host kernel: one record per step line (blank and `#` lines get none). */
export function runOnHost(steps: readonly string[]): HostStepRecord[] {
  return runProbe(steps).records;
}
