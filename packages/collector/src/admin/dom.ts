/**
 * The page builds every element with `h()`: strings always become text nodes, never markup, so whatever a
 * device or a person sent (labels, comments, reasons) is shown as text. No innerHTML anywhere (and the CSP
 * requires Trusted Types, so a stray one would throw instead of rendering).
 */
export type Child = Node | string | number | null | undefined | false;

type Props = {
  class?: string;
  title?: string;
  type?: string;
  value?: string;
  placeholder?: string;
  disabled?: boolean;
  required?: boolean;
  autocomplete?: string;
  name?: string;
  for?: string;
  list?: string;
  maxLength?: number;
  role?: string;
  /** ARIA `aria-pressed` of a toggle button (reflected by the property). */
  ariaPressed?: string;
  href?: string;
  id?: string;
  min?: string;
  max?: string;
  step?: string;
  open?: boolean;
  selected?: boolean;
  dataset?: Record<string, string>;
  on?: { [E in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[E]) => void };
};

/** Creates an element with properties, event handlers and children (strings as text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const { on, dataset, class: cls, for: htmlFor, list, ...rest } = props;
  if (cls) el.className = cls;
  if (htmlFor) el.setAttribute('for', htmlFor);
  if (list) el.setAttribute('list', list);
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (el as unknown as Record<string, unknown>)[k] = v;
  if (dataset) for (const [k, v] of Object.entries(dataset)) el.dataset[k] = v;
  if (on) for (const [type, fn] of Object.entries(on)) el.addEventListener(type, fn as EventListener);
  append(el, ...children);
  return el;
}

/** Appends children; strings and numbers as text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** A table with a header row and one row per item. */
export function table<T>(
  columns: [string, (item: T) => Child][],
  items: readonly T[],
  empty = 'Nothing yet.',
): HTMLElement {
  if (items.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...columns.map(([name]) => h('th', {}, name)))),
    h('tbody', {}, ...items.map((item) => h('tr', {}, ...columns.map(([, cell]) => h('td', {}, cell(item)))))),
  );
}

export const time = (ms: number | null | undefined) => (ms ? new Date(ms).toLocaleString() : '—');
export const num = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '—' : x.toFixed(digits);
/** A small coloured word: `kind` picks the colour (ok, bad, warn, info). */
export const badge = (text: string, kind: 'ok' | 'bad' | 'warn' | 'info' = 'info') =>
  h('span', { class: `badge ${kind}` }, text);
export const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`;
