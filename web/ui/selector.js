// Selector text helpers and the completion list for selector inputs:
// label names inside `{...}`, label values after `name="`, profile names
// before the braces.

import { labelNames, labelValues } from './api.js';

const MAX_SUGGESTIONS = 50;

/** A Prometheus string literal for `value`. */
export function quote(value) {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `selector` with one more matcher `name="value"`. */
export function withMatcher(selector, name, value) {
  const matcher = `${name}=${quote(value)}`;
  const s = selector.trim();
  const close = s.lastIndexOf('}');
  if (close < 0) return `${s}{${matcher}}`;
  const inside = s.slice(s.indexOf('{') + 1, close).trim();
  return `${s.slice(0, close).trimEnd()}${inside ? ', ' : ''}${matcher}${s.slice(close)}`;
}

/** A profile name written before the braces, `process_cpu` in `process_cpu{...}`. */
const LEADING_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
/** A `__name__="..."` equality matcher, the other way to name a profile. */
const NAME_MATCHER = /([{,]\s*__name__\s*=\s*)"((?:[^"\\]|\\.)*)"/;

/** The profile name a selector asks for, or `''` when it names none. */
export function profileName(selector) {
  const s = String(selector ?? '').trim();
  const leading = s.match(LEADING_NAME);
  if (leading) return leading[0];
  const matcher = s.match(NAME_MATCHER);
  return matcher ? matcher[2].replace(/\\(.)/g, '$1') : '';
}

/**
 * `selector` asking for profile `name` instead of the one it names; a
 * selector that names none is returned as it is.
 */
export function withProfileName(selector, name) {
  const s = String(selector ?? '').trim();
  const leading = s.match(LEADING_NAME);
  if (leading) {
    const rest = s.slice(leading[0].length);
    if (LEADING_NAME.exec(name)?.[0] === name) return `${name}${rest}`;
    return withMatcher(rest || '{}', '__name__', name);
  }
  return s.replace(NAME_MATCHER, (_, before) => `${before}${quote(name)}`);
}

/** `selector` without the profile name before its braces: the labels it matches. */
export function labelPart(selector) {
  return String(selector ?? '').trim().replace(LEADING_NAME, '').trim();
}

/** Whether `selector` has a matcher on label `name`. */
export function hasMatcher(selector, name) {
  return new RegExp(`[{,]\\s*${name}\\s*(=|!=|=~|!~)`).test(String(selector ?? ''));
}

/**
 * What the text before the cursor is asking for: `{kind: 'name'|'value'|
 * 'metric', label, prefix, start}`, where `start` is where the typed prefix begins.
 */
export function completionContext(text, cursor) {
  const before = text.slice(0, cursor);
  const open = before.lastIndexOf('{');
  if (open < 0 || before.lastIndexOf('}') > open) {
    const m = before.match(/[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    if (before.lastIndexOf('}') > open) return null;
    return { kind: 'metric', label: '__name__', prefix: m ? m[0] : '', start: cursor - (m ? m[0].length : 0) };
  }
  const inside = before.slice(open + 1);
  const value = inside.match(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/);
  if (value) return { kind: 'value', label: value[1], prefix: value[3], start: cursor - value[3].length };
  const name = inside.match(/(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/);
  if (name) {
    const prefix = name[1] || '';
    return { kind: 'name', label: '', prefix, start: cursor - prefix.length };
  }
  return null;
}

/** Attaches completion to a selector input, sharing one list element. */
export class Completer {
  constructor(list) {
    this.list = list;
    this.input = null;
    this.items = [];
    this.active = -1;
    this.context = null;
    this.names = null;
    this.values = new Map();
    this.generation = 0;
    list.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li');
      if (!li) return;
      e.preventDefault();
      this.accept(Number(li.dataset.index));
    });
  }

  attach(input) {
    input.addEventListener('input', () => this.update(input));
    input.addEventListener('focus', () => this.update(input));
    input.addEventListener('blur', () => this.hide());
    input.addEventListener('keydown', (e) => this.key(e));
  }

  async suggestions(context) {
    if (context.kind === 'name') {
      this.names ||= await labelNames().catch(() => []);
      return this.names.filter((n) => n !== '__name__');
    }
    if (!this.values.has(context.label)) {
      this.values.set(context.label, await labelValues(context.label).catch(() => []));
    }
    return this.values.get(context.label);
  }

  async update(input) {
    const generation = ++this.generation;
    const context = completionContext(input.value, input.selectionStart ?? input.value.length);
    if (!context) return this.hide();
    const all = await this.suggestions(context);
    if (generation !== this.generation) return undefined;
    const prefix = context.prefix.toLowerCase();
    this.items = all.filter((s) => s.toLowerCase().startsWith(prefix) && s !== context.prefix).slice(0, MAX_SUGGESTIONS);
    this.input = input;
    this.context = context;
    this.active = this.items.length ? 0 : -1;
    return this.render();
  }

  render() {
    const list = this.list;
    list.replaceChildren();
    if (!this.items.length || document.activeElement !== this.input) return this.hide();
    this.items.forEach((item, index) => {
      const li = document.createElement('li');
      li.textContent = item;
      li.dataset.index = String(index);
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(index === this.active));
      list.appendChild(li);
    });
    const box = this.input.getBoundingClientRect();
    list.style.left = `${box.left + window.scrollX}px`;
    list.style.top = `${box.bottom + window.scrollY + 2}px`;
    list.hidden = false;
    return undefined;
  }

  hide() {
    this.list.hidden = true;
    this.items = [];
  }

  key(e) {
    if (this.list.hidden || !this.items.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.render();
      e.preventDefault();
    } else if (e.key === 'Tab' || (e.key === 'Enter' && this.active >= 0)) {
      this.accept(this.active);
      e.preventDefault();
    } else if (e.key === 'Escape') {
      this.hide();
    }
  }

  accept(index) {
    const item = this.items[index];
    const { input, context } = this;
    if (item === undefined || !input) return;
    const cursor = input.selectionStart ?? input.value.length;
    let insert = item;
    if (context.kind === 'value') insert = item.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    if (context.kind === 'name') insert = `${item}="`;
    let after = input.value.slice(cursor);
    if (context.kind === 'value' && !after.startsWith('"')) insert += '"';
    if (context.kind === 'metric' && !after.startsWith('{')) after = `{}${after}`;
    input.value = input.value.slice(0, context.start) + insert + after;
    const caret = context.start + insert.length + (context.kind === 'metric' ? 1 : 0);
    input.setSelectionRange(caret, caret);
    this.hide();
    this.update(input);
  }
}
