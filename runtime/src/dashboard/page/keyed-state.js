// @ts-check
// A stateful step's keyed state as the page shows it (DashboardNode.keyedState), as plain strings
// so that unit tests read them without a DOM: one line in the step's box of the graph, and the
// rows of the "Keyed state" table — each step's figures summed over its slots, then each slot's
// own when more than one slot reported. Sizes a step has not written yet, and the disk figures of
// a step on the heap, show as '–'.
import { bytes, count } from './format.js';

export const STATE_COLUMNS = [
  'Step',
  'Slot',
  'Backend',
  'Keys',
  'Last full snapshot',
  'Last delta',
  'On disk',
  'Cached entries',
];

/**
 * The graph box's line: keys, and the size that bounds the step: on disk (disk backend) or its
 * last full snapshot (heap). Empty for a node without keyed state.
 * @param {any} st DashboardKeyedState or undefined
 * @returns {string}
 */
export function stateLine(st) {
  if (!st) return '';
  const size = st.backend === 'disk' ? `disk ${bytes(st.localBytes)}` : `snapshot ${bytes(st.fullSnapshotBytes)}`;
  return `${count(st.keys)} keys · ${size}`;
}

/**
 * @param {string} step @param {string} slot
 * @param {any} st DashboardStateFigures
 * @returns {string[]}
 */
function figures(step, slot, st) {
  const disk = st.backend === 'disk';
  return [
    step,
    slot,
    st.backend,
    count(st.keys),
    bytes(st.fullSnapshotBytes),
    bytes(st.deltaBytes),
    disk ? bytes(st.localBytes) : '–',
    disk ? count(st.cachedEntries) : '–',
  ];
}

/**
 * The table's rows, in graph order: a step's sums (slot `all (n)`, or the slot's index when one
 * slot reported), then one row per slot when there are several.
 * @param {any[]} nodes DashboardNode[]
 * @returns {string[][]}
 */
export function stateRows(nodes) {
  /** @type {string[][]} */
  const rows = [];
  for (const n of nodes) {
    const st = n.keyedState;
    if (!st) continue;
    /** @type {any[]} */
    const slots = st.slots ?? [];
    const first = slots[0];
    const label = slots.length > 1 ? `all (${slots.length})` : first ? String(first.slot) : 'all';
    rows.push(figures(n.id, label, st));
    if (slots.length > 1) for (const s of slots) rows.push(figures('', String(s.slot), s));
  }
  return rows;
}
