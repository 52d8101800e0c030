// The text equivalent of a canvas view: a tree grid of the frames drawn,
// with their names and values, for screen readers (and the browser
// tests, which read what the canvas shows from it). Names reach the DOM
// through textContent only.

/** Rows listed at most; the canvas draws more only as slivers. */
const MAX_ROWS = 2000;

/**
 * Keeps `table` (a `<table role="treegrid">` with a `<tbody>`) listing the
 * frames `graph` (a FlameGraph) draws. `format(graph, node)` gives the
 * cells after the name: `[[column, text]]`.
 */
export class TextView {
  constructor(table, format) {
    this.table = table;
    this.format = format;
  }

  update(graph) {
    const body = this.table.tBodies[0];
    const rows = document.createDocumentFragment();
    const tree = graph.tree;
    const nodes = tree ? graph.drawnInOrder() : [];
    const head = this.table.tHead;
    if (head && tree && nodes.length) {
      const tr = document.createElement('tr');
      for (const label of ['depth', 'function', ...this.format(graph, nodes[0]).map(([column]) => column)]) {
        const th = document.createElement('th');
        th.textContent = label;
        tr.appendChild(th);
      }
      head.replaceChildren(tr);
    }
    for (const n of nodes.slice(0, MAX_ROWS)) {
      const tr = document.createElement('tr');
      tr.setAttribute('aria-level', String(tree.depth[n] + 1));
      tr.dataset.node = String(n);
      if (n === graph.selected) tr.setAttribute('aria-selected', 'true');
      const cells = [['depth', String(tree.depth[n])], ['function', tree.nameOf(n)], ...this.format(graph, n)];
      for (const [column, text] of cells) {
        const td = document.createElement('td');
        td.dataset.column = column;
        td.textContent = text;
        tr.appendChild(td);
      }
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
    this.table.dataset.rows = String(Math.min(nodes.length, MAX_ROWS));
    this.table.dataset.truncated = String(nodes.length > MAX_ROWS);
  }
}
