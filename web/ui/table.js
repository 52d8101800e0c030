// A sortable, filterable table. Cells are set with textContent only.

/** Rows shown at most; the filter reaches the rest. */
const MAX_ROWS = 500;

/**
 * `columns`: `[{key, label, numeric, format(row) -> text, className(row)}]`.
 * Clicking a header sorts by it; `filter` narrows rows by name.
 */
export class DataTable {
  constructor(table, filterInput) {
    this.table = table;
    this.columns = [];
    this.rows = [];
    this.sortKey = null;
    this.descending = true;
    this.filter = '';
    if (filterInput) {
      filterInput.addEventListener('input', () => {
        this.filter = filterInput.value.toLowerCase();
        this.renderBody();
      });
    }
  }

  set(columns, rows, sortKey) {
    this.columns = columns;
    this.rows = rows;
    if (!columns.some((c) => c.key === this.sortKey)) {
      this.sortKey = sortKey;
      this.descending = true;
    }
    this.renderHead();
    this.renderBody();
  }

  renderHead() {
    const tr = document.createElement('tr');
    for (const column of this.columns) {
      const th = document.createElement('th');
      th.textContent = column.label;
      th.dataset.key = column.key;
      if (column.numeric) th.className = 'num';
      if (column.key === this.sortKey) th.setAttribute('aria-sort', this.descending ? 'descending' : 'ascending');
      th.addEventListener('click', () => {
        this.descending = this.sortKey === column.key ? !this.descending : column.numeric;
        this.sortKey = column.key;
        this.renderHead();
        this.renderBody();
      });
      tr.appendChild(th);
    }
    this.table.tHead.replaceChildren(tr);
  }

  renderBody() {
    const column = this.columns.find((c) => c.key === this.sortKey);
    const value = column && column.sortValue ? column.sortValue : (row) => row[this.sortKey];
    const sign = this.descending ? -1 : 1;
    const rows = this.rows
      .filter((r) => !this.filter || String(r.name).toLowerCase().includes(this.filter))
      .sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sign || (a.name < b.name ? -1 : 1);
      })
      .slice(0, MAX_ROWS);
    const body = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement('tr');
      for (const c of this.columns) {
        const td = document.createElement('td');
        td.textContent = c.format ? c.format(row) : String(row[c.key]);
        td.className = [c.numeric ? 'num' : 'name', c.className ? c.className(row) : ''].join(' ').trim();
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    this.table.tBodies[0].replaceChildren(body);
  }
}
