// Property test under memory pressure on xnu-11417: three processes sharing COW pages write at
// random on a 5 MiB machine whose memory is mostly wired, so the pageout daemon keeps compressing
// and the faults keep decompressing (checklist 35), shadows collapse with their compressor pagers
// (vm_object_collapse), and yet every process reads back its own last write, and the compressor's
// count of compressed pages equals the slots the objects' pagers hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Machine } from '../../../src/hw/machine.js';
import { entriesOf } from '../../../src/kernel/xnu/osfmk/vm/vm_map.js';
import type { VmObject } from '../../../src/kernel/xnu/osfmk/vm/vm_object.js';
import { parseExpr } from '../../../src/workload/scenario/expr.js';
import { XnuSession } from '../../../src/workload/xnu.js';

const BASE = 0x108000000;
const PAGES = 12;

function compressedSlots(s: XnuSession): number {
  const seen = new Set<VmObject>();
  let n = 0;
  for (const t of s.k.tasks) {
    if (t.proc.exited) continue;
    for (const e of entriesOf(t.map)) {
      for (let o = e.object; o !== null && !seen.has(o); o = o.shadow) {
        seen.add(o);
        if (o.pager?.kind === 'compressor') n += o.pager.slots.size;
      }
    }
  }
  return n;
}

test('COW isolation and compressor accounting hold under pressure (random writes in three processes)', () => {
  let pressured = 0;
  fc.assert(fc.property(fc.array(fc.record({ proc: fc.nat(2), page: fc.nat(PAGES - 1), v: fc.integer({ min: 1, max: 255 }) }), { minLength: 10, maxLength: 60 }), fc.boolean(), (writes, exitOne) => {
    const s = new XnuSession(new Machine(), { seed: 3, ram: 5 * 1024 * 1024 });
    let n = 0;
    const run = (step: Record<string, unknown>) => s.run(step as never, { kernel: 'xnu-11417', step: ++n, proc: step.proc as string, op: step.op as string });
    run({ proc: 'main', op: 'mmap', args: { addr: parseExpr(BASE), length: BigInt(PAGES * 4096), prot: 'rw', flags: ['private', 'anonymous', 'fixed'] } });
    for (let p = 0; p < PAGES; p++) run({ proc: 'main', op: 'write', args: { addr: parseExpr(BASE + p * 4096), size: 1, value: BigInt(p + 100) } });
    run({ proc: 'main', op: 'fork', args: { as: 'a' } });
    run({ proc: 'a', op: 'fork', args: { as: 'b' } });
    run({ proc: 'main', op: 'mmap', args: { addr: parseExpr(0x200000000), length: 840n * 1024n, prot: 'rw', flags: ['private', 'anonymous', 'fixed'] } });
    run({ proc: 'main', op: 'mlock', args: { addr: parseExpr(0x200000000), length: 840n * 1024n } });
    const procs = ['main', 'a', 'b'];
    const want = procs.map(() => Array.from({ length: PAGES }, (_, p) => p + 100));
    writes.forEach((w, i) => {
      if (exitOne && i === writes.length >> 1) run({ proc: 'b', op: 'exit', args: {} });
      if (exitOne && i >= writes.length >> 1 && w.proc === 2) return;
      const r = run({ proc: procs[w.proc], op: 'write', args: { addr: parseExpr(BASE + w.page * 4096), size: 1, value: BigInt(w.v) } });
      assert.equal(r.outcome, 'ok', JSON.stringify(r));
      want[w.proc]![w.page] = w.v;
      assert.equal(s.k.compressor?.c_segment_pages_compressed ?? 0, compressedSlots(s), 'every compressed page belongs to one slot');
    });
    procs.forEach((p, pi) => {
      if (exitOne && p === 'b') return;
      for (let page = 0; page < PAGES; page++) {
        const r = run({ proc: p, op: 'read', args: { addr: parseExpr(BASE + page * 4096), size: 1 } });
        assert.equal(Number(BigInt(r.value!)), want[pi]![page], `${p} page ${page}`);
      }
    });
    pressured += s.k.stats.compressions > 0 ? 1 : 0;
  }), { numRuns: 25 });
  assert.ok(pressured >= 20, `the pageout daemon compressed in ${pressured} of 25 runs`);
});

test('file pages under pressure: clean ones are reclaimed, dirty shared ones written back; shared reads see the last write, private ones their own or the snapshot', () => {
  let pressured = 0;
  fc.assert(fc.property(fc.array(fc.record({ shared: fc.boolean(), page: fc.nat(PAGES - 1), v: fc.integer({ min: 1, max: 255 }), read: fc.boolean() }), { minLength: 10, maxLength: 60 }), (ops) => {
    const s = new XnuSession(new Machine(), { seed: 4, ram: 5 * 1024 * 1024 });
    let n = 0;
    const run = (step: Record<string, unknown>) => s.run({ proc: 'main', ...step } as never, { kernel: 'xnu-11417', step: ++n, proc: 'main', op: step.op as string });
    run({ op: 'file', args: { as: 'f', size: BigInt(PAGES * 4096), content: { pattern: 'x' } } });
    run({ op: 'mmap', args: { addr: parseExpr(BASE), length: BigInt(PAGES * 4096), prot: 'rw', flags: ['shared', 'fixed'], file: 'f' } });
    run({ op: 'mmap', args: { addr: parseExpr(BASE + 0x100000), length: BigInt(PAGES * 4096), prot: 'rw', flags: ['private', 'fixed'], file: 'f' } });
    run({ op: 'mmap', args: { addr: parseExpr(0x200000000), length: 900n * 1024n, prot: 'rw', flags: ['private', 'anonymous', 'fixed'] } });
    run({ op: 'mlock', args: { addr: parseExpr(0x200000000), length: 900n * 1024n } });
    const file = Array.from({ length: PAGES }, () => 0x78);
    const priv: (number | null)[] = Array.from({ length: PAGES }, () => null);
    for (const o of ops) {
      const va = (o.shared ? BASE : BASE + 0x100000) + o.page * 4096;
      if (o.read) {
        const r = run({ op: 'read', args: { addr: parseExpr(va), size: 1 } });
        // the private mapping is a snapshot of the file at mmap time: a shared write first pushes the
        // old page into its COPY_DELAY copy object (§9 row 12)
        const want = o.shared ? file[o.page]! : priv[o.page] ?? 0x78;
        assert.equal(Number(BigInt(r.value!)), want, `${o.shared ? 'shared' : 'private'} page ${o.page}`);
      } else {
        const r = run({ op: 'write', args: { addr: parseExpr(va), size: 1, value: BigInt(o.v) } });
        assert.equal(r.outcome, 'ok', JSON.stringify(r));
        if (o.shared) file[o.page] = o.v;
        else priv[o.page] = o.v;
      }
    }
    run({ op: 'drop_caches', args: {} });
    const vp = s.k.vnodes.get('f')!;
    for (let p = 0; p < PAGES; p++) assert.equal(vp.data[p * 4096], file[p], `file page ${p} on disk after purge`);
    const st = s.k.stats;
    pressured += st.compressions + st.reclaimed + st.pageouts > 0 ? 1 : 0;
  }), { numRuns: 25 });
  assert.ok(pressured >= 20, `the pageout daemon freed pages in ${pressured} of 25 runs`);
});
