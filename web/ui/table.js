// A sortable, filterable table. Cells are set with textContent only.

/** Rows shown at most; the filter reaches the rest. */
const MAX_ROWS = 500;

/**
 * `columns`: `[{key, label, numeric, format(row) -> text, className(row)}]`.
 * Clicking a header sorts by it; `setFilter` narrows rows by name (a
 * RegExp, or null for all). With `onRow(row)`, clicking a row picks it;
 * `actions`: `[{label, title, run(row)}]` make buttons in a last column.
 */
export class DataTable {
  constructor(table, { onRow = null, actions = [] } = {}) {
    this.table = table;
    this.columns = [];
    this.rows = [];
    this.sortKey = null;
    this.descending = true;
    this.filter = null;
    this.onRow = onRow;
    this.actions = actions;
    this.selected = null;
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

  /** Shows only the rows whose name matches `pattern` (null: every row). */
  setFilter(pattern) {
    this.filter = pattern;
    this.renderBody();
  }

  /** Marks the row named `name` as picked (null for none). */
  select(name) {
    this.selected = name;
    for (const tr of this.table.tBodies[0].rows) {
      if (tr.dataset.name === name) tr.setAttribute('aria-selected', 'true');
      else tr.removeAttribute('aria-selected');
    }
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
    if (this.actions.length) {
      const th = document.createElement('th');
      th.textContent = 'views';
      tr.appendChild(th);
    }
    this.table.tHead.replaceChildren(tr);
  }

  renderBody() {
    const column = this.columns.find((c) => c.key === this.sortKey);
    const value = column && column.sortValue ? column.sortValue : (row) => row[this.sortKey];
    const sign = this.descending ? -1 : 1;
    const rows = this.rows
      .filter((r) => !this.filter || this.filter.test(String(r.name)))
      .sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sign || (a.name < b.name ? -1 : 1);
      })
      .slice(0, MAX_ROWS);
    const body = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement('tr');
      tr.dataset.name = String(row.name);
      if (row.name === this.selected) tr.setAttribute('aria-selected', 'true');
      for (const c of this.columns) {
        const td = document.createElement('td');
        td.textContent = c.format ? c.format(row) : String(row[c.key]);
        td.className = [c.numeric ? 'num' : 'name', c.className ? c.className(row) : ''].join(' ').trim();
        tr.appendChild(td);
      }
      if (this.actions.length) {
        const td = document.createElement('td');
        td.className = 'actions';
        for (const action of this.actions) {
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = action.label;
          button.title = action.title;
          button.dataset.action = action.label;
          button.addEventListener('click', (e) => {
            e.stopPropagation();
            action.run(row);
          });
          td.appendChild(button);
        }
        tr.appendChild(td);
      }
      if (this.onRow) tr.addEventListener('click', () => this.onRow(row));
      body.appendChild(tr);
    }
    this.table.tBodies[0].replaceChildren(body);
  }
}
