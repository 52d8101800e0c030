// The chart of one profile type over time (a rate, or a gauge's value);
// dragging across it picks a narrower time range.

import { sizedContext } from './canvas.js';
import { formatTick } from './time.js';
import { compact } from './units.js';

const PAD = { left: 68, right: 12, top: 8, bottom: 20 };
/** A drag shorter than this many pixels is a click, not a selection. */
const MIN_DRAG_PX = 4;

export class TimeChart {
  constructor(canvas, onSelect) {
    this.canvas = canvas;
    this.onSelect = onSelect;
    this.lines = [];
    this.from = 0;
    this.to = 1;
    this.drag = null;
    /** Formats a value for the axis. */
    this.format = compact;
    canvas.addEventListener('mousedown', (e) => {
      this.drag = { start: this.xOf(e), end: this.xOf(e) };
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

  /** `lines`: `[{points: [{t, v}], color}]`; `from`/`to` in unix seconds. */
  set(lines, from, to) {
    this.lines = lines;
    this.from = from;
    this.to = to > from ? to : from + 1;
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

  draw() {
    const canvas = this.canvas;
    const width = Math.max(canvas.clientWidth, 300);
    const height = 120;
    const ctx = sizedContext(canvas, width, height);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const span = this.to - this.from;
    // The highest value tops the plot (rates in cores are often far below 1).
    const highest = Math.max(0, ...this.lines.flatMap((l) => l.points.map((p) => p.v)));
    const max = highest > 0 ? highest : 1;
    const x = (t) => PAD.left + ((t - this.from) / span) * plotW;
    const y = (v) => PAD.top + plotH - (v / max) * plotH;
    this.axes(ctx, plotW, plotH, max, span, x);
    for (const line of this.lines) {
      ctx.strokeStyle = line.color;
      ctx.fillStyle = line.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      line.points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
      ctx.stroke();
      for (const p of line.points) ctx.fillRect(x(p.t) - 1.5, y(p.v) - 1.5, 3, 3);
    }
    if (this.drag) {
      ctx.fillStyle = 'rgba(251, 146, 60, 0.25)';
      const a = Math.min(this.drag.start, this.drag.end);
      ctx.fillRect(a, PAD.top, Math.abs(this.drag.end - this.drag.start), plotH);
    }
  }

  axes(ctx, plotW, plotH, max, span, x) {
    ctx.strokeStyle = '#d6d3d1';
    ctx.fillStyle = '#6c665c';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.left, PAD.top, plotW, plotH);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(this.format(max), PAD.left - 4, PAD.top + 4);
    ctx.fillText('0', PAD.left - 4, PAD.top + plotH);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const ticks = Math.max(2, Math.floor(plotW / 110));
    for (let i = 0; i <= ticks; i++) {
      const t = this.from + (span * i) / ticks;
      ctx.fillText(formatTick(t, span), x(t), PAD.top + plotH + 4);
    }
  }
}
