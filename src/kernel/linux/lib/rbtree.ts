// A red-black tree with the shape of lib/rbtree.c (5.19): callers find the insertion point
// themselves and call rb_link_node + rb_insert_color; rb_erase rebalances. 5.19's mm keeps its
// VMAs in one (mm->mm_rb, keyed by vm_start). Simplified: no augmented callbacks (5.19 keeps
// rb_subtree_gap for get_unmapped_area; the model searches the sorted VMA list instead).

export const RB_RED = 0;
export const RB_BLACK = 1;

export interface RbNode<T> {
  parent: RbNode<T> | null;
  left: RbNode<T> | null;
  right: RbNode<T> | null;
  color: 0 | 1;
  readonly value: T;
}

export interface RbRoot<T> {
  rb_node: RbNode<T> | null;
}

export function rb_root<T>(): RbRoot<T> {
  return { rb_node: null };
}

export function rb_new_node<T>(value: T): RbNode<T> {
  return { parent: null, left: null, right: null, color: RB_RED, value };
}

/** rb_link_node: hang `node` under `parent` (null for the root) on the given side. */
export function rb_link_node<T>(root: RbRoot<T>, node: RbNode<T>, parent: RbNode<T> | null, left: boolean): void {
  node.parent = parent;
  node.left = node.right = null;
  node.color = RB_RED;
  if (parent === null) root.rb_node = node;
  else if (left) parent.left = node;
  else parent.right = node;
}

function rotate<T>(root: RbRoot<T>, x: RbNode<T>, leftRot: boolean): void {
  const y = (leftRot ? x.right : x.left)!;
  const inner = leftRot ? y.left : y.right;
  if (leftRot) x.right = inner;
  else x.left = inner;
  if (inner) inner.parent = x;
  y.parent = x.parent;
  if (x.parent === null) root.rb_node = y;
  else if (x === x.parent.left) x.parent.left = y;
  else x.parent.right = y;
  if (leftRot) y.left = x;
  else y.right = x;
  x.parent = y;
}

/** rb_insert_color: restore the red-black properties after linking a red node. */
export function rb_insert_color<T>(root: RbRoot<T>, node: RbNode<T>): void {
  let z = node;
  while (z.parent && z.parent.color === RB_RED) {
    const p = z.parent;
    const g = p.parent!;
    const pIsLeft = p === g.left;
    const uncle = pIsLeft ? g.right : g.left;
    if (uncle && uncle.color === RB_RED) {
      p.color = RB_BLACK;
      uncle.color = RB_BLACK;
      g.color = RB_RED;
      z = g;
      continue;
    }
    if (z === (pIsLeft ? p.right : p.left)) {
      z = p;
      rotate(root, z, pIsLeft);
    }
    z.parent!.color = RB_BLACK;
    g.color = RB_RED;
    rotate(root, g, !pIsLeft);
  }
  root.rb_node!.color = RB_BLACK;
}

function transplant<T>(root: RbRoot<T>, u: RbNode<T>, v: RbNode<T> | null): void {
  if (u.parent === null) root.rb_node = v;
  else if (u === u.parent.left) u.parent.left = v;
  else u.parent.right = v;
  if (v) v.parent = u.parent;
}

export function rb_first<T>(root: RbRoot<T>): RbNode<T> | null {
  let n = root.rb_node;
  if (!n) return null;
  while (n.left) n = n.left;
  return n;
}

export function rb_next<T>(node: RbNode<T>): RbNode<T> | null {
  if (node.right) {
    let n = node.right;
    while (n.left) n = n.left;
    return n;
  }
  let n: RbNode<T> = node;
  while (n.parent && n === n.parent.right) n = n.parent;
  return n.parent;
}

/** rb_erase: unlink `z` and rebalance (CLRS delete; lib/rbtree.c ____rb_erase_color). */
export function rb_erase<T>(root: RbRoot<T>, z: RbNode<T>): void {
  let x: RbNode<T> | null;
  let xParent: RbNode<T> | null;
  let removedColor = z.color;
  if (!z.left) {
    x = z.right;
    xParent = z.parent;
    transplant(root, z, z.right);
  } else if (!z.right) {
    x = z.left;
    xParent = z.parent;
    transplant(root, z, z.left);
  } else {
    let y = z.right;
    while (y.left) y = y.left;
    removedColor = y.color;
    x = y.right;
    if (y.parent === z) {
      xParent = y;
    } else {
      xParent = y.parent;
      transplant(root, y, y.right);
      y.right = z.right;
      y.right.parent = y;
    }
    transplant(root, z, y);
    y.left = z.left;
    y.left.parent = y;
    y.color = z.color;
  }
  z.parent = z.left = z.right = null;
  if (removedColor === RB_BLACK) eraseFixup(root, x, xParent);
}

function eraseFixup<T>(root: RbRoot<T>, x0: RbNode<T> | null, parent0: RbNode<T> | null): void {
  let x = x0;
  let parent = parent0;
  while (x !== root.rb_node && (x === null || x.color === RB_BLACK)) {
    const p = parent!;
    const xIsLeft = x === p.left;
    let w = (xIsLeft ? p.right : p.left)!;
    if (w.color === RB_RED) {
      w.color = RB_BLACK;
      p.color = RB_RED;
      rotate(root, p, xIsLeft);
      w = (xIsLeft ? p.right : p.left)!;
    }
    const wl = xIsLeft ? w.left : w.right; // the nephew on x's side
    const wr = xIsLeft ? w.right : w.left;
    if ((!wl || wl.color === RB_BLACK) && (!wr || wr.color === RB_BLACK)) {
      w.color = RB_RED;
      x = p;
      parent = p.parent;
      continue;
    }
    if (!wr || wr.color === RB_BLACK) {
      wl!.color = RB_BLACK;
      w.color = RB_RED;
      rotate(root, w, !xIsLeft);
      w = (xIsLeft ? p.right : p.left)!;
    }
    w.color = p.color;
    p.color = RB_BLACK;
    const far = xIsLeft ? w.right : w.left;
    if (far) far.color = RB_BLACK;
    rotate(root, p, xIsLeft);
    x = root.rb_node;
    parent = null;
  }
  if (x) x.color = RB_BLACK;
}

/** Check the red-black invariants; returns the black height, throws on a violation (tests). */
export function rb_check<T>(root: RbRoot<T>, less: (a: T, b: T) => boolean): number {
  const walk = (n: RbNode<T> | null, parent: RbNode<T> | null): number => {
    if (!n) return 1;
    if (n.parent !== parent) throw new Error('rbtree: bad parent pointer');
    if (n.color === RB_RED && ((n.left && n.left.color === RB_RED) || (n.right && n.right.color === RB_RED))) {
      throw new Error('rbtree: red node with a red child');
    }
    if (n.left && !less(n.left.value, n.value)) throw new Error('rbtree: order');
    if (n.right && !less(n.value, n.right.value)) throw new Error('rbtree: order');
    const l = walk(n.left, n);
    const r = walk(n.right, n);
    if (l !== r) throw new Error('rbtree: unequal black heights');
    return l + (n.color === RB_BLACK ? 1 : 0);
  };
  if (root.rb_node && root.rb_node.color !== RB_BLACK) throw new Error('rbtree: red root');
  return walk(root.rb_node, null);
}
