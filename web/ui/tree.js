// The call tree behind a flame graph, built from stacks, and the
// per-function tables derived from it.
//
// Nodes are integer ids into typed arrays rather than objects: a selection
// of 50,000 unique stacks makes over half a million nodes, and as objects
// they keep the garbage collector busier than everything else combined.

/** Children a node scans by name before its children go into the shared index. */
const SCAN_CHILDREN = 8;
/** Name ids stay below this, so `node * NAME_SPACE + name` is a unique key. */
const NAME_SPACE = 2 ** 21;
const INITIAL_CAPACITY = 1024;

/**
 * A call tree. Node 0 is the root (`all`); a node's parent always has a
 * smaller id. For a diff, `base`/`head` hold the normalized counts and
 * `total = base + head` so both sides keep room on screen.
 */
export class Tree {
  constructor(diff, rootName = 'all') {
    this.diff = diff;
    this.names = [];
    this.nameIds = new Map();
    this.count = 0;
    this.capacity = 0;
    this.maxDepth = 0;
    this.wide = new Map();
    this.grow(INITIAL_CAPACITY);
    this.addNode(this.intern(rootName), -1);
  }

  grow(capacity) {
    const int = ['name', 'parent', 'depth', 'firstChild', 'nextSibling', 'childCount'];
    const float = this.diff ? ['total', 'self', 'base', 'head', 'selfBase', 'selfHead'] : ['total', 'self'];
    for (const key of int) this[key] = copyInto(new Int32Array(capacity), this[key]);
    for (const key of float) this[key] = copyInto(new Float64Array(capacity), this[key]);
    this.capacity = capacity;
  }

  intern(name) {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      if (id >= NAME_SPACE) throw new Error(`more than ${NAME_SPACE} distinct function names`);
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  addNode(nameId, parent) {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const n = this.count++;
    this.name[n] = nameId;
    this.parent[n] = parent;
    this.depth[n] = parent < 0 ? 0 : this.depth[parent] + 1;
    this.firstChild[n] = -1;
    if (this.depth[n] > this.maxDepth) this.maxDepth = this.depth[n];
    if (parent >= 0) {
      this.nextSibling[n] = this.firstChild[parent];
      this.firstChild[parent] = n;
      this.childCount[parent] += 1;
      if (this.childCount[parent] > SCAN_CHILDREN) this.wide.set(parent * NAME_SPACE + nameId, n);
      if (this.childCount[parent] === SCAN_CHILDREN + 1) {
        for (let c = this.nextSibling[n]; c >= 0; c = this.nextSibling[c]) {
          this.wide.set(parent * NAME_SPACE + this.name[c], c);
        }
      }
    }
    return n;
  }

  /** The child of `parent` with name id `nameId`, created if needed. */
  child(parent, nameId) {
    if (this.childCount[parent] > SCAN_CHILDREN) {
      const found = this.wide.get(parent * NAME_SPACE + nameId);
      if (found !== undefined) return found;
    } else {
      for (let c = this.firstChild[parent]; c >= 0; c = this.nextSibling[c]) if (this.name[c] === nameId) return c;
    }
    return this.addNode(nameId, parent);
  }

  /**
   * Adds one stack, root first, with its value (and diff sides). Frames are
   * names, or indexes into `nameIds` (name ids already interned) when given.
   */
  add(frames, value, base, head, nameIds) {
    let n = 0;
    this.credit(n, value, base, head);
    for (let i = 0; i < frames.length; i++) {
      const id = nameIds ? nameIds[frames[i]] : this.intern(frames[i]);
      n = this.child(n, id);
      this.credit(n, value, base, head);
    }
    this.self[n] += value;
    if (this.diff) {
      this.selfBase[n] += base;
      this.selfHead[n] += head;
    }
  }

  credit(n, value, base, head) {
    this.total[n] += value;
    if (this.diff) {
      this.base[n] += base;
      this.head[n] += head;
    }
  }

  /** Freezes the shape: children sorted by name, stored contiguously. */
  finish() {
    const n = this.count;
    const rank = nameRanks(this.names);
    this.childStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.childStart[i + 1] = this.childStart[i] + this.childCount[i];
    this.childList = new Int32Array(Math.max(n - 1, 0));
    for (let p = 0; p < n; p++) {
      let at = this.childStart[p];
      for (let c = this.firstChild[p]; c >= 0; c = this.nextSibling[c]) this.childList[at++] = c;
      if (this.childCount[p] > 1) {
        this.childList.subarray(this.childStart[p], at).sort((a, b) => rank[this.name[a]] - rank[this.name[b]]);
      }
    }
    this.wide = null;
    this.firstChild = null;
    this.nextSibling = null;
    return this;
  }

  nameOf(n) {
    return this.names[this.name[n]];
  }

  /** Ids of `n`'s children, sorted by name (a copy: hot loops index `childList` directly). */
  children(n) {
    return Array.from(this.childList.subarray(this.childStart[n], this.childStart[n + 1]));
  }
}

function copyInto(target, source) {
  if (source) target.set(source.subarray(0, Math.min(source.length, target.length)));
  return target;
}

function nameRanks(names) {
  const order = names.map((_, i) => i).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
  const rank = new Int32Array(names.length);
  order.forEach((id, position) => {
    rank[id] = position;
  });
  return rank;
}

/**
 * A finished tree from `[{frames, value}]`, or from `[{frames, base, head}]`
 * for a diff. With `names`, frames are indexes into it. The root is named
 * `rootName`.
 */
export function buildTree(stacks, diff, names, rootName = 'all') {
  const tree = new Tree(diff, rootName);
  const nameIds = names ? Int32Array.from(names, (name) => tree.intern(String(name))) : null;
  for (const s of stacks) {
    if (diff) tree.add(s.frames, s.base + s.head, s.base, s.head, nameIds);
    else tree.add(s.frames, s.value, 0, 0, nameIds);
  }
  return tree.finish();
}

/**
 * Per-function rows `{name, self, total}` (plus `selfBase`, `selfHead`,
 * `base`, `head` for diffs); a function's total counts a stack once even
 * when it recurses.
 */
export function functionTotals(tree) {
  const names = tree.names.length;
  const sums = {};
  const keys = tree.diff ? ['self', 'total', 'selfBase', 'selfHead', 'base', 'head'] : ['self', 'total'];
  for (const key of keys) sums[key] = new Float64Array(names);
  const seen = new Uint8Array(names);
  const onPath = new Int32Array(names);
  // Depth-first with explicit enter (n) and leave (~n) marks, no recursion.
  const work = new Int32Array(tree.count * 2 + 2);
  const { childList, childStart } = tree;
  let top = 0;
  for (let i = childStart[1] - 1; i >= childStart[0]; i--) work[top++] = childList[i];
  while (top > 0) {
    const item = work[--top];
    if (item < 0) {
      onPath[tree.name[~item]] -= 1;
      continue;
    }
    const id = tree.name[item];
    seen[id] = 1;
    sums.self[id] += tree.self[item];
    if (tree.diff) {
      sums.selfBase[id] += tree.selfBase[item];
      sums.selfHead[id] += tree.selfHead[item];
    }
    if (onPath[id] === 0) {
      sums.total[id] += tree.total[item];
      if (tree.diff) {
        sums.base[id] += tree.base[item];
        sums.head[id] += tree.head[item];
      }
    }
    onPath[id] += 1;
    work[top++] = ~item;
    for (let i = childStart[item + 1] - 1; i >= childStart[item]; i--) work[top++] = childList[i];
  }
  const rows = [];
  for (let id = 0; id < names; id++) {
    if (!seen[id]) continue;
    const row = { name: tree.names[id] };
    for (const key of keys) row[key] = sums[key][id];
    rows.push(row);
  }
  return rows;
}

/**
 * Functions whose self share changed most, from a diff tree: `{name,
 * baseShare, headShare}` sorted by the size of the change.
 */
export function changesFromTree(tree, limit = 50) {
  const base = tree.base[0] || 1;
  const head = tree.head[0] || 1;
  return functionTotals(tree)
    .map((r) => ({ name: r.name, baseShare: r.selfBase / base, headShare: r.selfHead / head }))
    .filter((c) => c.baseShare !== c.headShare)
    .sort((a, b) => Math.abs(b.headShare - b.baseShare) - Math.abs(a.headShare - a.baseShare))
    .slice(0, limit);
}

/**
 * Marks the nodes of the function named `name`: `{matched: Uint8Array by
 * node, count, share}` as `searchTree` gives them.
 */
export function nodesNamed(tree, name) {
  const id = tree.nameIds.get(name);
  return searchTree(tree, { test: (candidate) => id !== undefined && candidate === name });
}

/**
 * Marks the nodes whose name matches `pattern`: `{matched: Uint8Array by
 * node, count, share}`, where `share` is the part of the root they cover
 * (a match inside another match is not counted twice).
 */
export function searchTree(tree, pattern) {
  const hitName = new Uint8Array(tree.names.length);
  tree.names.forEach((name, id) => {
    hitName[id] = pattern.test(name) ? 1 : 0;
  });
  const matched = new Uint8Array(tree.count);
  const inside = new Uint8Array(tree.count);
  let count = 0;
  let covered = 0;
  // Parents come before their children, so one pass in id order works.
  for (let n = 1; n < tree.count; n++) {
    const p = tree.parent[n];
    inside[n] = inside[p] | matched[p];
    if (hitName[tree.name[n]]) {
      matched[n] = 1;
      count += 1;
      if (!inside[n]) covered += tree.total[n];
    }
  }
  return { matched, count, share: tree.total[0] ? covered / tree.total[0] : 0 };
}
