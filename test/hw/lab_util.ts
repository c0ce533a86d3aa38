// Shared set-up for the test/hw tests that drive the Machine through the bare lab: a booted lab
// with a MemorySink whose boot events are dropped, plus small helpers to read its state.

import assert from 'node:assert/strict';
import { BareLab, parseFlags } from '../../src/kernel/bare/lab.js';
import { Machine, type AccessResult, type MachineConfig } from '../../src/hw/machine.js';
import { MemorySink, type TraceEvent } from '../../src/trace/events.js';

export interface Rig {
  m: Machine;
  lab: BareLab;
  sink: MemorySink;
}

/** A booted lab; the boot's own trace events are discarded. */
export function rig(config: MachineConfig = {}): Rig {
  const sink = new MemorySink();
  const m = new Machine(config, sink);
  const lab = new BareLab(m);
  sink.events.length = 0;
  m.takeRaised();
  return { m, lab, sink };
}

/** Entry flags for lab.map: user pages, user tables, kernel pages, kernel tables. */
export const USER_RW = parseFlags(['p', 'rw', 'us']);
export const USER_RO = parseFlags(['p', 'us']);
export const KERN_RW = parseFlags(['p', 'rw']);
export const KERN_GLOBAL = parseFlags(['p', 'rw', 'g']);

/** Addresses the tests map: low user pages and a kernel direct-map-like page, data frames at 256 MiB. */
export const U1 = 0x0000_0000_1000_0000n;
export const U2 = 0x0000_0000_2000_0000n;
export const K1 = 0xffff_8880_0010_0000n;
export const DATA = 0x1000_0000n;

/** Events of kind `ev` emitted since the sink was last cleared. */
export function eventsOf<E extends TraceEvent['ev']>(sink: MemorySink, ev: E): Extract<TraceEvent, { ev: E }>[] {
  return sink.events.filter((e): e is Extract<TraceEvent, { ev: E }> => e.ev === ev);
}

/** Drop the collected events (call between the steps of a test). */
export function clear(sink: MemorySink): void {
  sink.events.length = 0;
}

/** Assert an access succeeded and return it. */
export function ok(r: AccessResult): Extract<AccessResult, { kind: 'ok' }> {
  assert.equal(r.kind, 'ok', `expected a successful access, got ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
  return r as Extract<AccessResult, { kind: 'ok' }>;
}

/** Assert an access faulted and return the fault. */
export function fault(r: AccessResult): Extract<AccessResult, { kind: 'fault' }>['fault'] {
  assert.equal(r.kind, 'fault', `expected a fault, got ${r.kind}`);
  return (r as Extract<AccessResult, { kind: 'fault' }>).fault;
}
