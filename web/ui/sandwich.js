// The sandwich view of one function: who calls it (its callers, merged
// over every place it appears) and what it calls (its callees, merged
// likewise), as two call trees rooted at the function.
//
// A recursive function is counted at its outermost frame of each stack
// only, so the function's total is the same in both trees and in the
// top functions table.

import { buildTree } from './tree.js';

/**
 * `{callers, callees}`: call trees rooted at the function named `name` (or
 * null trees when it is absent). In `callers` the root's children are its
 * direct callers and their children the callers' callers; in `callees`
 * they are the functions it calls, as in the flame graph.
 */
export function sandwich(tree, name) {
  const id = tree.nameIds.get(name);
  if (id === undefined) return { callers: null, callees: null };
  // The outermost frame of the function above each node, or -1.
  const outer = new Int32Array(tree.count).fill(-1);
  for (let n = 1; n < tree.count; n++) {
    const above = outer[tree.parent[n]];
    outer[n] = above >= 0 ? above : tree.name[n] === id ? n : -1;
  }
  const callerStacks = [];
  const calleeStacks = [];
  const side = (n, key) => (tree.diff ? tree[key][n] : 0);
  for (let n = 1; n < tree.count; n++) {
    if (outer[n] === n) {
      const frames = [];
      for (let a = tree.parent[n]; a > 0; a = tree.parent[a]) frames.push(tree.names[tree.name[a]]);
      callerStacks.push({
        frames, value: tree.total[n], base: side(n, 'base'), head: side(n, 'head'),
      });
    }
    const self = tree.self[n];
    if (outer[n] >= 0 && self > 0) {
      const frames = [];
      for (let a = n; a !== outer[n]; a = tree.parent[a]) frames.push(tree.names[tree.name[a]]);
      frames.reverse();
      calleeStacks.push({
        frames, value: self, base: side(n, 'selfBase'), head: side(n, 'selfHead'),
      });
    }
  }
  const build = (stacks) => {
    const built = buildTree(stacks, tree.diff, null, name);
    built.kinds = tree.kinds;
    built.details = tree.details;
    return built;
  };
  return { callers: build(callerStacks), callees: build(calleeStacks) };
}
