// Kudu column types and table schemas as the client sees them, with each type's fixed cell
// size in Kudu's row formats (row operations and row-wise scan results).
import { kuduError } from './kudu-errors.ts';

/** The column types this client reads and writes, by their DataType number on the wire. */
export const columnTypes = {
  int8: 1,
  int16: 3,
  int32: 5,
  int64: 7,
  string: 8,
  bool: 9,
  float: 10,
  double: 11,
  binary: 12,
  unixtime_micros: 13,
  date: 20,
} as const;

export type ColumnType = keyof typeof columnTypes;

const typeByWire = new Map<number, ColumnType>(Object.entries(columnTypes).map(([k, v]) => [v, k as ColumnType]));

/** DataType numbers Kudu has but this client does not handle yet, named for the error message. */
const unsupportedWire: Record<number, string> = {
  0: 'uint8',
  2: 'uint16',
  4: 'uint32',
  6: 'uint64',
  14: 'int128',
  15: 'decimal32',
  16: 'decimal64',
  17: 'decimal128',
  19: 'varchar',
  21: 'nested',
};

/** Bytes of a cell in Kudu's in-memory row format; strings and binaries are a 16-byte (offset, length) slice. */
export const cellSize: Record<ColumnType, number> = {
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  string: 16,
  bool: 1,
  float: 4,
  double: 8,
  binary: 16,
  unixtime_micros: 8,
  date: 4,
};

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly key?: boolean;
  readonly nullable?: boolean;
}

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly key: boolean;
  readonly nullable: boolean;
  /** The column's id on the server (names partition columns in schemas the master returns). */
  readonly id: number | undefined;
}

export interface ColumnSchemaWire {
  id?: number;
  name: string;
  type: number;
  is_key?: boolean;
  is_nullable?: boolean;
}

export class Schema {
  readonly columns: readonly Column[];
  readonly keyCount: number;
  readonly hasNullable: boolean;
  private readonly byName: Map<string, number>;

  constructor(columns: readonly Column[]) {
    this.columns = columns;
    this.keyCount = columns.filter((c) => c.key).length;
    this.hasNullable = columns.some((c) => c.nullable);
    this.byName = new Map(columns.map((c, i) => [c.name, i]));
  }

  static fromSpecs(specs: readonly ColumnSpec[]): Schema {
    const seenNonKey = specs.findIndex((c) => c.key !== true);
    specs.forEach((c, i) => {
      if (!(c.type in columnTypes)) throw kuduError('TRIB_KUDU_SCHEMA', `column "${c.name}": unknown type "${c.type}"`);
      if (c.key === true && seenNonKey !== -1 && i > seenNonKey) {
        throw kuduError('TRIB_KUDU_SCHEMA', `key column "${c.name}" must come before every non-key column`);
      }
    });
    return new Schema(
      specs.map((c) => ({
        name: c.name,
        type: c.type,
        key: c.key === true,
        nullable: c.nullable === true,
        id: undefined,
      })),
    );
  }

  static fromWire(table: string, columns: readonly ColumnSchemaWire[]): Schema {
    return new Schema(
      columns.map((c) => {
        const type = typeByWire.get(c.type);
        if (type === undefined) {
          const name = unsupportedWire[c.type] ?? `type ${c.type}`;
          throw kuduError(
            'TRIB_KUDU_UNSUPPORTED',
            `table "${table}", column "${c.name}": ${name} columns are not supported by this client yet`,
          );
        }
        return { name: c.name, type, key: c.is_key === true, nullable: c.is_nullable === true, id: c.id };
      }),
    );
  }

  /** The schema as a request carries it: without column ids, which the server refuses from clients. */
  toWire(): ColumnSchemaWire[] {
    return this.columns.map((c) => ({
      name: c.name,
      type: columnTypes[c.type],
      is_key: c.key,
      is_nullable: c.nullable,
    }));
  }

  indexOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  indexOfId(id: number): number {
    const i = this.columns.findIndex((c) => c.id === id);
    if (i < 0) throw kuduError('TRIB_KUDU_PROTOCOL', `the master's partition schema names unknown column id ${id}`);
    return i;
  }
}
