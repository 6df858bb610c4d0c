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

/** `tls`: a CA to verify the servers against, or an explicit `verify: false`; never both, never neither. */
export function checkTls(c: Checker, v: unknown, p: string): void {
  if (v === undefined) return;
  if (!isObj(v)) {
    c.add(
      p,
      `expected {ca} (the cluster's CA certificate: a PEM file's path or the PEM) or {verify: false}, got ${show(v)}`,
    );
    return;
  }
  c.keys(v, ['ca', 'verify'], p);
  const ca = v['ca'];
  const verify = v['verify'];
  if (ca !== undefined && (typeof ca !== 'string' || ca.trim() === ''))
    c.add(`${p}.ca`, `expected a PEM file's path or the PEM text, got ${show(ca)}`);
  if (verify !== undefined && typeof verify !== 'boolean')
    c.add(`${p}.verify`, `expected true or false, got ${show(verify)}`);
  if (verify === false && ca !== undefined)
    c.add(`${p}.verify`, 'verify: false accepts any certificate, so a ca would be ignored: give one or the other');
  if (verify !== false && ca === undefined)
    c.add(
      `${p}.ca`,
      "required (the cluster's CA certificate) unless verify: false: the servers' certificates are otherwise unchecked",
    );
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
    c.add(p, `expected {columns, hashBuckets?, hashColumns?, replicas?, rangePartition?}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['columns', 'hashBuckets', 'hashColumns', 'replicas', 'rangePartition'], p);
  const cols = v['columns'];
  const keys = new Set<string>();
  const types = new Map<string, unknown>();
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
        if (name) {
          keys.add(name);
          types.set(name, col['type']);
        }
      } else seenNonKey = true;
    });
    if (keys.size === 0 && cols.every(isObj)) c.add(`${p}.columns`, 'expected at least one key column (key: true)');
  }
  checkRangePartition(c, v['rangePartition'], `${p}.rangePartition`, types);
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

const integerTypes = new Set(['int8', 'int16', 'int32', 'int64', 'unixtime_micros', 'date']);

/**
 * `rangePartition`: key columns, and bounds and split rows that give each of them a value of its
 * type. Whether bounds are ordered and ranges disjoint is checked by the client, which orders
 * values as Kudu does, before the table is created.
 */
function checkRangePartition(c: Checker, v: unknown, p: string, keyTypes: ReadonlyMap<string, unknown>): void {
  if (v === undefined) return;
  if (!isObj(v)) return c.add(p, `expected {columns, ranges?, splitRows?}, got ${show(v)}`);
  c.keys(v, ['columns', 'ranges', 'splitRows'], p);
  const cols = v['columns'];
  const range: string[] = [];
  if (!Array.isArray(cols) || cols.length === 0)
    c.add(`${p}.columns`, `expected a list of key columns, got ${show(cols)}`);
  else
    cols.forEach((name: unknown, i) => {
      if (typeof name !== 'string' || !keyTypes.has(name))
        c.add(`${p}.columns[${i}]`, `expected a key column of createTable.columns, got ${show(name)}`);
      else range.push(name);
    });
  const checkRow = (r: unknown, rp: string): void => {
    if (!isObj(r)) return c.add(rp, `expected a map of every range column to its value, got ${show(r)}`);
    for (const [name, value] of Object.entries(r)) {
      if (!range.includes(name)) {
        c.add(`${rp}.${name}`, `not a range column (${range.join(', ')})`);
        continue;
      }
      const type = String(keyTypes.get(name));
      const ok = integerTypes.has(type)
        ? (typeof value === 'number' && Number.isInteger(value)) ||
          (typeof value === 'string' && (type === 'int64' || type === 'unixtime_micros') && /^-?\d+$/.test(value))
        : typeof value === 'string';
      if (!ok)
        c.add(
          `${rp}.${name}`,
          `expected ${integerTypes.has(type) ? 'an integer' : 'a string'} for ${type}, got ${show(value)}`,
        );
    }
    for (const name of range) if (!(name in r)) c.add(rp, `lacks range column "${name}"`);
  };
  const ranges = v['ranges'];
  if (ranges !== undefined) {
    if (!Array.isArray(ranges)) c.add(`${p}.ranges`, `expected a list of {lower?, upper?}, got ${show(ranges)}`);
    else
      ranges.forEach((r: unknown, i) => {
        const rp = `${p}.ranges[${i}]`;
        if (!isObj(r)) return c.add(rp, `expected {lower?, upper?}, got ${show(r)}`);
        c.keys(r, ['lower', 'upper'], rp);
        if (r['lower'] !== undefined) checkRow(r['lower'], `${rp}.lower`);
        if (r['upper'] !== undefined) checkRow(r['upper'], `${rp}.upper`);
      });
  }
  const splits = v['splitRows'];
  if (splits !== undefined) {
    if (!Array.isArray(splits)) c.add(`${p}.splitRows`, `expected a list of rows, got ${show(splits)}`);
    else splits.forEach((r: unknown, i) => checkRow(r, `${p}.splitRows[${i}]`));
  }
}

const sink: SinkConfigRule = {
  check(c, s, p) {
    c.keys(s, ['masters', 'tls', 'table', 'batchSize', 'timeout', 'deleteWhen', 'createTable'], p);
    checkMasters(c, s, p);
    checkTls(c, s['tls'], `${p}.tls`);
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

const scalar = (v: unknown) => ['string', 'number', 'boolean'].includes(typeof v);
const predicateOps = ['=', '>=', '<', 'in', 'isNull', 'isNotNull'];

/** `predicates`: each {column, op, value | values}, the value's type checked against the table at start. */
function checkPredicates(c: Checker, v: unknown, p: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) {
    c.add(p, `expected a list of {column, op, value?, values?}, got ${show(v)}`);
    return;
  }
  v.forEach((q: unknown, i) => {
    const qp = `${p}[${i}]`;
    if (!isObj(q)) return c.add(qp, `expected {column, op, value?, values?}, got ${show(q)}`);
    c.keys(q, ['column', 'op', 'value', 'values'], qp);
    c.string(q, 'column', qp);
    const op = q['op'];
    if (typeof op !== 'string' || !predicateOps.includes(op))
      return c.add(`${qp}.op`, `expected one of ${predicateOps.join(', ')}, got ${show(op)}`);
    const wantsValue = op === '=' || op === '>=' || op === '<';
    if (wantsValue && !scalar(q['value']))
      c.add(`${qp}.value`, `op ${op} needs a value (string, number or bool), got ${show(q['value'])}`);
    if (!wantsValue && q['value'] !== undefined) c.add(`${qp}.value`, `op ${op} takes no value`);
    if (op === 'in') {
      const vs = q['values'];
      if (!Array.isArray(vs) || vs.length === 0 || !vs.every(scalar))
        c.add(`${qp}.values`, `op in needs a non-empty list of strings, numbers or bools, got ${show(vs)}`);
    } else if (q['values'] !== undefined) c.add(`${qp}.values`, `only with op: in`);
  });
}

/** Column types come from the table at run time: unknown here (dyn). */
const source: SourceConfigRule = (c, s, p) => {
  c.keys(
    s,
    ['masters', 'tls', 'table', 'columns', 'equals', 'predicates', 'timeout', 'refresh', 'mode', 'maxEntries', 'ttl'],
    p,
  );
  checkMasters(c, s, p);
  checkTls(c, s['tls'], `${p}.tls`);
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
  checkPredicates(c, s['predicates'], `${p}.predicates`);
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
