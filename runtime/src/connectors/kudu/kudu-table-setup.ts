// Opens the Kudu sink's table, or creates it from the sink's `createTable` spec when it does not
// exist. An existing table with a `createTable` spec must have those columns with the same
// types (a decimal's precision and scale, a varchar's length included), key membership and
// nullability (extra nullable columns are fine): a job never writes into a table that only
// looks like the one it declared. Errors name the table and the field.
import { TributaryError } from '../../errors.ts';
import type { KuduCreateTableSpec, KuduRangeRow } from '../../graph/spec.ts';
import type { Row } from './client/cell-values.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { columnTypes, resolveType, typeName, type Column, type ColumnSpec, type ColumnType } from './client/schema.ts';
import type { CreateTableSpec, KuduTable } from './client/table-metadata.ts';

export async function openOrCreateTable(
  client: KuduClient,
  table: string,
  create: KuduCreateTableSpec | undefined,
  path: string,
): Promise<KuduTable> {
  if (!create) return client.openTable(table);
  const columns = columnSpecs(table, create, path);
  try {
    return checkColumns(await client.openTable(table), columns, path);
  } catch (err) {
    if (!(err instanceof TributaryError) || err.code !== 'TRIB_KUDU_TABLE_NOT_FOUND') throw err;
  }
  const keys = columns.filter((c) => c.key).map((c) => c.name);
  try {
    return await client.createTable({
      name: table,
      columns,
      hashPartitions: [{ columns: create.hashColumns ?? keys, buckets: create.hashBuckets ?? 2 }],
      ...rangePartition(table, create, columns, path),
      ...(create.replicas === undefined ? {} : { replicas: create.replicas }),
    });
  } catch (err) {
    // Another slot of the same job created it first: use theirs, checked like any existing table.
    if (err instanceof TributaryError && err.code === 'TRIB_KUDU_TABLE_EXISTS') {
      return checkColumns(await openCreatedElsewhere(client, table), columns, path);
    }
    throw err;
  }
}

/**
 * The table another slot is creating: the master refuses a second create as soon as the name is
 * taken, but can still answer "not found" to a lookup right after (seen at parallelism 2), so
 * wait for it to appear.
 */
async function openCreatedElsewhere(client: KuduClient, table: string): Promise<KuduTable> {
  const deadline = Date.now() + CREATED_ELSEWHERE_WAIT_MS;
  for (;;) {
    try {
      return await client.openTable(table);
    } catch (err) {
      const notYet = err instanceof TributaryError && err.code === 'TRIB_KUDU_TABLE_NOT_FOUND';
      if (!notYet || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const CREATED_ELSEWHERE_WAIT_MS = 30_000;

export function columnSpecs(table: string, create: KuduCreateTableSpec, path: string): ColumnSpec[] {
  const specs = create.columns.map((c, i): ColumnSpec => {
    const spec: ColumnSpec = {
      name: c.name,
      type: c.type as ColumnType,
      key: c.key === true,
      nullable: c.nullable === true,
      ...(c.precision === undefined ? {} : { precision: c.precision }),
      ...(c.scale === undefined ? {} : { scale: c.scale }),
      ...(c.length === undefined ? {} : { length: c.length }),
    };
    const resolved = resolveType(spec);
    if (typeof resolved === 'string') {
      throw new TributaryError(
        'TRIB_KUDU_SCHEMA',
        `${path}.createTable.columns[${i}].type: table "${table}", column "${c.name}": ${resolved} (types: decimal, ${Object.keys(columnTypes).join(', ')})`,
      );
    }
    return { ...spec, type: resolved.type, ...resolved.attributes };
  });
  if (!specs.some((c) => c.key)) {
    throw new TributaryError(
      'TRIB_KUDU_SCHEMA',
      `${path}.createTable.columns: table "${table}" needs at least one key column (key: true)`,
    );
  }
  return specs;
}

/** The spec's rangePartition with its JSON values as the columns' cell values; the client checks the rest. */
function rangePartition(
  table: string,
  create: KuduCreateTableSpec,
  columns: readonly ColumnSpec[],
  path: string,
): Pick<CreateTableSpec, 'rangeColumns' | 'ranges' | 'splitRows'> {
  const rp = create.rangePartition;
  if (!rp) return {};
  const row = (r: KuduRangeRow, where: string): Row =>
    Object.fromEntries(
      Object.entries(r).map(([name, v]) => {
        const type = columns.find((c) => c.name === name)?.type;
        const wide = type === 'int64' || type === 'unixtime_micros';
        if (wide && (typeof v === 'string' ? /^-?\d+$/.test(v) : Number.isSafeInteger(v))) return [name, BigInt(v)];
        if (type === 'binary' && typeof v === 'string') return [name, Buffer.from(v, 'utf8')];
        if (type === undefined || wide) {
          throw new TributaryError(
            'TRIB_KUDU_SCHEMA',
            `${path}.createTable.rangePartition.${where}.${name}: table "${table}": ${type === undefined ? 'no such column' : `expected an integer (or a decimal string) for ${type}, got ${JSON.stringify(v)}`}`,
          );
        }
        return [name, v];
      }),
    );
  return {
    rangeColumns: rp.columns,
    ranges: (rp.ranges ?? []).map((r, i) => ({
      ...(r.lower === undefined ? {} : { lower: row(r.lower, `ranges[${i}].lower`) }),
      ...(r.upper === undefined ? {} : { upper: row(r.upper, `ranges[${i}].upper`) }),
    })),
    splitRows: (rp.splitRows ?? []).map((r, i) => row(r, `splitRows[${i}]`)),
  };
}

function checkColumns(table: KuduTable, specs: readonly ColumnSpec[], path: string): KuduTable {
  const problems: string[] = [];
  specs.forEach((s, i) => {
    const at = table.schema.indexOf(s.name);
    const where = `${path}.createTable.columns[${i}] ("${s.name}")`;
    if (at === undefined) {
      problems.push(`${where}: the table has no such column`);
      return;
    }
    const c = table.schema.columns[at]!;
    if (typeName(c) !== typeName(s as Column))
      problems.push(`${where}: the table's column is ${typeName(c)}, the spec says ${typeName(s as Column)}`);
    if (c.key !== (s.key === true)) problems.push(`${where}: the table's column is ${c.key ? '' : 'not '}a key column`);
    if (c.nullable !== (s.nullable === true))
      problems.push(`${where}: the table's column is ${c.nullable ? '' : 'not '}nullable`);
  });
  table.schema.columns.forEach((c) => {
    if (!c.nullable && !specs.some((s) => s.name === c.name))
      problems.push(`${path}.createTable.columns: the table's non-nullable column "${c.name}" is not in the spec`);
  });
  if (problems.length > 0) {
    throw new TributaryError(
      'TRIB_KUDU_SCHEMA',
      `kudu table "${table.name}" exists but does not match the sink's createTable: ${problems.join('; ')}`,
    );
  }
  return table;
}
