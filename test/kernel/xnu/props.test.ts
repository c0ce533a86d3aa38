// Property tests over random sequences of memory calls, accesses, forks and exits on xnu-11417:
// the map's tree and list agree and stay balanced, every object's ref_count is the number of
// entries and objects that point at it, no PTE points at a free frame, and the free count adds up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Machine } from '../../../src/hw/machine.js';
import { entriesOf } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import { rb_check } from '../../../src/kernel/xnu/osfmk/vm/vm_map_store_rb.js';
import type { VmObject } from '../../../src/kernel/xnu/osfmk/vm/vm_object.js';
import { VM_PAGE_ON_FREE_Q } from '../../../src/kernel/xnu/osfmk/vm/vm_page.js';
import { parseExpr } from '../../../src/workload/scenario/expr.js';
import { XnuSession } from '../../../src/workload/xnu.js';
import type { Step } from '../../../src/workload/scenario/schema.js';

const BASE = 0x108000000;
type Op =
  | { op: 'mmap'; page: number; pages: number; prot: 'r' | 'rw'; shared: boolean }
  | { op: 'munmap' | 'mprotect'; page: number; pages: number; prot: 'none' | 'r' | 'rw' }
  | { op: 'minherit'; page: number; pages: number; inherit: 'share' | 'copy' | 'none' }
  | { op: 'mlock' | 'munlock'; page: number; pages: number }
  | { op: 'read' | 'write'; page: number; proc: number }
  | { op: 'fork' } | { op: 'exit'; proc: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('mmap' as const), page: fc.integer({ min: 0, max: 15 }), pages: fc.integer({ min: 1, max: 4 }), prot: fc.constantFrom('r' as const, 'rw' as const), shared: fc.boolean() }),
  fc.record({ op: fc.constantFrom('munmap' as const, 'mprotect' as const), page: fc.integer({ min: 0, max: 15 }), pages: fc.integer({ min: 1, max: 4 }), prot: fc.constantFrom('none' as const, 'r' as const, 'rw' as const) }),
  fc.record({ op: fc.constant('minherit' as const), page: fc.integer({ min: 0, max: 15 }), pages: fc.integer({ min: 1, max: 4 }), inherit: fc.constantFrom('share' as const, 'copy' as const, 'none' as const) }),
  fc.record({ op: fc.constantFrom('read' as const, 'write' as const), page: fc.integer({ min: 0, max: 18 }), proc: fc.nat(3) }),
  fc.record({ op: fc.constantFrom('mlock' as const, 'munlock' as const), page: fc.integer({ min: 0, max: 15 }), pages: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('fork' as const) }),
  fc.record({ op: fc.constant('exit' as const), proc: fc.integer({ min: 1, max: 3 }) }),
);

function toStep(o: Op, procs: string[], n: number): Step | null {
  const addr = (p: number) => parseExpr(BASE + p * 4096);
  const base = { proc: 'main' } as Record<string, unknown>;
  switch (o.op) {
    case 'mmap': return { ...base, op: 'mmap', args: { addr: addr(o.page), length: BigInt(o.pages * 4096), prot: o.prot, flags: [o.shared ? 'shared' : 'private', 'anonymous', 'fixed'] } } as never;
    case 'munmap': return { ...base, op: 'munmap', args: { addr: addr(o.page), length: BigInt(o.pages * 4096) } } as never;
    case 'mprotect': return { ...base, op: 'mprotect', args: { addr: addr(o.page), length: BigInt(o.pages * 4096), prot: o.prot } } as never;
    case 'minherit': return { ...base, op: 'minherit', args: { addr: addr(o.page), length: BigInt(o.pages * 4096), inherit: o.inherit } } as never;
    case 'mlock': case 'munlock': return { ...base, op: o.op, args: { addr: addr(o.page), length: BigInt(o.pages * 4096) } } as never;
    case 'read': case 'write': {
      const proc = procs[o.proc % procs.length]!;
      return { proc, op: o.op, args: { addr: addr(o.page), size: 1, value: o.op === 'write' ? BigInt(n & 0xff) : undefined } } as never;
    }
    case 'fork': return procs.length < 4 ? ({ ...base, op: 'fork', args: { as: `p${n}` } } as never) : null;
    case 'exit': return procs.length > o.proc ? ({ proc: procs[o.proc]!, op: 'exit', args: {} } as never) : null;
  }
}

function checkInvariants(s: XnuSession): void {
  const k = s.k;
  const live = k.tasks.filter((t) => !t.proc.exited);
  const refs = new Map<VmObject, number>();
  const objects = new Set<VmObject>();
  const visit = (o: VmObject | null): void => {
    if (!o || objects.has(o)) return;
    objects.add(o);
    if (o.shadow) {
      refs.set(o.shadow, (refs.get(o.shadow) ?? 0) + 1);
      visit(o.shadow);
    }
    if (o.vo_copy) visit(o.vo_copy);
  };
  for (const t of live) {
    const inorder = rb_check(t.map.rb);
    const list = entriesOf(t.map);
    assert.deepEqual(inorder, list, 'tree order = list order');
    assert.equal(t.map.nentries, list.length);
    for (const e of list) {
      if (!e.object) continue;
      refs.set(e.object, (refs.get(e.object) ?? 0) + 1);
      visit(e.object);
    }
  }
  for (const o of objects) {
    assert.equal(o.ref_count, refs.get(o) ?? 0, `object#${o.id} ref_count`);
    assert.ok(o.alive);
    for (const [off, m] of o.memq) assert.deepEqual([m.vmp_object, m.vmp_offset], [o, off]);
    assert.equal(o.resident_page_count, o.memq.size);
  }
  for (const [pfn, pvs] of k.pvHead) {
    const m = k.pages.byPfn.get(pfn)!;
    assert.notEqual(m.vmp_q_state, VM_PAGE_ON_FREE_Q, `a PTE points at free frame ${pfn.toString(16)}`);
    assert.ok(m.tabled && m.vmp_object && objects.has(m.vmp_object), 'a mapped page belongs to a live object');
    for (const pv of pvs) assert.ok(live.some((t) => t.map.pmap === pv.pmap), 'mapped only in live pmaps');
  }
  const q = k.pages;
  assert.equal(q.vm_page_free_count, q.lastPfn - q.nextFresh + q.free.length);
  for (const t of live) {
    for (const e of entriesOf(t.map)) {
      assert.ok(e.wired_count === (e.user_wired_count > 0 ? 1 : 0), 'wired_count follows the user wiring');
      if (e.wired_count === 0 || !e.object || e.protection === 0) continue;
      for (let va = e.vme_start; va < e.vme_end; va += 4096) {
        const m = e.object.memq.get(va - e.vme_start + e.vme_offset);
        assert.ok(m && m.wire_count > 0, `a wired entry's page at ${va.toString(16)} is resident and wired`);
      }
    }
  }
}

test('random mmap/munmap/mprotect/minherit/read/write/fork/exit keep the VM consistent (trees, refcounts, PTEs, free count)', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
    const s = new XnuSession(new Machine(), { seed: 1, ram: 32 * 1024 * 1024 });
    const procs = ['main'];
    ops.forEach((o, n) => {
      const step = toStep(o, procs, n);
      if (!step) return;
      const r = s.run(step, { kernel: 'xnu-11417', step: n + 1, proc: step.proc, op: step.op });
      if (step.op === 'fork') procs.push((step.args as { as: string }).as);
      if (step.op === 'exit') procs.splice(procs.indexOf(step.proc), 1);
      if (r.outcome === 'signal' && s.k.tasks.find((t) => t.name === step.proc)?.proc.exited) procs.splice(procs.indexOf(step.proc), 1);
      assert.notEqual(r.outcome, 'killed', JSON.stringify(r));
      checkInvariants(s);
    });
  }), { numRuns: 60 });
});

test('COW isolation: after random writes in forked processes each reads back its own last write', () => {
  fc.assert(fc.property(fc.array(fc.record({ proc: fc.nat(2), page: fc.nat(3), v: fc.integer({ min: 1, max: 255 }) }), { maxLength: 30 }), (writes) => {
    const s = new XnuSession(new Machine(), { seed: 2 });
    const run = (step: Record<string, unknown>, n: number) => s.run(step as never, { kernel: 'xnu-11417', step: n, proc: step.proc as string, op: step.op as string });
    run({ proc: 'main', op: 'mmap', args: { addr: parseExpr(BASE), length: 16384n, prot: 'rw', flags: ['private', 'anonymous', 'fixed'] } }, 1);
    run({ proc: 'main', op: 'write', args: { addr: parseExpr(BASE), size: 1, value: 7n } }, 2);
    run({ proc: 'main', op: 'fork', args: { as: 'a' } }, 3);
    run({ proc: 'a', op: 'fork', args: { as: 'b' } }, 4);
    const procs = ['main', 'a', 'b'];
    const want = procs.map(() => [7, 0, 0, 0]);
    writes.forEach((w, i) => {
      run({ proc: procs[w.proc], op: 'write', args: { addr: parseExpr(BASE + w.page * 4096), size: 1, value: BigInt(w.v) } }, 5 + i);
      want[w.proc]![w.page] = w.v;
    });
    procs.forEach((p, pi) => {
      for (let page = 0; page < 4; page++) {
        const r = run({ proc: p, op: 'read', args: { addr: parseExpr(BASE + page * 4096), size: 1 } }, 100);
        assert.equal(Number(BigInt(r.value!)), want[pi]![page], `${p} page ${page}`);
      }
    });
    checkInvariants(s);
  }), { numRuns: 40 });
});
