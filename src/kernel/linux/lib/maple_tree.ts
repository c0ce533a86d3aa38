// A range tree with the maple tree's node shape (lib/maple_tree.c, 6.1+): each node holds up to
// `slots` children or entries and a pivot per slot (the last index the slot covers); the tree is
// a B-tree, so every leaf is at the same depth. 6.x mm keeps its VMAs in one (mm->mm_mt) and
// find_vma is mt_find(mt, addr, ULONG_MAX).
//
// Simplified: leaves store only occupied ranges (each with its first index), not explicit NULL
// gap slots; there is no RCU, no gap tracking (mas_empty_area) and no node packing beyond the
// B-tree's split/merge. mt_find / mas_walk / mt_prev keep their semantics.

export const MAPLE_RANGE64_SLOTS = 16;

export interface MapleNode<T> {
  leaf: boolean;
  /** pivots[i]: the last index slot i covers (for an inner node: its child's highest last). */
  pivots: number[];
  /** Leaves: the first index of each entry. */
  mins: number[];
  slots: (MapleNode<T> | T)[];
}

export interface MapleTree<T> {
  root: MapleNode<T>;
  /** Maximum slots per node (16 for maple_range_64; tests use fewer to grow deep trees). */
  readonly maxSlots: number;
  size: number;
}

export function mt_init<T>(maxSlots = MAPLE_RANGE64_SLOTS): MapleTree<T> {
  if (maxSlots < 4) throw new RangeError('maple tree: at least 4 slots per node');
  return { root: newLeaf<T>(), maxSlots, size: 0 };
}

function newLeaf<T>(): MapleNode<T> {
  return { leaf: true, pivots: [], mins: [], slots: [] };
}

const minSlots = (mt: MapleTree<unknown>): number => mt.maxSlots >> 1;

/** mas_walk: the entry whose range contains `index`, or null. */
export function mas_walk<T>(mt: MapleTree<T>, index: number): T | null {
  const e = mt_find(mt, index, index);
  return e;
}

/** mt_find(mt, &index, max): the first entry whose range ends at or after `index` and starts at or before `max`. */
export function mt_find<T>(mt: MapleTree<T>, index: number, max: number): T | null {
  let n = mt.root;
  for (;;) {
    const p = n.pivots;
    let i = 0;
    while (i < p.length && p[i]! < index) i++;
    if (i === p.length) return null;
    if (n.leaf) return n.mins[i]! <= max ? (n.slots[i] as T) : null;
    n = n.slots[i] as MapleNode<T>;
  }
}

/** mt_prev / mas_prev: the last entry that ends before `index`, or null. */
export function mt_prev<T>(mt: MapleTree<T>, index: number): T | null {
  return prevIn(mt.root, index);
}

function prevIn<T>(n: MapleNode<T>, index: number): T | null {
  const p = n.pivots;
  let i = 0;
  while (i < p.length && p[i]! < index) i++;
  if (n.leaf) return i > 0 ? (n.slots[i - 1] as T) : null;
  if (i < p.length) {
    const r = prevIn(n.slots[i] as MapleNode<T>, index);
    if (r !== null) return r;
  }
  if (i === 0) return null;
  let m = n.slots[i - 1] as MapleNode<T>;
  while (!m.leaf) m = m.slots[m.slots.length - 1] as MapleNode<T>;
  return m.slots.length ? (m.slots[m.slots.length - 1] as T) : null;
}

/** Every entry in index order (mt_for_each). */
export function mt_entries<T>(mt: MapleTree<T>): T[] {
  const out: T[] = [];
  const walk = (n: MapleNode<T>): void => {
    if (n.leaf) for (const s of n.slots) out.push(s as T);
    else for (const s of n.slots) walk(s as MapleNode<T>);
  };
  walk(mt.root);
  return out;
}

/** mtree_store_range into an empty range [first, last]. Overlapping an entry is a model bug. */
export function mtree_insert_range<T>(mt: MapleTree<T>, first: number, last: number, entry: T): void {
  if (last < first) throw new RangeError('maple tree: last < first');
  const split = insertInto(mt, mt.root, first, last, entry);
  if (split) mt.root = { leaf: false, pivots: [maxPivot(mt.root), maxPivot(split)], mins: [], slots: [mt.root, split] };
  mt.size++;
}

function maxPivot<T>(n: MapleNode<T>): number {
  return n.pivots[n.pivots.length - 1]!;
}

/** Insert below `n`; returns the new right sibling if `n` split. */
function insertInto<T>(mt: MapleTree<T>, n: MapleNode<T>, first: number, last: number, entry: T): MapleNode<T> | null {
  const p = n.pivots;
  let i = 0;
  while (i < p.length && p[i]! < first) i++;
  if (n.leaf) {
    if (i < p.length && n.mins[i]! <= last) throw new Error(`maple tree: [${first}, ${last}] overlaps an entry`);
    p.splice(i, 0, last);
    n.mins.splice(i, 0, first);
    n.slots.splice(i, 0, entry);
  } else {
    if (i === p.length) i--; // beyond every child: the last child takes it
    const child = n.slots[i] as MapleNode<T>;
    const right = insertInto(mt, child, first, last, entry);
    p[i] = maxPivot(child);
    if (right) {
      p.splice(i + 1, 0, maxPivot(right));
      n.slots.splice(i + 1, 0, right);
    }
  }
  if (n.slots.length <= mt.maxSlots) return null;
  const half = n.slots.length >> 1;
  const right: MapleNode<T> = { leaf: n.leaf, pivots: p.splice(half), mins: n.leaf ? n.mins.splice(half) : [], slots: n.slots.splice(half) };
  return right;
}

/** mtree_erase: remove the entry containing `index`; returns it, or null. */
export function mtree_erase<T>(mt: MapleTree<T>, index: number): T | null {
  const removed = eraseFrom(mt, mt.root, index);
  if (removed === null) return null;
  mt.size--;
  while (!mt.root.leaf && mt.root.slots.length === 1) mt.root = mt.root.slots[0] as MapleNode<T>;
  return removed.v;
}

function eraseFrom<T>(mt: MapleTree<T>, n: MapleNode<T>, index: number): { v: T } | null {
  const p = n.pivots;
  let i = 0;
  while (i < p.length && p[i]! < index) i++;
  if (i === p.length) return null;
  if (n.leaf) {
    if (n.mins[i]! > index) return null;
    const v = n.slots[i] as T;
    p.splice(i, 1);
    n.mins.splice(i, 1);
    n.slots.splice(i, 1);
    return { v };
  }
  const child = n.slots[i] as MapleNode<T>;
  const r = eraseFrom(mt, child, index);
  if (r === null) return null;
  if (child.slots.length < minSlots(mt)) rebalance(mt, n, i);
  else p[i] = maxPivot(child);
  return r;
}

/** A child below the minimum borrows from a sibling, or merges with it (mas_rebalance, simplified). */
function rebalance<T>(mt: MapleTree<T>, parent: MapleNode<T>, i: number): void {
  const li = i > 0 ? i - 1 : i;
  const left = parent.slots[li] as MapleNode<T>;
  const right = parent.slots[li + 1] as MapleNode<T> | undefined;
  if (!right) {
    if (left.slots.length) parent.pivots[li] = maxPivot(left);
    else { parent.pivots.splice(li, 1); parent.slots.splice(li, 1); }
    return;
  }
  const total = left.slots.length + right.slots.length;
  if (total <= mt.maxSlots) {
    left.pivots.push(...right.pivots);
    left.mins.push(...right.mins);
    left.slots.push(...right.slots);
    parent.pivots.splice(li + 1, 1);
    parent.slots.splice(li + 1, 1);
    parent.pivots[li] = maxPivot(left);
    return;
  }
  // Redistribute evenly between the two.
  const pv = [...left.pivots, ...right.pivots];
  const mn = [...left.mins, ...right.mins];
  const sl = [...left.slots, ...right.slots];
  const half = total >> 1;
  left.pivots = pv.slice(0, half); right.pivots = pv.slice(half);
  if (left.leaf) { left.mins = mn.slice(0, half); right.mins = mn.slice(half); }
  left.slots = sl.slice(0, half); right.slots = sl.slice(half);
  parent.pivots[li] = maxPivot(left);
  parent.pivots[li + 1] = maxPivot(right);
}

/** Check the B-tree shape (tests): equal leaf depth, occupancy, sorted non-overlapping ranges, pivots. Returns the height. */
export function mt_validate<T>(mt: MapleTree<T>): number {
  let depth = -1;
  let lastSeen = -Infinity;
  const walk = (n: MapleNode<T>, d: number, isRoot: boolean): number => {
    if (n.slots.length > mt.maxSlots) throw new Error('maple tree: node over capacity');
    if (!isRoot && n.slots.length < minSlots(mt)) throw new Error('maple tree: node under minimum');
    if (n.pivots.length !== n.slots.length) throw new Error('maple tree: pivots/slots mismatch');
    if (n.leaf) {
      if (depth < 0) depth = d;
      else if (depth !== d) throw new Error('maple tree: leaves at different depths');
      for (let i = 0; i < n.slots.length; i++) {
        if (n.mins[i]! <= lastSeen || n.pivots[i]! < n.mins[i]!) throw new Error('maple tree: ranges out of order');
        lastSeen = n.pivots[i]!;
      }
      return n.slots.length ? maxPivot(n) : -Infinity;
    }
    if (!isRoot && n.slots.length < 2) throw new Error('maple tree: inner node with one child');
    for (let i = 0; i < n.slots.length; i++) {
      const m = walk(n.slots[i] as MapleNode<T>, d + 1, false);
      if (m !== n.pivots[i]) throw new Error('maple tree: stale pivot');
    }
    return maxPivot(n);
  };
  walk(mt.root, 0, true);
  return depth + 1;
}
