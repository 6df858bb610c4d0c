import { describe, expect, it } from 'vitest';
import { checkGraph } from '../validate-graph.ts';

const messages = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
const sink = (kudu: unknown) => ({
  sources: [{ name: 's', collection: { records: [{ a: 1 }] } }],
  sinks: [{ name: 'o', from: 's', kudu }],
});

describe('kudu config rules', () => {
  it('sink: masters, a table, a positive integer batch size and a positive timeout', () => {
    expect(messages(sink({}))).toEqual([
      'graph.sinks[0].kudu.masters: expected "host:port" of a Kudu master or a list of them, got nothing',
      'graph.sinks[0].kudu.table: expected a non-empty string, got nothing',
    ]);
    expect(messages(sink({ masters: ['a:7051', 'b c'], table: 't', batchSize: 0, timeout: '0s', extra: 1 }))).toEqual([
      'graph.sinks[0].kudu.extra: unknown field; expected one of masters, tls, table, batchSize, timeout, deleteWhen, createTable',
      'graph.sinks[0].kudu.masters: expected "host:port" of a Kudu master or a list of them, got ["a:7051","b c"]',
      'graph.sinks[0].kudu.batchSize: expected an integer ≥ 1, got 0',
      'graph.sinks[0].kudu.timeout: expected a positive duration, got "0s"',
    ]);
    expect(messages(sink({ masters: 'm1:7051,m2', table: 't', batchSize: 100, timeout: '10s' }))).toEqual([]);
    expect(messages(sink({ masters: ['127.0.0.1:7051'], table: 't' }))).toEqual([]);
  });

  it('tls: a CA or an explicit verify: false, never both, never neither', () => {
    const ok = { masters: 'm:7051', table: 't' };
    expect(messages(sink({ ...ok, tls: {} }))).toEqual([
      "graph.sinks[0].kudu.tls.ca: required (the cluster's CA certificate) unless verify: false: the servers' certificates are otherwise unchecked",
    ]);
    expect(messages(sink({ ...ok, tls: { ca: '/ca.pem', verify: false } }))).toEqual([
      'graph.sinks[0].kudu.tls.verify: verify: false accepts any certificate, so a ca would be ignored: give one or the other',
    ]);
    expect(messages(sink({ ...ok, tls: { ca: '', verify: 'no', x: 1 } }))).toEqual([
      'graph.sinks[0].kudu.tls.x: unknown field; expected one of ca, verify',
      'graph.sinks[0].kudu.tls.ca: expected a PEM file\'s path or the PEM text, got ""',
      'graph.sinks[0].kudu.tls.verify: expected true or false, got "no"',
    ]);
    expect(messages(sink({ ...ok, tls: true }))).toEqual([
      "graph.sinks[0].kudu.tls: expected {ca} (the cluster's CA certificate: a PEM file's path or the PEM) or {verify: false}, got true",
    ]);
    expect(messages(sink({ ...ok, tls: { ca: '/etc/kudu/ca.pem' } }))).toEqual([]);
    expect(messages(sink({ ...ok, tls: { verify: false } }))).toEqual([]);
    expect(
      messages({
        sources: [{ name: 's', kudu: { masters: 'm:7051', table: 't', tls: { verify: true } } }],
        sinks: [{ name: 'o', from: 's', console: {} }],
      }),
    ).toEqual([
      "graph.sources[0].kudu.tls.ca: required (the cluster's CA certificate) unless verify: false: the servers' certificates are otherwise unchecked",
    ]);
  });

  it('createTable.rangePartition: key columns; bounds and split rows give every range column a value of its type', () => {
    const create = (rangePartition: unknown) => ({
      masters: 'm:7051',
      table: 't',
      createTable: {
        columns: [
          { name: 'region', type: 'string', key: true },
          { name: 'id', type: 'int64', key: true },
          { name: 'v', type: 'double' },
        ],
        rangePartition,
      },
    });
    expect(
      messages(
        sink(
          create({
            columns: ['id'],
            ranges: [{ upper: { id: '100' } }, { lower: { id: 100 }, upper: { id: 200 } }, { lower: { id: 200 } }],
            splitRows: [{ id: 50 }],
          }),
        ),
      ),
    ).toEqual([]);
    expect(
      messages(
        sink(
          create({
            columns: ['id', 'v', 'nope'],
            ranges: [{ lower: { id: 1.5, region: 'eu' }, upper: {}, x: 1 }, 'r'],
            splitRows: [{ id: 'ten' }],
          }),
        ),
      ),
    ).toEqual([
      'graph.sinks[0].kudu.createTable.rangePartition.columns[1]: expected a key column of createTable.columns, got "v"',
      'graph.sinks[0].kudu.createTable.rangePartition.columns[2]: expected a key column of createTable.columns, got "nope"',
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[0].x: unknown field; expected one of lower, upper',
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[0].lower.id: expected an integer for int64, got 1.5',
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[0].lower.region: not a range column (id)',
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[0].upper: lacks range column "id"',
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[1]: expected {lower?, upper?}, got "r"',
      'graph.sinks[0].kudu.createTable.rangePartition.splitRows[0].id: expected an integer for int64, got "ten"',
    ]);
    expect(messages(sink(create({ columns: ['region'], ranges: [{ lower: { region: 7 } }] })))).toEqual([
      'graph.sinks[0].kudu.createTable.rangePartition.ranges[0].lower.region: expected a string for string, got 7',
    ]);
  });

  it('sink: deleteWhen is a bool expression; createTable has typed columns, keys first, buckets ≥ 2', () => {
    const ok = { masters: 'm:7051', table: 't' };
    expect(messages(sink({ ...ok, deleteWhen: 'a + 1' }))).toEqual([
      'graph.sinks[0].kudu.deleteWhen: expected a bool expression, got type double from "a + 1"',
    ]);
    expect(
      messages(
        sink({
          ...ok,
          createTable: {
            columns: [
              { name: 'v', type: 'int32' },
              { name: 'k', type: 'text', key: true, nullable: true },
            ],
            hashBuckets: 1,
            hashColumns: ['v'],
          },
        }),
      ),
    ).toEqual([
      'graph.sinks[0].kudu.createTable.columns[1].type: expected one of decimal, int8, int16, int32, int64, string, bool, float, double, binary, unixtime_micros, decimal32, decimal64, decimal128, varchar, date, got "text"',
      'graph.sinks[0].kudu.createTable.columns[1].key: key columns must come before every non-key column',
      'graph.sinks[0].kudu.createTable.columns[1].nullable: a key column cannot be nullable',
      'graph.sinks[0].kudu.createTable.hashBuckets: expected an integer ≥ 2, got 1',
      'graph.sinks[0].kudu.createTable.hashColumns[0]: expected a key column of createTable.columns, got "v"',
    ]);
    expect(messages(sink({ ...ok, createTable: { columns: [{ name: 'v', type: 'int32' }] } }))).toEqual([
      'graph.sinks[0].kudu.createTable.columns: expected at least one key column (key: true)',
    ]);
    expect(
      messages(
        sink({
          ...ok,
          deleteWhen: 'a == 0.0',
          createTable: { columns: [{ name: 'a', type: 'int64', key: true }], hashBuckets: 4, replicas: 1 },
        }),
      ),
    ).toEqual([]);
  });

  it('sink: createTable decimal columns take precision (1-38) and scale (0..precision), varchar a length', () => {
    const ok = { masters: 'm:7051', table: 't' };
    const cols = (...extra: unknown[]) =>
      messages(sink({ ...ok, createTable: { columns: [{ name: 'k', type: 'int64', key: true }, ...extra] } }));
    expect(
      cols(
        { name: 'a', type: 'decimal', precision: 38, scale: 10 },
        { name: 'b', type: 'decimal64', precision: 12 },
        { name: 'c', type: 'varchar', length: 65535, nullable: true },
      ),
    ).toEqual([]);
    expect(
      cols(
        { name: 'a', type: 'decimal' },
        { name: 'b', type: 'decimal', precision: 39 },
        { name: 'c', type: 'decimal', precision: 5, scale: 6 },
        { name: 'd', type: 'decimal32', precision: 12, scale: 2 },
        { name: 'e', type: 'varchar' },
        { name: 'f', type: 'varchar', length: 10, scale: 1 },
        { name: 'g', type: 'int32', precision: 3 },
        { name: 'h', type: 'decimal', precision: '5' },
        { name: 'i', type: 'decimal', precision: 5, digits: 2 },
        { name: 'j', type: 'constructor' },
      ),
    ).toEqual([
      'graph.sinks[0].kudu.createTable.columns[1].type: a decimal needs a precision from 1 to 38, got undefined',
      'graph.sinks[0].kudu.createTable.columns[2].type: a decimal needs a precision from 1 to 38, got 39',
      'graph.sinks[0].kudu.createTable.columns[3].type: scale must be from 0 to the precision (5), got 6',
      'graph.sinks[0].kudu.createTable.columns[4].type: decimal32 holds precision 1 to 9, got 12 (or say type: decimal)',
      'graph.sinks[0].kudu.createTable.columns[5].type: a varchar needs a length from 1 to 65535, got undefined',
      'graph.sinks[0].kudu.createTable.columns[6].type: precision and scale are for decimal columns',
      'graph.sinks[0].kudu.createTable.columns[7].type: precision, scale and length are for decimal and varchar columns, not int32',
      'graph.sinks[0].kudu.createTable.columns[8].precision: expected an integer, got "5"',
      'graph.sinks[0].kudu.createTable.columns[9].digits: unknown field; expected one of name, type, key, nullable, precision, scale, length',
      'graph.sinks[0].kudu.createTable.columns[10].type: expected one of decimal, int8, int16, int32, int64, string, bool, float, double, binary, unixtime_micros, decimal32, decimal64, decimal128, varchar, date, got "constructor"',
    ]);
  });

  it('source: masters, a table, optional columns, equals of scalars and a timeout', () => {
    const src = (kudu: unknown) => ({ sources: [{ name: 'k', kudu }], sinks: [{ name: 'o', from: 'k', console: {} }] });
    const ms = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
    expect(ms(src({ masters: 'm:7051', table: 't', columns: [], equals: { g: [1] }, timeout: 'x' }))).toEqual([
      'graph.sources[0].kudu.columns: expected a non-empty list of column names, got []',
      'graph.sources[0].kudu.equals.g: expected a string, number or bool, got [1]',
      'graph.sources[0].kudu.timeout: expected a duration like "1m", got "x"',
    ]);
    expect(ms(src({ masters: ['m:7051'], table: 't', columns: ['a'], equals: { g: 1 }, timeout: '1m' }))).toEqual([]);
  });

  it('source as a lookup: mode copy (refresh) or get (maxEntries, ttl), not mixed', () => {
    const src = (kudu: unknown) => ({ sources: [{ name: 'k', kudu }], sinks: [{ name: 'o', from: 'k', console: {} }] });
    const ms = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
    const ok = { masters: 'm:7051', table: 't' };
    expect(ms(src({ ...ok, mode: 'get', maxEntries: 100, ttl: '10s' }))).toEqual([]);
    expect(ms(src({ ...ok, mode: 'copy', refresh: '5m' }))).toEqual([]);
    expect(ms(src({ ...ok, mode: 'scan' }))).toEqual([
      'graph.sources[0].kudu.mode: expected copy (hold the table, scanned every refresh) or get (point gets by key), got "scan"',
    ]);
    expect(ms(src({ ...ok, mode: 'get', refresh: '1m', maxEntries: 0, ttl: '0s' }))).toEqual([
      'graph.sources[0].kudu.refresh: mode: get has no refresh: cached rows expire after ttl',
      'graph.sources[0].kudu.maxEntries: expected an integer ≥ 1, got 0',
      'graph.sources[0].kudu.ttl: expected a positive duration, got "0s"',
    ]);
    expect(ms(src({ ...ok, maxEntries: 10, ttl: '1m' }))).toEqual([
      'graph.sources[0].kudu.maxEntries: only with mode: get (the copy is scanned again every refresh)',
      'graph.sources[0].kudu.ttl: only with mode: get (the copy is scanned again every refresh)',
    ]);
  });

  it('source: predicates name a column, a known op, and a value or values as the op needs', () => {
    const src = (kudu: unknown) => ({ sources: [{ name: 'k', kudu }], sinks: [{ name: 'o', from: 'k', console: {} }] });
    const ms = (g: unknown): string[] => checkGraph(g).issues.map((i) => `${i.path}: ${i.message}`);
    const ok = { masters: 'm:7051', table: 't' };
    expect(
      ms(
        src({
          ...ok,
          predicates: [
            { column: 'a', op: '>=', value: 1 },
            { column: 'a', op: '<', value: '2' },
            { column: 'b', op: '=', value: true },
            { column: 'c', op: 'in', values: ['x', 2] },
            { column: 'd', op: 'isNull' },
            { column: 'e', op: 'isNotNull' },
          ],
        }),
      ),
    ).toEqual([]);
    expect(ms(src({ ...ok, predicates: { column: 'a' } }))).toEqual([
      'graph.sources[0].kudu.predicates: expected a list of {column, op, value?, values?}, got {"column":"a"}',
    ]);
    expect(
      ms(
        src({
          ...ok,
          predicates: [
            { column: 'a', op: '>', value: 1 },
            { op: '<', value: [1] },
            { column: 'c', op: 'in', values: [] },
            { column: 'd', op: 'isNull', value: 1, values: [1] },
            { column: 'e', op: '=', extra: 1 },
          ],
        }),
      ),
    ).toEqual([
      'graph.sources[0].kudu.predicates[0].op: expected one of =, >=, <, in, isNull, isNotNull, got ">"',
      'graph.sources[0].kudu.predicates[1].column: expected a non-empty string, got nothing',
      'graph.sources[0].kudu.predicates[1].value: op < needs a value (string, number or bool), got [1]',
      'graph.sources[0].kudu.predicates[2].values: op in needs a non-empty list of strings, numbers or bools, got []',
      'graph.sources[0].kudu.predicates[3].value: op isNull takes no value',
      'graph.sources[0].kudu.predicates[3].values: only with op: in',
      'graph.sources[0].kudu.predicates[4].extra: unknown field; expected one of column, op, value, values',
      'graph.sources[0].kudu.predicates[4].value: op = needs a value (string, number or bool), got nothing',
    ]);
  });
});
