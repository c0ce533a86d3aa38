// Property test (STYLE.md, Tests 5): under random memory pressure (RAM 1 MiB, swap 4 MiB; writes,
// reads, fork, exit, MADV_DONTNEED and munmap in two processes), after every step:
//   - no PTE points at a free frame, and every non-present PTE is a valid swap entry;
//   - each swap slot's count equals the PTEs that hold it, the swap cache and SWAP_HAS_CACHE
//     agree, inuse_pages counts the slots in use, a free slot holds no data;
//   - MM_ANONPAGES and MM_SWAPENTS equal the anon and swap PTEs of each mm;
//   - every page on an LRU list is allocated and PG_lru, and the list sizes add up;
//   - every read returns what that process last wrote there (0 after DONTNEED or never written).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { StepResult } from '../../../../src/workload/result.js';
import { pressure } from '../../../../src/kernel/linux/mm/vmscan.js';
import { bootPressure, checkInvariants, VERSIONS } from './session.js';

const PAGES = 256; // `a` is 1 MiB: more than the free RAM, so writes push pages out

type Op =
  | { op: 'fill'; proc: number; from: number; n: number; value: number }
  | { op: 'read'; proc: number; page: number }
  | { op: 'fork' }
  | { op: 'exit' }
  | { op: 'dontneed'; proc: number; from: number; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('fill' as const), proc: fc.nat(1), from: fc.nat(PAGES - 1), n: fc.integer({ min: 16, max: 128 }), value: fc.integer({ min: 1, max: 250 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('read' as const), proc: fc.nat(1), page: fc.nat(PAGES - 1) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exit' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dontneed' as const), proc: fc.nat(1), from: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 32 }) }) },
);

for (const v of VERSIONS) {
  test(`linux ${v}: under random pressure the page tables, swap slots, swap cache, LRU lists and contents stay consistent`, () => {
    let swapped = 0;
    let swappedIn = 0;
    fc.assert(fc.property(fc.array(opArb, { minLength: 12, maxLength: 30 }), (ops) => {
      const b = bootPressure(v, { ram: '1m', swap: '4m', trace: false });
      b.steps(`  - mmap: {as: a, length: ${PAGES * 4096}, prot: rw, flags: [private, anonymous]}\n`);
      const shadow: (Map<number, number> | null)[] = [new Map(), null];
      const run = (proc: number, yaml: string): StepResult[] => b.steps(yaml.replace(/\n$/, `\n    proc: ${proc === 0 ? 'main' : 'c'}\n`));
      for (const o of ops) {
        if (o.op === 'fork') {
          if (shadow[1]) continue;
          run(0, `  - fork: {as: c}\n`);
          shadow[1] = new Map(shadow[0]);
        } else if (o.op === 'exit') {
          if (!shadow[1]) continue;
          run(1, `  - exit: {}\n`);
          shadow[1] = null;
        } else if (!shadow[o.proc]) {
          continue;
        } else if (o.op === 'fill') {
          for (let p = o.from; p < Math.min(PAGES, o.from + o.n); p++) {
            const r: StepResult = run(o.proc, `  - write: {addr: a+${p * 4096}, value: ${o.value}}\n`)[0]!;
            assert.equal(r.outcome, 'ok', r.message);
            shadow[o.proc]!.set(p, o.value);
          }
        } else if (o.op === 'read') {
          const r: StepResult = run(o.proc, `  - read: {addr: a+${o.page * 4096}}\n`)[0]!;
          assert.equal(r.value, '0x' + (shadow[o.proc]!.get(o.page) ?? 0).toString(16), `proc ${o.proc} page ${o.page}`);
        } else {
          const n = Math.min(o.n, PAGES - o.from);
          run(o.proc, `  - madvise: {addr: a+${o.from * 4096}, length: ${n * 4096}, advice: dontneed}\n`);
          for (let p = o.from; p < o.from + n; p++) shadow[o.proc]!.delete(p);
        }
        assert.deepEqual(checkInvariants(b), [], `after ${JSON.stringify(o)}`);
      }
      swapped += pressure(b.s.k).stat.pswpout;
      swappedIn += pressure(b.s.k).stat.pswpin;
    }), { numRuns: 12, seed: 5 });
    assert.ok(swapped > 100 && swappedIn > 10, `the runs were under pressure (${swapped} pages out, ${swappedIn} in)`);
  });
}
