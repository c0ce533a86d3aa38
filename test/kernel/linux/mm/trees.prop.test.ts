// Property tests (STYLE.md, Tests 5) for the two VMA trees: random inserts and erases of
// non-overlapping ranges against a sorted-array model. The red-black tree (5.19 mm_rb) keeps its
// invariants (rb_check: black heights, no red-red, order); the maple tree (6.x mm_mt) stays a
// balanced B-tree (mt_validate: equal leaf depth, occupancy, fresh pivots) and answers mt_find,
// mas_walk and mt_prev like the model.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mas_walk, mt_entries, mt_find, mt_init, mt_prev, mt_validate, mtree_erase, mtree_insert_range } from '../../../../src/kernel/linux/lib/maple_tree.js';
import { rb_check, rb_erase, rb_first, rb_insert_color, rb_link_node, rb_new_node, rb_next, rb_root, type RbNode } from '../../../../src/kernel/linux/lib/rbtree.js';

interface R { start: number; last: number }
type Op = { k: 'ins'; slot: number; len: number } | { k: 'del'; slot: number } | { k: 'q'; at: number };

const SLOTS = 64; // range i may occupy [i*10, i*10 + len], len < 10: never overlapping
const ops: fc.Arbitrary<Op[]> = fc.array(fc.oneof(
  fc.record({ k: fc.constant('ins' as const), slot: fc.nat(SLOTS - 1), len: fc.nat(8) }),
  fc.record({ k: fc.constant('ins' as const), slot: fc.nat(SLOTS - 1), len: fc.nat(8) }),
  fc.record({ k: fc.constant('del' as const), slot: fc.nat(SLOTS - 1) }),
  fc.record({ k: fc.constant('q' as const), at: fc.nat(SLOTS * 10) }),
), { maxLength: 300 });

/** The model: find the first range with last >= at (find_vma). */
function modelFind(m: Map<number, R>, at: number, max = Infinity): R | null {
  const sorted = [...m.values()].sort((a, b) => a.start - b.start);
  const r = sorted.find((x) => x.last >= at) ?? null;
  return r && r.start <= max ? r : null;
}

test('maple tree (4 and 16 slots): balanced after every op; mt_find / mas_walk / mt_prev match the sorted model', () => {
  for (const slots of [4, 16]) {
    fc.assert(fc.property(ops, (seq) => {
      const mt = mt_init<R>(slots);
      const model = new Map<number, R>();
      for (const o of seq) {
        if (o.k === 'ins') {
          if (model.has(o.slot)) continue;
          const r = { start: o.slot * 10, last: o.slot * 10 + o.len };
          mtree_insert_range(mt, r.start, r.last, r);
          model.set(o.slot, r);
        } else if (o.k === 'del') {
          const got = mtree_erase(mt, o.slot * 10);
          assert.equal(got, model.get(o.slot) ?? null);
          model.delete(o.slot);
        } else {
          assert.equal(mt_find(mt, o.at, Number.MAX_SAFE_INTEGER), modelFind(model, o.at));
          const w = modelFind(model, o.at);
          assert.equal(mas_walk(mt, o.at), w && w.start <= o.at ? w : null);
          const before = [...model.values()].filter((x) => x.last < o.at).sort((a, b) => b.last - a.last)[0] ?? null;
          assert.equal(mt_prev(mt, o.at), before);
        }
        mt_validate(mt);
      }
      assert.deepEqual(mt_entries(mt), [...model.values()].sort((a, b) => a.start - b.start));
      assert.equal(mt.size, model.size);
    }), { numRuns: 150 });
  }
});

test('maple tree: 5000 ascending inserts (the mmap pattern) stay shallow: height <= log8(n)+2', () => {
  const mt = mt_init<R>();
  for (let i = 0; i < 5000; i++) mtree_insert_range(mt, i * 2, i * 2, { start: i * 2, last: i * 2 });
  const h = mt_validate(mt);
  assert.ok(h <= Math.ceil(Math.log(5000) / Math.log(8)) + 2, `height ${h}`);
  for (let i = 0; i < 5000; i += 2) mtree_erase(mt, i * 2);
  mt_validate(mt);
  assert.equal(mt.size, 2500);
});

test('rbtree: red-black invariants after every insert/erase; in-order walk equals the sorted model', () => {
  fc.assert(fc.property(ops, (seq) => {
    const root = rb_root<R>();
    const nodes = new Map<number, RbNode<R>>();
    const less = (a: R, b: R): boolean => a.start < b.start;
    for (const o of seq) {
      if (o.k === 'ins') {
        if (nodes.has(o.slot)) continue;
        const r = { start: o.slot * 10, last: o.slot * 10 + o.len };
        let parent: RbNode<R> | null = null;
        let left = false;
        for (let n = root.rb_node; n;) { parent = n; left = r.start < n.value.start; n = left ? n.left : n.right; }
        const node = rb_new_node(r);
        rb_link_node(root, node, parent, left);
        rb_insert_color(root, node);
        nodes.set(o.slot, node);
      } else if (o.k === 'del') {
        const n = nodes.get(o.slot);
        if (!n) continue;
        rb_erase(root, n);
        nodes.delete(o.slot);
      }
      const bh = rb_check(root, less);
      assert.ok(2 ** (bh - 1) - 1 <= nodes.size, 'black height bounded by log2(n)');
    }
    const walk: R[] = [];
    for (let n = rb_first(root); n; n = rb_next(n)) walk.push(n.value);
    assert.deepEqual(walk, [...nodes.values()].map((n) => n.value).sort((a, b) => a.start - b.start));
  }), { numRuns: 200 });
});
