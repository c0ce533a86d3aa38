// Property test: THP=always in random sequences of writes, reads, fork, exit, MADV_DONTNEED and
// munmap of parts of two 2 MiB-aligned ranges (so PMD leaves are made, shared at fork, split by
// COW and by partial zaps, and zapped whole). After every step the invariants of
// test/kernel/linux/pressure/session.ts hold (no PTE or huge PMD over a free frame, RSS equals the
// mapped pages, LRU lists consistent) and every read returns what that process last wrote.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { StepResult } from '../../../../src/workload/result.js';
import { pressure } from '../../../../src/kernel/linux/mm/vmscan.js';
import { bootPressure, checkInvariants, VERSIONS } from '../pressure/session.js';

const PAGES = 1024; // 4 MiB at 0x200000000: two PMDs

type Op =
  | { op: 'fill'; proc: number; from: number; n: number; value: number }
  | { op: 'read'; proc: number; page: number }
  | { op: 'fork' }
  | { op: 'exit' }
  | { op: 'dontneed' | 'munmap'; proc: number; from: number; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('fill' as const), proc: fc.nat(1), from: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 8 }), value: fc.integer({ min: 1, max: 250 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('read' as const), proc: fc.nat(1), page: fc.nat(PAGES - 1) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exit' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('dontneed' as const, 'munmap' as const), proc: fc.nat(1), from: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 600 }) }) },
);

for (const v of VERSIONS) {
  test(`linux ${v}: THP=always under random fork/COW/zap keeps page tables, huge PMDs, RSS and contents consistent`, () => {
    let splits = 0;
    let thps = 0;
    fc.assert(fc.property(fc.array(opArb, { minLength: 8, maxLength: 25 }), (ops) => {
      const b = bootPressure(v, { ram: '16m', thp: 'always', trace: false });
      b.steps(`  - mmap: {as: a, addr: 0x200000000, length: ${PAGES * 4096}, prot: rw, flags: [private, anonymous, fixed]}\n`);
      const shadow: ({ data: Map<number, number>; gone: Set<number> } | null)[] = [{ data: new Map(), gone: new Set() }, null];
      const run = (proc: number, yaml: string): StepResult[] => b.steps(yaml.replace(/\n$/, `\n    proc: ${proc === 0 ? 'main' : 'c'}\n`));
      for (const o of ops) {
        if (o.op === 'fork') {
          if (shadow[1]) continue;
          run(0, `  - fork: {as: c}\n`);
          shadow[1] = { data: new Map(shadow[0]!.data), gone: new Set(shadow[0]!.gone) };
          continue;
        }
        if (o.op === 'exit') {
          if (!shadow[1]) continue;
          run(1, `  - exit: {}\n`);
          shadow[1] = null;
          continue;
        }
        const sh = shadow[o.proc];
        if (!sh) continue;
        if (o.op === 'fill') {
          for (let p = o.from; p < Math.min(PAGES, o.from + o.n); p++) {
            const r: StepResult = run(o.proc, `  - write: {addr: a+${p * 4096}, value: ${o.value}}\n`)[0]!;
            if (sh.gone.has(p)) { assert.equal(r.outcome, 'signal'); continue; }
            assert.equal(r.outcome, 'ok', r.message);
            sh.data.set(p, o.value);
          }
        } else if (o.op === 'read') {
          const r: StepResult = run(o.proc, `  - read: {addr: a+${o.page * 4096}}\n`)[0]!;
          if (sh.gone.has(o.page)) assert.equal(r.outcome, 'signal');
          else assert.equal(r.value, '0x' + (sh.data.get(o.page) ?? 0).toString(16), `proc ${o.proc} page ${o.page}`);
        } else {
          const n = Math.min(o.n, PAGES - o.from);
          run(o.proc, `  - ${o.op === 'munmap' ? 'munmap: {' : 'madvise: {advice: dontneed, '}addr: a+${o.from * 4096}, length: ${n * 4096}}\n`);
          for (let p = o.from; p < o.from + n; p++) {
            sh.data.delete(p);
            if (o.op === 'munmap') sh.gone.add(p);
          }
        }
        assert.deepEqual(checkInvariants(b), [], `after ${JSON.stringify(o)}`);
      }
      splits += pressure(b.s.k).stat.thp_split_pmd;
      thps += b.s.k.vmstat.thp_fault_alloc;
    }), { numRuns: 15, seed: 11 });
    assert.ok(thps >= 5 && splits >= 3, `THPs were made (${thps}) and split (${splits})`);
  });
}
