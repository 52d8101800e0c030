// A flame graph on a canvas: zoom on click, highlight with the rest
// dimmed, icicle (root on top, the default) or flame orientation, a
// frame selected from the keyboard, and frame lookup for the tooltip.
// Frame names are only ever drawn with fillText, never parsed as markup.

import { sizedContext } from './canvas.js';

const ROW_HEIGHT = 18;
/** Frames narrower than this many CSS pixels are not drawn (or hit). */
const MIN_FRAME_PX = 0.4;
/** Frames narrower than this get no label. */
const MIN_LABEL_PX = 28;
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, monospace';
/** Opacity of the frames a highlight leaves out, and of a zoom's ancestors. */
const DIMMED_ALPHA = 0.25;
const ANCESTOR_ALPHA = 0.55;
/** Text on frames: the frames' colours are light in both themes. */
const LABEL_COLOR = '#1c1917';

export class FlameGraph {
  /**
   * `values`: which of the tree's per-node arrays sizes frames (`total`,
   * or `base`/`head` to draw one side of a diff). `color(n)`: a frame's
   * colour, by default `kindColor` of its name.
   */
  constructor(canvas, {
    diff = false, onZoom = () => {}, onDraw = () => {}, values = 'total', color = null,
  } = {}) {
    this.canvas = canvas;
    this.diff = diff;
    this.onZoom = onZoom;
    this.onDraw = onDraw;
    this.valueKey = values;
    this.color = color;
    this.tree = null;
    this.zoomed = 0;
    this.icicle = true;
    this.highlight = null;
    this.selected = -1;
    this.rows = [];
    canvas.addEventListener('click', (e) => {
      const hit = this.frameAtEvent(e);
      if (hit !== null) {
        this.select(hit);
        this.zoom(hit);
      }
    });
  }

  setTree(tree) {
    this.tree = tree;
    this.zoomed = 0;
    this.selected = -1;
    this.highlight = null;
    this.draw();
  }

  /** The per-node values that size frames. */
  values() {
    return this.tree[this.valueKey] || this.tree.total;
  }

  /** Zooms on node `target` (0, the root, shows everything). */
  zoom(target) {
    this.zoomed = target;
    this.draw();
    this.onZoom(this.zoomed);
  }

  reset() {
    this.zoom(0);
  }

  setIcicle(icicle) {
    this.icicle = icicle;
    this.draw();
  }

  /**
   * `highlight`: a Uint8Array by node, 1 for the frames to show; the
   * others are dimmed. Null shows every frame in its colour.
   */
  setHighlight(highlight) {
    this.highlight = highlight;
    this.draw();
  }

  /** Marks node `n` as the keyboard's current frame (-1 for none). */
  select(n) {
    this.selected = n;
    this.draw();
  }

  /** The node under a mouse event, or null. */
  frameAtEvent(e) {
    const box = this.canvas.getBoundingClientRect();
    return this.frameAt(e.clientX - box.left, e.clientY - box.top);
  }

  /** The node at canvas CSS coordinates, or null. */
  frameAt(x, y) {
    const row = this.rowOfY(y);
    const frames = this.rows[row];
    if (!frames) return null;
    let lo = 0;
    let hi = frames.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = frames[mid];
      if (x < f.x) hi = mid - 1;
      else if (x >= f.x + f.w) lo = mid + 1;
      else return f.node;
    }
    return null;
  }

  /** Canvas CSS rectangle `{x, y, w, h}` of a drawn node, or null. */
  rectOf(node) {
    const depth = this.tree.depth[node];
    const f = (this.rows[depth] || []).find((r) => r.node === node);
    return f ? { x: f.x, y: this.yOfRow(depth), w: f.w, h: ROW_HEIGHT } : null;
  }

  rowOfY(y) {
    const row = Math.floor(y / ROW_HEIGHT);
    return this.icicle ? row : this.depthCount() - 1 - row;
  }

  yOfRow(depth) {
    return (this.icicle ? depth : this.depthCount() - 1 - depth) * ROW_HEIGHT;
  }

  depthCount() {
    return this.tree ? this.tree.maxDepth + 1 : 1;
  }

  draw() {
    const canvas = this.canvas;
    const width = Math.max(canvas.parentElement.clientWidth, 300);
    const height = this.depthCount() * ROW_HEIGHT;
    const ctx = sizedContext(canvas, width, height);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    this.rows = [];
    const tree = this.tree;
    if (!tree || this.values()[0] <= 0) {
      this.onDraw(this);
      return;
    }
    this.ellipsisWidth = ctx.measureText('…').width;
    this.charWidth = ctx.measureText('m').width;
    // Ancestors of the zoomed frame span the whole width, dimmed.
    for (let a = tree.parent[this.zoomed]; a >= 0; a = tree.parent[a]) this.drawFrame(ctx, a, 0, width, ANCESTOR_ALPHA);
    this.drawSubtree(ctx, this.zoomed, width);
    const mark = this.selected >= 0 ? this.rectOf(this.selected) : null;
    if (mark) {
      ctx.strokeStyle = LABEL_COLOR;
      ctx.lineWidth = 2;
      ctx.strokeRect(mark.x + 1, mark.y + 1, Math.max(mark.w - 2, 1), ROW_HEIGHT - 3);
    }
    this.onDraw(this);
  }

  drawSubtree(ctx, top, width) {
    const tree = this.tree;
    const values = this.values();
    if (values[top] <= 0) return;
    const scale = width / values[top];
    const nodes = [top];
    const xs = [0];
    while (nodes.length) {
      const n = nodes.pop();
      const x = xs.pop();
      const w = values[n] * scale;
      if (w < MIN_FRAME_PX) continue;
      const dimmed = this.highlight && !this.highlight[n];
      this.drawFrame(ctx, n, x, w, dimmed ? DIMMED_ALPHA : 1);
      let childX = x;
      for (let i = tree.childStart[n]; i < tree.childStart[n + 1]; i++) {
        const c = tree.childList[i];
        nodes.push(c);
        xs.push(childX);
        childX += values[c] * scale;
      }
    }
    for (const row of this.rows) if (row) row.sort((a, b) => a.x - b.x);
  }

  drawFrame(ctx, n, x, w, alpha) {
    const depth = this.tree.depth[n];
    (this.rows[depth] ||= []).push({ x, w, node: n });
    const y = this.yOfRow(depth);
    ctx.globalAlpha = alpha;
    ctx.fillStyle = this.colorOf(n);
    ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW_HEIGHT - 1);
    if (w >= MIN_LABEL_PX) {
      ctx.fillStyle = LABEL_COLOR;
      ctx.fillText(this.fit(ctx, this.tree.nameOf(n), w - 6), x + 3, y + ROW_HEIGHT / 2);
    }
    ctx.globalAlpha = 1;
  }

  fit(ctx, text, room) {
    // Estimate from the monospace width first; measure only near the limit.
    const estimate = Math.floor(room / this.charWidth);
    if (text.length <= estimate) return text;
    let cut = Math.max(estimate - 1, 0);
    while (cut > 0 && ctx.measureText(text.slice(0, cut)).width + this.ellipsisWidth > room) cut--;
    return cut > 0 ? `${text.slice(0, cut)}…` : '';
  }

  colorOf(n) {
    const tree = this.tree;
    if (n === 0) return '#d6d3d1';
    if (tree.diff && this.valueKey === 'total') return diffColor(tree.base[n], tree.head[n]);
    if (this.color) return this.color(n);
    const name = tree.nameOf(n);
    return kindColor(tree.kinds?.get(name), name);
  }

  /** The drawn frames in depth-first order, widest first among siblings: `[node]`. */
  drawnInOrder() {
    const drawn = new Set();
    for (const row of this.rows) for (const f of row || []) drawn.add(f.node);
    const out = [];
    const tree = this.tree;
    if (!tree) return out;
    const values = this.values();
    const work = [];
    for (let a = this.zoomed; a >= 0; a = tree.parent[a]) work.push(a);
    // Ancestors first (root down), then the zoomed subtree.
    const ancestors = work.reverse();
    out.push(...ancestors.slice(0, -1));
    const stack = [this.zoomed];
    while (stack.length) {
      const n = stack.pop();
      if (!drawn.has(n)) continue;
      out.push(n);
      const children = tree.children(n).sort((a, b) => values[a] - values[b]);
      stack.push(...children);
    }
    return out;
  }

  /**
   * The keyboard's moves from the selected frame: `up`/`down` to the
   * parent or the widest child (in screen terms for the orientation),
   * `left`/`right` to the neighbouring frame of the same row.
   */
  move(direction) {
    const tree = this.tree;
    if (!tree) return;
    let n = this.selected >= 0 ? this.selected : this.zoomed;
    const values = this.values();
    const toParent = () => (tree.parent[n] >= 0 ? tree.parent[n] : n);
    const toChild = () => {
      const children = tree.children(n).filter((c) => values[c] > 0);
      return children.length ? children.reduce((a, b) => (values[b] > values[a] ? b : a)) : n;
    };
    if (direction === 'up') n = this.icicle ? toParent() : toChild();
    else if (direction === 'down') n = this.icicle ? toChild() : toParent();
    else {
      const row = this.rows[tree.depth[n]] || [];
      const at = row.findIndex((f) => f.node === n);
      const next = row[at + (direction === 'left' ? -1 : 1)];
      if (at >= 0 && next) n = next.node;
    }
    this.select(n);
  }
}

/** What ran a frame, as the legend names it, by the kinds the server sends. */
export const KIND_LABELS = { native: 'native', kernel: 'kernel', python: 'Python', jit: 'JIT' };

/**
 * A stable color per name within its kind's hue: warm for native code
 * (classic flame graphs; `group`, the binary or package, sets the shade so
 * frames of one binary look alike), purple for the kernel, blue for
 * Python, green for JIT code.
 */
export function kindColor(kind, name, group) {
  const [a, b] = nameHash(name);
  switch (kind) {
    case 'kernel': return `hsl(${275 + Math.round(20 * a)},40%,${Math.round(62 + 12 * b)}%)`;
    case 'python': return `hsl(${198 + Math.round(20 * a)},62%,${Math.round(58 + 14 * b)}%)`;
    case 'jit': return `hsl(${105 + Math.round(30 * a)},45%,${Math.round(50 + 14 * b)}%)`;
    default: return group ? warmColor(nameHash(group)[0], b) : warmColor(a, b);
  }
}

/** Two numbers in [0, 1] from a name, the same for the same name. */
function nameHash(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return [(h >>> 0) / 4294967296, ((h >>> 12) & 0xff) / 255];
}

/** A warm color, like classic flame graphs, from a name's hash. */
function warmColor(a, b) {
  return `rgb(${205 + Math.round(50 * b)},${Math.round(80 + 130 * a)},${Math.round(40 + 40 * b)})`;
}

/** Red when a frame grew from base to head, blue when it shrank, grey when equal. */
function diffColor(base, head) {
  const biggest = Math.max(base, head);
  const change = biggest ? (head - base) / biggest : 0;
  const strength = Math.min(Math.abs(change), 1);
  const fade = (c) => Math.round(235 - (235 - c) * strength);
  if (change > 0) return `rgb(${fade(215)},${fade(48)},${fade(31)})`;
  if (change < 0) return `rgb(${fade(43)},${fade(108)},${fade(176)})`;
  return 'rgb(235,235,235)';
}

export { ROW_HEIGHT };
