// Machine.tryWords (and pushWords/popWords built on it) must be indistinguishable from the same
// run of separate 8-byte accesses: same outcome, same fault (CR2 = the faulting word), same memory,
// same A/D flags and the same TLB counters. Checked against a loop of tryAccess on a twin machine.
//
// Address space: four consecutive user pages W0..W3 at 0x40000000, each independently absent,
// read-only, read-write or supervisor-only; data frames at 256 MiB.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { popWords, pushWords } from '../../src/hw/delivery.js';
import type { Machine } from '../../src/hw/machine.js';
import { nullSink } from '../../src/trace/events.js';
import { DATA, KERN_RW, USER_RO, USER_RW, rig } from './lab_util.js';

const W0 = 0x4000_0000n;
type Kind = 'absent' | 'ro' | 'rw' | 'kernel';

function twin(kinds: Kind[], cpl: 0 | 3): Machine {
  const { m, lab } = rig();
  kinds.forEach((k, i) => {
    if (k === 'absent') return;
    const flags = k === 'ro' ? USER_RO : k === 'rw' ? USER_RW : KERN_RW;
    lab.map(W0 + BigInt(i) * 0x1000n, DATA + BigInt(i) * 0x1000n, '4k', flags, USER_RW);
  });
  lab.setCpl(cpl);
  m.trace = nullSink;
  return m;
}

function state(m: Machine): unknown {
  const words: string[] = [];
  for (let pa = Number(DATA); pa < Number(DATA) + 4 * 4096; pa += 8) words.push(m.mem.read64(pa).toString(16));
  const leaves = [0, 1, 2, 3].map((i) => m.previewWalk(W0 + BigInt(i) * 0x1000n)).map((w) => w.status === 0 ? w.lo[w.level]! & 0x60 : -1);
  return { words: words.join(','), leaves, hits: m.tlb!.hits, misses: m.tlb!.misses, walks: m.walks };
}

const kind = fc.constantFrom<Kind>('absent', 'ro', 'rw', 'kernel');

describe('Machine.tryWords equals separate accesses', () => {
  test('random page kinds, CPL, direction, start and length (300 runs)', () => {
    fc.assert(fc.property(
      fc.array(kind, { minLength: 4, maxLength: 4 }), fc.constantFrom<0 | 3>(0, 3), fc.constantFrom<8 | -8>(8, -8),
      fc.constantFrom<'read' | 'write'>('read', 'write'), fc.integer({ min: 0, max: 2047 }), fc.integer({ min: 1, max: 1100 }),
      (kinds, cpl, stride, access, startWord, count) => {
        const fast = twin(kinds, cpl);
        const slow = twin(kinds, cpl);
        const va = W0 + BigInt(startWord) * 8n;
        const values = Array.from({ length: count }, (_, i) => BigInt(i + 1) * 0x0101010101010101n);
        const got = fast.tryWords(va, stride, access, [...values], count);
        let done = 0;
        let fault = null;
        for (; done < count; done++) {
          const r = slow.tryAccess({ va: va + BigInt(done * stride), access, size: 8, value: values[done] });
          if (r.kind === 'fault') {
            fault = r.fault;
            break;
          }
        }
        assert.deepEqual(got, { done, fault });
        assert.deepEqual(state(fast), state(slow));
      }), { numRuns: 300 });
  });

  test('a read fills the words in access order', () => {
    const m = twin(['rw', 'rw', 'absent', 'absent'], 3);
    for (let i = 0; i < 4; i++) m.mem.write64(Number(DATA) + 0xff8 + 8 * i, BigInt(i + 10));
    const out = [0n, 0n, 0n, 0n];
    assert.deepEqual(m.tryWords(W0 + 0xff8n, 8, 'read', out, 4), { done: 4, fault: null });
    assert.deepEqual(out, [10n, 11n, 12n, 13n]);
  });
});

describe('pushWords / popWords', () => {
  test('a push run that runs off the mapped stack faults at the first unmapped word, earlier pushes done', () => {
    const m = twin(['absent', 'rw', 'absent', 'absent'], 3);
    m.cpu.rsp = W0 + 0x1010n; // two words fit above W1's base... then W0 is absent
    const f = pushWords(m, [1n, 2n, 3n], ['a', 'b', 'c']);
    assert.deepEqual(f, { vector: 14, errorCode: 0x6, cr2: W0 + 0xff8n });
    assert.equal(m.cpu.rsp, W0 + 0x1000n, 'RSP moved past the two pushes that completed');
    assert.deepEqual(popWords(m, 2, ['b', 'a']), [2n, 1n]);
    assert.equal(m.cpu.rsp, W0 + 0x1010n);
  });
});
