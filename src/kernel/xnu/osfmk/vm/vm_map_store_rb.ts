// The red-black tree of map entries (osfmk/vm/vm_map_store_rb.c; xnu-11417.121.6), keyed by
// vme_start, with the BSD <sys/tree.h> RB algorithms XNU uses (RB_INSERT/RB_REMOVE). The
// lookup is vm_map_store_lookup_entry_rb exactly: a hit returns the entry; a miss returns the
// predecessor (the last entry whose start is <= addr), or the map header when there is none.

import type { VmMapEntry } from './vm_map.js';

export interface RbHead {
  root: VmMapEntry | null;
}

/** rb_node_compare (vm_map_store_rb.c:43): -1 left, +1 right, 0 overlap. */
function rb_node_compare(node: VmMapEntry, parent: VmMapEntry): number {
  if (node.vme_start < parent.vme_start) return -1;
  if (node.vme_start >= parent.vme_end) return 1;
  return 0;
}

/**
 * vm_map_store_lookup_entry_rb (vm_map_store_rb.c:60): descend from the root; addr in
 * [start, end) is a hit; addr >= start goes right remembering the entry; otherwise left.
 */
export function vm_map_store_lookup_entry_rb(head: RbHead, header: VmMapEntry, addr: number): { found: boolean; entry: VmMapEntry } {
  let prev: VmMapEntry | null = null;
  let node = head.root;
  while (node !== null) {
    if (addr >= node.vme_start) {
      if (addr < node.vme_end) return { found: true, entry: node };
      prev = node;
      node = node.rb_right;
    } else node = node.rb_left;
  }
  return { found: false, entry: prev ?? header };
}

function rotateLeft(head: RbHead, x: VmMapEntry): void {
  const y = x.rb_right!;
  x.rb_right = y.rb_left;
  if (y.rb_left) y.rb_left.rb_parent = x;
  y.rb_parent = x.rb_parent;
  if (!x.rb_parent) head.root = y;
  else if (x === x.rb_parent.rb_left) x.rb_parent.rb_left = y;
  else x.rb_parent.rb_right = y;
  y.rb_left = x;
  x.rb_parent = y;
}

function rotateRight(head: RbHead, x: VmMapEntry): void {
  const y = x.rb_left!;
  x.rb_left = y.rb_right;
  if (y.rb_right) y.rb_right.rb_parent = x;
  y.rb_parent = x.rb_parent;
  if (!x.rb_parent) head.root = y;
  else if (x === x.rb_parent.rb_right) x.rb_parent.rb_right = y;
  else x.rb_parent.rb_left = y;
  y.rb_right = x;
  x.rb_parent = y;
}

/** RB_INSERT (vm_map_store_entry_link_rb): an overlapping entry is a panic, as in XNU. */
export function rb_insert(head: RbHead, z: VmMapEntry): void {
  let parent: VmMapEntry | null = null;
  let cur = head.root;
  let c = 0;
  while (cur) {
    parent = cur;
    c = rb_node_compare(z, cur);
    if (c === 0) throw new Error(`model bug (XNU panics): map entry [${z.vme_start.toString(16)}, ${z.vme_end.toString(16)}) overlaps an existing one`);
    cur = c < 0 ? cur.rb_left : cur.rb_right;
  }
  z.rb_parent = parent;
  z.rb_left = z.rb_right = null;
  z.rb_red = true;
  if (!parent) head.root = z;
  else if (c < 0) parent.rb_left = z;
  else parent.rb_right = z;
  insertFixup(head, z);
}

function insertFixup(head: RbHead, node: VmMapEntry): void {
  let z = node;
  while (z.rb_parent && z.rb_parent.rb_red) {
    const p = z.rb_parent;
    const g = p.rb_parent!;
    const left = p === g.rb_left;
    const u = left ? g.rb_right : g.rb_left;
    if (u && u.rb_red) {
      p.rb_red = false;
      u.rb_red = false;
      g.rb_red = true;
      z = g;
      continue;
    }
    if (left && z === p.rb_right) {
      z = p;
      rotateLeft(head, z);
    } else if (!left && z === p.rb_left) {
      z = p;
      rotateRight(head, z);
    }
    z.rb_parent!.rb_red = false;
    g.rb_red = true;
    if (left) rotateRight(head, g);
    else rotateLeft(head, g);
  }
  head.root!.rb_red = false;
}

function transplant(head: RbHead, u: VmMapEntry, v: VmMapEntry | null): void {
  if (!u.rb_parent) head.root = v;
  else if (u === u.rb_parent.rb_left) u.rb_parent.rb_left = v;
  else u.rb_parent.rb_right = v;
  if (v) v.rb_parent = u.rb_parent;
}

/** RB_REMOVE (vm_map_store_entry_unlink_rb). */
export function rb_remove(head: RbHead, z: VmMapEntry): void {
  let x: VmMapEntry | null;
  let xParent: VmMapEntry | null;
  let removedRed = z.rb_red;
  if (!z.rb_left) {
    x = z.rb_right;
    xParent = z.rb_parent;
    transplant(head, z, x);
  } else if (!z.rb_right) {
    x = z.rb_left;
    xParent = z.rb_parent;
    transplant(head, z, x);
  } else {
    let y = z.rb_right;
    while (y.rb_left) y = y.rb_left;
    removedRed = y.rb_red;
    x = y.rb_right;
    if (y.rb_parent === z) xParent = y;
    else {
      xParent = y.rb_parent;
      transplant(head, y, y.rb_right);
      y.rb_right = z.rb_right;
      y.rb_right.rb_parent = y;
    }
    transplant(head, z, y);
    y.rb_left = z.rb_left;
    y.rb_left!.rb_parent = y;
    y.rb_red = z.rb_red;
  }
  z.rb_left = z.rb_right = z.rb_parent = null;
  if (!removedRed) removeFixup(head, x, xParent);
}

function removeFixup(head: RbHead, node: VmMapEntry | null, parent: VmMapEntry | null): void {
  let x = node;
  let p = parent;
  while (x !== head.root && (!x || !x.rb_red) && p) {
    if (x === p.rb_left) {
      let w = p.rb_right!;
      if (w.rb_red) {
        w.rb_red = false; p.rb_red = true; rotateLeft(head, p); w = p.rb_right!;
      }
      if ((!w.rb_left || !w.rb_left.rb_red) && (!w.rb_right || !w.rb_right.rb_red)) {
        w.rb_red = true; x = p; p = x.rb_parent;
      } else {
        if (!w.rb_right || !w.rb_right.rb_red) {
          w.rb_left!.rb_red = false; w.rb_red = true; rotateRight(head, w); w = p.rb_right!;
        }
        w.rb_red = p.rb_red; p.rb_red = false; if (w.rb_right) w.rb_right.rb_red = false;
        rotateLeft(head, p); x = head.root; p = null;
      }
    } else {
      let w = p.rb_left!;
      if (w.rb_red) {
        w.rb_red = false; p.rb_red = true; rotateRight(head, p); w = p.rb_left!;
      }
      if ((!w.rb_right || !w.rb_right.rb_red) && (!w.rb_left || !w.rb_left.rb_red)) {
        w.rb_red = true; x = p; p = x.rb_parent;
      } else {
        if (!w.rb_left || !w.rb_left.rb_red) {
          w.rb_right!.rb_red = false; w.rb_red = true; rotateLeft(head, w); w = p.rb_left!;
        }
        w.rb_red = p.rb_red; p.rb_red = false; if (w.rb_left) w.rb_left.rb_red = false;
        rotateRight(head, p); x = head.root; p = null;
      }
    }
  }
  if (x) x.rb_red = false;
}

/**
 * Check the red-black invariants and the key order (for property tests): the root is black, no red
 * node has a red child, every path has the same number of black nodes, keys are ordered and
 * disjoint, parent links agree. Returns the in-order entries, or throws naming the broken rule.
 */
export function rb_check(head: RbHead): VmMapEntry[] {
  const out: VmMapEntry[] = [];
  if (head.root && head.root.rb_red) throw new Error('rb: red root');
  const walk = (n: VmMapEntry | null, parent: VmMapEntry | null): number => {
    if (!n) return 1;
    if (n.rb_parent !== parent) throw new Error('rb: parent link broken');
    if (n.rb_red && ((n.rb_left && n.rb_left.rb_red) || (n.rb_right && n.rb_right.rb_red))) throw new Error('rb: red node with a red child');
    const l = walk(n.rb_left, n);
    const prev = out[out.length - 1];
    if (prev && prev.vme_end > n.vme_start) throw new Error('rb: entries out of order or overlapping');
    out.push(n);
    const r = walk(n.rb_right, n);
    if (l !== r) throw new Error('rb: black heights differ');
    return l + (n.rb_red ? 0 : 1);
  };
  walk(head.root, null);
  return out;
}
