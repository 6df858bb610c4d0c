// @ts-check
// Number and time formatting for the page, and a small DOM builder that sets text only (no
// innerHTML: names and messages come from jobs and are never parsed as markup).
/* global document */

/** @param {number | undefined | null} v */
export function rate(v) {
  if (v === undefined || v === null) return '–';
  return `${count(v)}/s`;
}

/** @param {number | undefined | null} v */
export function count(v) {
  if (v === undefined || v === null) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 10 || v === Math.round(v) ? `${Math.round(v)}` : v.toFixed(1);
}

/** @param {number | undefined | null} v a share 0..1 */
export function percent(v) {
  return v === undefined || v === null ? '–' : `${Math.round(v * 100)}%`;
}

/** @param {number | undefined | null} ms */
export function duration(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** @param {number | undefined | null} b */
export function bytes(b) {
  if (b === undefined || b === null) return '–';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(1)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}

/** @param {string} iso */
export function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/**
 * A table body's rows from cells (text or nodes); an empty list shows `empty` across the table.
 * @param {HTMLTableSectionElement} body
 * @param {(Node | string)[][]} rows
 * @param {number} columns
 * @param {string} empty
 */
export function fillRows(body, rows, columns, empty) {
  const next = rows.map((cells) =>
    el(
      'tr',
      {},
      cells.map((c) => el('td', {}, [c])),
    ),
  );
  if (next.length === 0) next.push(el('tr', {}, [el('td', { colspan: String(columns), class: 'empty' }, [empty])]));
  body.replaceChildren(...next);
}
