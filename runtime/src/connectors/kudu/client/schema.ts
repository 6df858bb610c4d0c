// Kudu column types and table schemas as the client sees them, with each type's fixed cell
// size in Kudu's row formats (row operations and row-wise scan results). Decimal columns carry
// a precision and scale, varchar columns a length, as the wire's type_attributes.
import { decimalPrecisionLimit, decimalTypeFor, maxDecimalPrecision, type DecimalType } from './decimal.ts';
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
  decimal32: 15,
  decimal64: 16,
  decimal128: 17,
  varchar: 19,
  date: 20,
} as const;

export type ColumnType = keyof typeof columnTypes;

const typeByWire = new Map<number, ColumnType>(Object.entries(columnTypes).map(([k, v]) => [v, k as ColumnType]));

/**
 * DataType numbers Kudu has but this client refuses, named for the error message. The unsigned
 * types and int128 are internal to the server (Kudu's public C++ and Java clients have no such
 * column type, and the C++ client aborts on a table with uint8/16/32), though a raw CreateTable
 * with them is accepted; nested (array) columns are newer than Kudu 1.17.
 */
const unsupportedWire: Record<number, string> = {
  0: 'uint8',
  2: 'uint16',
  4: 'uint32',
  6: 'uint64',
  14: 'int128',
  21: 'nested',
};

/** Kudu's limit on a varchar column's length, in characters. */
export const maxVarcharLength = 65535;

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
  decimal32: 4,
  decimal64: 8,
  decimal128: 16,
  varchar: 16,
  date: 4,
};

export function isDecimal(type: ColumnType): type is DecimalType {
  return type === 'decimal32' || type === 'decimal64' || type === 'decimal128';
}

/** Precision and scale of a decimal column, the length (characters) of a varchar one. */
export interface TypeAttributes {
  readonly precision?: number;
  readonly scale?: number;
  readonly length?: number;
}

export interface ColumnSpec extends TypeAttributes {
  readonly name: string;
  /** `decimal` stands for the decimal32/64/128 its precision needs. */
  readonly type: ColumnType | 'decimal';
  readonly key?: boolean;
  readonly nullable?: boolean;
}

export interface Column extends TypeAttributes {
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
  type_attributes?: TypeAttributes;
}

/** The type as Kudu's tools print it: decimal(12, 2), varchar(20), int64. */
export function typeName(c: { readonly type: ColumnType } & TypeAttributes): string {
  if (isDecimal(c.type)) return `decimal(${c.precision}, ${c.scale})`;
  if (c.type === 'varchar') return `varchar(${c.length})`;
  return c.type;
}

const precisionFloor: Record<DecimalType, number> = { decimal32: 1, decimal64: 10, decimal128: 19 };

/** The spec's type resolved and its attributes checked: an error message, or the column's type and attributes. */
export function resolveType(spec: ColumnSpec): { type: ColumnType; attributes: TypeAttributes } | string {
  const { type, precision, scale, length } = spec;
  const int = (v: number | undefined, lo: number, hi: number): boolean =>
    v !== undefined && Number.isInteger(v) && v >= lo && v <= hi;
  const explicit = type !== 'decimal' && Object.hasOwn(columnTypes, type) && isDecimal(type) ? type : undefined;
  if (type === 'decimal' || explicit) {
    if (!int(precision, 1, maxDecimalPrecision))
      return `a decimal needs a precision from 1 to ${maxDecimalPrecision}, got ${String(precision)}`;
    if (!int(scale ?? 0, 0, precision!)) return `scale must be from 0 to the precision (${precision}), got ${scale}`;
    const resolved = decimalTypeFor(precision!);
    if (explicit && explicit !== resolved)
      return `${explicit} holds precision ${precisionFloor[explicit]} to ${decimalPrecisionLimit[explicit]}, got ${precision} (or say type: decimal)`;
    if (length !== undefined) return 'length is for varchar columns';
    return { type: resolved, attributes: { precision: precision!, scale: scale ?? 0 } };
  }
  if (!Object.hasOwn(columnTypes, type)) return `unknown type "${type}"`;
  if (type === 'varchar') {
    if (!int(length, 1, maxVarcharLength))
      return `a varchar needs a length from 1 to ${maxVarcharLength}, got ${String(length)}`;
    if (precision !== undefined || scale !== undefined) return 'precision and scale are for decimal columns';
    return { type, attributes: { length: length! } };
  }
  if (precision !== undefined || scale !== undefined || length !== undefined)
    return `precision, scale and length are for decimal and varchar columns, not ${type}`;
  return { type, attributes: {} };
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
    return new Schema(
      specs.map((c, i) => {
        const resolved = resolveType(c);
        if (typeof resolved === 'string') throw kuduError('TRIB_KUDU_SCHEMA', `column "${c.name}": ${resolved}`);
        if (c.key === true && seenNonKey !== -1 && i > seenNonKey) {
          throw kuduError('TRIB_KUDU_SCHEMA', `key column "${c.name}" must come before every non-key column`);
        }
        return {
          name: c.name,
          type: resolved.type,
          ...resolved.attributes,
          key: c.key === true,
          nullable: c.nullable === true,
          id: undefined,
        };
      }),
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
            `table "${table}", column "${c.name}": ${name} columns are not supported (Kudu's own clients have no ${name} type either)`,
          );
        }
        const a = c.type_attributes ?? {};
        const attributes = isDecimal(type)
          ? { precision: a.precision, scale: a.scale ?? 0 }
          : type === 'varchar'
            ? { length: a.length }
            : {};
        if (Object.values(attributes).includes(undefined)) {
          throw kuduError(
            'TRIB_KUDU_PROTOCOL',
            `table "${table}", column "${c.name}": the master sent a ${type} column without its type attributes`,
          );
        }
        return {
          name: c.name,
          type,
          ...attributes,
          key: c.is_key === true,
          nullable: c.is_nullable === true,
          id: c.id,
        };
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
      ...(isDecimal(c.type)
        ? { type_attributes: { precision: c.precision, scale: c.scale } }
        : c.type === 'varchar'
          ? { type_attributes: { length: c.length } }
          : {}),
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
