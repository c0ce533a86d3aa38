// The model's only output: a typed stream of trace events (STYLE.md, "Trace events are the only
// output of the model"). Hardware and kernels emit; renderers (text, JSON, Perfetto, web) read.
//
// 64-bit values travel as `Hex` strings ("0x…") so that events are plain JSON, deterministic and
// exact (a double cannot hold a kernel address). Small numbers (vectors, levels, error codes)
// are numbers.

/** A 64-bit value formatted as lowercase hex with a 0x prefix. */
export type Hex = string;

export type AccessKind = 'read' | 'write' | 'exec';
export type Mode = 'user' | 'supervisor';
export type Level = 'pml5' | 'pml4' | 'pdpt' | 'pd' | 'pt';
export type PageSize = '4k' | '2m' | '1g';

/** Why a walk stopped without a translation (SDM Vol. 3 §4.6, §4.7). */
export type WalkFailure =
  | 'not-present'
  | 'reserved-bit'
  | 'user-access-to-supervisor-page'
  | 'write-to-read-only'
  | 'fetch-from-nx-page'
  | 'smep'
  | 'smap'
  | 'pkey-access-disabled'
  | 'pkey-write-disabled';

/** Why a TLB entry or the whole TLB was invalidated (SDM §4.10.4). */
export type FlushCause =
  | 'invlpg'
  | 'invpcid'
  | 'mov-cr3'
  | 'cr4'
  | 'page-fault'
  | 'replacement';

export type TraceEvent =
  // --- workload ----------------------------------------------------------------------------
  | { ev: 'step'; step: number; op: string; proc: string; kernel: string; line?: number }
  | { ev: 'step_end'; step: number; outcome: string }
  // --- the CPU: an access and its translation (SDM §4.5-§4.10) -----------------------------
  | { ev: 'access'; va: Hex; access: AccessKind; size: number; mode: Mode; implicit: boolean; cpl: number; what?: string }
  | { ev: 'access_done'; va: Hex; pa: Hex; value?: Hex }
  | { ev: 'tlb'; what: 'hit' | 'miss' | 'fill'; va: Hex; pcid: number; pageSize?: PageSize; pa?: Hex; global?: boolean }
  | { ev: 'tlb_flush'; cause: FlushCause; pcid?: number; va?: Hex; entries: number; keepGlobal?: boolean }
  | { ev: 'walk'; level: Level; index: number; entryPa: Hex; entry: Hex; flags: string; leaf: boolean }
  | { ev: 'walk_fault'; level: Level; reason: WalkFailure; errorCode: number }
  | { ev: 'walk_ok'; pa: Hex; pageSize: PageSize; rights: string; pkey: number }
  | { ev: 'ad_set'; level: Level; entryPa: Hex; bits: 'A' | 'D' | 'AD'; entry: Hex }
  // --- exceptions and their delivery (SDM ch. 6) -------------------------------------------
  | { ev: 'exception'; vector: number; name: string; errorCode?: number; cr2?: Hex; reason: string }
  | { ev: 'double_fault'; first: number; second: number }
  | { ev: 'shutdown'; reason: 'triple-fault'; vector: number }
  | { ev: 'gate'; vector: number; gateVa: Hex; offset: Hex; selector: number; ist: number; type: 'interrupt' | 'trap'; dpl: number }
  | { ev: 'stack_switch'; from: Hex; to: Hex; why: 'privilege' | 'ist'; ist?: number }
  | { ev: 'push'; addr: Hex; value: Hex; what: string }
  | { ev: 'pop'; addr: Hex; value: Hex; what: string }
  | { ev: 'deliver'; vector: number; rip: Hex; cs: number; rsp: Hex; cpl: number; ifCleared: boolean }
  | { ev: 'iret'; rip: Hex; cs: number; rflags: Hex; rsp: Hex; ss: number; cpl: number }
  | { ev: 'reg'; name: string; old: Hex; value: Hex }
  // --- kernels ------------------------------------------------------------------------------
  /** A kernel function (or asm label) entered; `src` is "file:function (version)". */
  | { ev: 'enter'; fn: string; src: string; args?: Record<string, string> }
  | { ev: 'leave'; fn: string; ret?: string }
  /** A guard or branch taken; `reason` comes from a string-literal union in the kernel code. */
  | { ev: 'decision'; fn: string; reason: string; detail?: string }
  /** A struct pt_regs frame as the entry code left it in memory: field -> value, in memory order. */
  | { ev: 'pt_regs'; fn: string; addr: Hex; regs: Record<string, Hex> }
  | { ev: 'pte_write'; level: Level; entryPa: Hex; old: Hex; value: Hex; flags: string; va?: Hex }
  | { ev: 'frame'; what: 'alloc' | 'free'; pfn: Hex; why: string }
  | { ev: 'signal'; pid: number; signo: number; name: string; code: number; codeName: string; addr: Hex; trapno?: number; err?: number }
  /** A kernel log line, as printk / os_log would print it (segfault lines, oopses). */
  | { ev: 'log'; text: string };

export type EventName = TraceEvent['ev'];

/** Where events go. `enabled` lets emitters skip building events when nobody listens. */
export interface TraceSink {
  readonly enabled: boolean;
  emit(e: TraceEvent): void;
}

/** Tracing off: the emitters test `enabled` and build nothing. */
export const nullSink: TraceSink = { enabled: false, emit() {} };

/** Keeps every event in memory, in order. */
export class MemorySink implements TraceSink {
  readonly enabled = true;
  readonly events: TraceEvent[] = [];
  emit(e: TraceEvent): void {
    this.events.push(e);
  }
}

/** Streams one JSON object per line to a writer (a file or stdout), for long runs. */
export class JsonlSink implements TraceSink {
  readonly enabled = true;
  constructor(private readonly write: (line: string) => void) {}
  emit(e: TraceEvent): void {
    this.write(JSON.stringify(e) + '\n');
  }
}

/** Sends each event to several sinks. */
export class TeeSink implements TraceSink {
  readonly enabled: boolean;
  constructor(private readonly sinks: TraceSink[]) {
    this.enabled = sinks.some((s) => s.enabled);
  }
  emit(e: TraceEvent): void {
    for (const s of this.sinks) if (s.enabled) s.emit(e);
  }
}

/** Format a 64-bit value (bigint, or a non-negative safe integer) as 0x-prefixed hex. */
export function hex(v: bigint | number, width = 0): Hex {
  const s = (typeof v === 'bigint' ? BigInt.asUintN(64, v) : v).toString(16);
  return '0x' + (width > s.length ? s.padStart(width, '0') : s);
}
