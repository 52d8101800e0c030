// The chart of one profile type over time (a rate, or a gauge's value),
// one line per series group; dragging across it picks a narrower time
// range, hovering reads the lines' values at a time.

import { sizedContext } from './canvas.js';
import { formatTick } from './time.js';
import { compact } from './units.js';

const PAD = { left: 84, right: 12, top: 10, bottom: 22 };
const HEIGHT = 140;
/** A drag shorter than this many pixels is a click, not a selection. */
const MIN_DRAG_PX = 4;
/** Horizontal room each time label takes. */
const TICK_PX = 110;

export class TimeChart {
  /**
   * `onSelect(from, to)` gets a dragged range (unix seconds); `onHover(t,
   * [{line, value}])` the lines' values at the hovered time, or null.
   */
  constructor(canvas, onSelect, onHover = () => {}) {
    this.canvas = canvas;
    this.onSelect = onSelect;
    this.onHover = onHover;
    this.lines = [];
    this.from = 0;
    this.to = 1;
    this.drag = null;
    this.hover = null;
    /** Formats a value for the axis. */
    this.format = compact;
    /** The colour of the dragged range. */
    this.brushColor = 'rgba(251, 146, 60, 0.25)';
    canvas.addEventListener('mousedown', (e) => {
      this.drag = { start: this.xOf(e), end: this.xOf(e) };
    });
    canvas.addEventListener('mousemove', (e) => {
      if (this.drag) return;
      this.hover = this.xOf(e);
      this.draw();
      this.readout();
    });
    canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.draw();
      this.onHover(null, []);
    });
    window.addEventListener('mousemove', (e) => {
      if (!this.drag) return;
      this.drag.end = this.xOf(e);
      this.draw();
    });
    window.addEventListener('mouseup', () => {
      if (!this.drag) return;
      const { start, end } = this.drag;
      this.drag = null;
      this.draw();
      if (Math.abs(end - start) >= MIN_DRAG_PX) {
        const a = this.timeAt(Math.min(start, end));
        const b = this.timeAt(Math.max(start, end));
        this.onSelect(Math.floor(a), Math.ceil(b));
      }
    });
  }

  /**
   * `lines`: `[{points: [{t, v}], color, name, hidden}]`; `from`/`to` in
   * unix seconds.
   */
  set(lines, from, to) {
    this.lines = lines;
    this.from = from;
    this.to = to > from ? to : from + 1;
    this.draw();
  }

  /** Shows or hides line `index`. */
  toggle(index) {
    const line = this.lines[index];
    if (!line) return;
    line.hidden = !line.hidden;
    this.draw();
  }

  xOf(e) {
    const box = this.canvas.getBoundingClientRect();
    return Math.min(Math.max(e.clientX - box.left, PAD.left), box.width - PAD.right);
  }

  timeAt(x) {
    const plot = this.canvas.clientWidth - PAD.left - PAD.right;
    return this.from + ((x - PAD.left) / plot) * (this.to - this.from);
  }

  /** Reports each shown line's value at the point nearest the hovered time. */
  readout() {
    if (this.hover === null) return;
    const t = this.timeAt(this.hover);
    const values = [];
    let at = null;
    for (const line of this.lines) {
      if (line.hidden || !line.points.length) continue;
      const nearest = line.points.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a));
      at ??= nearest.t;
      values.push({ line, value: nearest.v });
    }
    this.onHover(at, values);
  }

  draw() {
    const canvas = this.canvas;
    const width = Math.max(canvas.clientWidth, 300);
    const ctx = sizedContext(canvas, width, HEIGHT);
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const span = this.to - this.from;
    const shown = this.lines.filter((l) => !l.hidden);
    // The highest value tops the plot (rates in cores are often far below 1).
    const highest = Math.max(0, ...shown.flatMap((l) => l.points.map((p) => p.v)));
    const max = highest > 0 ? highest : 1;
    const x = (t) => PAD.left + ((t - this.from) / span) * plotW;
    const y = (v) => PAD.top + plotH - (v / max) * plotH;
    this.axes(ctx, plotW, plotH, max, span, x);
    for (const line of shown) {
      ctx.strokeStyle = line.color;
      ctx.fillStyle = line.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      line.points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
      ctx.stroke();
      for (const p of line.points) ctx.fillRect(x(p.t) - 1.5, y(p.v) - 1.5, 3, 3);
    }
    if (this.hover !== null && !this.drag) {
      ctx.strokeStyle = cssColor('--muted', '#6c665c');
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(this.hover, PAD.top);
      ctx.lineTo(this.hover, PAD.top + plotH);
      ctx.stroke();
    }
    if (this.drag) {
      ctx.fillStyle = this.brushColor;
      const a = Math.min(this.drag.start, this.drag.end);
      ctx.fillRect(a, PAD.top, Math.abs(this.drag.end - this.drag.start), plotH);
    }
  }

  axes(ctx, plotW, plotH, max, span, x) {
    ctx.strokeStyle = cssColor('--line', '#d6d3d1');
    ctx.fillStyle = cssColor('--muted', '#6c665c');
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left, PAD.top, plotW, plotH);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    // The top label sits level with the plot's top edge, inside the canvas.
    ctx.fillText(this.format(max), PAD.left - 6, PAD.top);
    ctx.fillText(this.format(max / 2), PAD.left - 6, PAD.top + plotH / 2);
    ctx.fillText('0', PAD.left - 6, PAD.top + plotH);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const ticks = Math.max(2, Math.floor(plotW / TICK_PX));
    let last = null;
    for (let i = 0; i <= ticks; i++) {
      const t = this.from + (span * i) / ticks;
      const label = formatTick(t, span);
      // Ticks closer than the labels' precision would repeat a label.
      if (label === last) continue;
      last = label;
      // The first and last labels stay inside the canvas.
      ctx.textAlign = i === 0 ? 'left' : i === ticks ? 'right' : 'center';
      ctx.fillText(label, x(t), PAD.top + plotH + 5);
    }
  }
}

/** A colour of the page's theme, by its CSS custom property. */
export function cssColor(property, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(property).trim();
  return value || fallback;
}
