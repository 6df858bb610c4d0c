// Config rules of the Kudu connectors (`kudu:` under a sink, a source or a lookup step's
// connector): the masters, the table, sizes and timeouts, the sink's `deleteWhen` and
// `createTable`. Whether the table's schema fits is checked at start, against the real table
// (the graph cannot know it).
import { isObj, show, type Checker, type Obj } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SinkConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';
import { columnTypes, resolveType, type ColumnType, type TypeAttributes } from './client/schema.ts';

export function checkMasters(c: Checker, s: Obj, p: string): void {
  const m = s['masters'];
  const list = typeof m === 'string' ? m.split(',') : Array.isArray(m) ? m : undefined;
  if (
    !list ||
    list.length === 0 ||
    !list.every((x) => typeof x === 'string' && /^\[?[^\s\]]+\]?(:\d{1,5})?$/.test(x.trim()))
  ) {
    c.add(`${p}.masters`, `expected "host:port" of a Kudu master or a list of them, got ${show(m)}`);
  }
}

/** A column's type and its attributes: decimal's precision and scale, varchar's length. */
function checkColumnType(c: Checker, col: Obj, cp: string): void {
  const type = col['type'];
  if (typeof type !== 'string' || (type !== 'decimal' && !Object.hasOwn(columnTypes, type))) {
    c.add(`${cp}.type`, `expected one of decimal, ${Object.keys(columnTypes).join(', ')}, got ${show(type)}`);
    return;
  }
  const attrs = Object.fromEntries(
    ['precision', 'scale', 'length'].filter((f) => col[f] !== undefined).map((f) => [f, col[f]]),
  );
  const bad = Object.entries(attrs).find(([, v]) => typeof v !== 'number');
  if (bad) {
    c.add(`${cp}.${bad[0]}`, `expected an integer, got ${show(bad[1])}`);
    return;
  }
  const problem = resolveType({ name: '', type: type as ColumnType, ...(attrs as TypeAttributes) });
  if (typeof problem === 'string') c.add(`${cp}.type`, problem);
}

function checkCreateTable(c: Checker, v: unknown, p: string): void {
  if (v === undefined) return;
  if (!isObj(v)) {
    c.add(p, `expected {columns, hashBuckets?, hashColumns?, replicas?}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['columns', 'hashBuckets', 'hashColumns', 'replicas'], p);
  const cols = v['columns'];
  const keys = new Set<string>();
  if (!Array.isArray(cols) || cols.length === 0) {
    c.add(`${p}.columns`, `expected a list of {name, type, key?, nullable?}, got ${show(cols)}`);
  } else {
    let seenNonKey = false;
    cols.forEach((col: unknown, i) => {
      const cp = `${p}.columns[${i}]`;
      if (!isObj(col)) return c.add(cp, `expected {name, type, key?, nullable?}, got ${show(col)}`);
      c.keys(col, ['name', 'type', 'key', 'nullable', 'precision', 'scale', 'length'], cp);
      const name = c.string(col, 'name', cp);
      checkColumnType(c, col, cp);
      for (const f of ['key', 'nullable'])
        if (col[f] !== undefined && typeof col[f] !== 'boolean')
          c.add(`${cp}.${f}`, `expected true or false, got ${show(col[f])}`);
      if (col['key'] === true) {
        if (seenNonKey) c.add(`${cp}.key`, 'key columns must come before every non-key column');
        if (col['nullable'] === true) c.add(`${cp}.nullable`, 'a key column cannot be nullable');
        if (name) keys.add(name);
      } else seenNonKey = true;
    });
    if (keys.size === 0 && cols.every(isObj)) c.add(`${p}.columns`, 'expected at least one key column (key: true)');
  }
  c.number(v, 'hashBuckets', p, { integer: true, min: 2 });
  c.number(v, 'replicas', p, { integer: true, min: 1 });
  const hc = v['hashColumns'];
  if (hc !== undefined) {
    if (!Array.isArray(hc) || hc.length === 0)
      c.add(`${p}.hashColumns`, `expected a list of key columns, got ${show(hc)}`);
    else
      hc.forEach((h: unknown, i) => {
        if (typeof h !== 'string' || !keys.has(h))
          c.add(`${p}.hashColumns[${i}]`, `expected a key column of createTable.columns, got ${show(h)}`);
      });
  }
}

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['masters', 'table', 'batchSize', 'timeout', 'deleteWhen', 'createTable'], p);
    checkMasters(c, s, p);
    c.string(s, 'table', p);
    c.number(s, 'batchSize', p, { integer: true, min: 1 });
    c.duration(s, 'timeout', p, { positive: true });
    checkCreateTable(c, s['createTable'], `${p}.createTable`);
  },
  /** `deleteWhen`: a bool CEL expression over the sink's input records. */
  checkTyped(c, s, p, input) {
    if (s['deleteWhen'] !== undefined) c.expr(s['deleteWhen'], `${p}.deleteWhen`, input, { bool: true });
  },
};

/** Column types come from the table at run time: unknown here (dyn). */
const source: SourceConfigRule = (c, s, p) => {
  c.keys(s, ['masters', 'table', 'columns', 'equals', 'timeout', 'refresh', 'mode', 'maxEntries', 'ttl'], p);
  checkMasters(c, s, p);
  c.string(s, 'table', p);
  const cols = s['columns'];
  if (
    cols !== undefined &&
    (!Array.isArray(cols) || cols.length === 0 || !cols.every((x) => typeof x === 'string' && x !== ''))
  )
    c.add(`${p}.columns`, `expected a non-empty list of column names, got ${show(cols)}`);
  const eq = s['equals'];
  if (eq !== undefined) {
    if (!isObj(eq)) c.add(`${p}.equals`, `expected a map of column → value, got ${show(eq)}`);
    else
      for (const [k, v] of Object.entries(eq))
        if (!['string', 'number', 'boolean'].includes(typeof v))
          c.add(`${p}.equals.${k}`, `expected a string, number or bool, got ${show(v)}`);
  }
  c.duration(s, 'timeout', p, { positive: true });
  c.duration(s, 'refresh', p, { positive: true });
  const mode = s['mode'];
  if (mode !== undefined && mode !== 'copy' && mode !== 'get')
    c.add(
      `${p}.mode`,
      `expected copy (hold the table, scanned every refresh) or get (point gets by key), got ${show(mode)}`,
    );
  if (mode === 'get') {
    if (s['refresh'] !== undefined) c.add(`${p}.refresh`, 'mode: get has no refresh: cached rows expire after ttl');
    c.number(s, 'maxEntries', p, { integer: true, min: 1 });
    c.duration(s, 'ttl', p, { positive: true });
  } else
    for (const f of ['maxEntries', 'ttl'])
      if (s[f] !== undefined) c.add(`${p}.${f}`, `only with mode: get (the copy is scanned again every refresh)`);
  return undefined;
};

export const kuduConfigRules = { source, sink } satisfies ConnectorConfigRule;
