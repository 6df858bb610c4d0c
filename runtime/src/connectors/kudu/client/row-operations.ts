// Kudu's row-operations encoding (RowOperationsPB): per row, one operation-type byte, a bitmap
// of the columns set, a bitmap of the columns null (only when the schema has a nullable
// column), then each set non-null cell in column order in its in-memory format (little
// endian; strings and binaries as an (offset, length) pair into the indirect data).
import { writeCell, type Row } from './cell-values.ts';
import { kuduError } from './kudu-errors.ts';
import { cellSize, type Schema } from './schema.ts';

// The *Ignore kinds (Kudu 1.15 and later) skip rows whose key is present (insert) or absent (delete).
export const operationTypes = {
  insert: 1,
  update: 2,
  delete: 3,
  upsert: 5,
  insertIgnore: 10,
  deleteIgnore: 12,
  // CreateTable's split rows and range bounds: rows of the range columns only (range-bounds.ts).
  splitRow: 4,
  rangeLowerBound: 6,
  rangeUpperBound: 7,
} as const;
const partitionRowKinds: ReadonlySet<OperationKind> = new Set(['splitRow', 'rangeLowerBound', 'rangeUpperBound']);
export type OperationKind = keyof typeof operationTypes;

export interface Operation {
  readonly kind: OperationKind;
  readonly row: Row;
}

/** Checks a row against the schema: no unknown columns, keys present, non-nullable columns not null. */
export function checkRow(table: string, schema: Schema, op: Operation): void {
  for (const name of Object.keys(op.row)) {
    if (schema.indexOf(name) === undefined) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}" has no column "${name}"`);
    }
  }
  schema.columns.forEach((c, i) => {
    const v = op.row[c.name];
    if (i < schema.keyCount && (v === undefined || v === null)) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}": ${op.kind} lacks key column "${c.name}"`);
    }
    if (v === null && !c.nullable) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}", column "${c.name}" is not nullable, got null`);
    }
    if (op.kind === 'insert' && v === undefined && !c.nullable) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}": insert lacks non-nullable column "${c.name}"`);
    }
  });
}

export interface EncodedOperations {
  readonly rows: Buffer;
  readonly indirect: Buffer;
}

export function encodeOperations(table: string, schema: Schema, ops: readonly Operation[]): EncodedOperations {
  const bitmapBytes = Math.ceil(schema.columns.length / 8);
  const chunks: Buffer[] = [];
  const indirectChunks: Uint8Array[] = [];
  let indirectLength = 0;
  const indirect = {
    push(bytes: Uint8Array): number {
      const at = indirectLength;
      indirectChunks.push(bytes);
      indirectLength += bytes.length;
      return at;
    },
  };
  for (const op of ops) {
    if (!partitionRowKinds.has(op.kind)) checkRow(table, schema, op);
    // A delete carries the key only; other operations every column the row names.
    const included = schema.columns.map(
      (c, i) =>
        ((op.kind !== 'delete' && op.kind !== 'deleteIgnore') || i < schema.keyCount) && op.row[c.name] !== undefined,
    );
    let size = 1 + bitmapBytes + (schema.hasNullable ? bitmapBytes : 0);
    schema.columns.forEach((c, i) => {
      if (included[i] && op.row[c.name] !== null) size += cellSize[c.type];
    });
    const out = Buffer.alloc(size);
    out.writeUInt8(operationTypes[op.kind], 0);
    const nullAt = 1 + bitmapBytes;
    let at = 1 + bitmapBytes + (schema.hasNullable ? bitmapBytes : 0);
    schema.columns.forEach((c, i) => {
      if (!included[i]) return;
      out[1 + (i >> 3)]! |= 1 << (i & 7);
      const v = op.row[c.name];
      if (v === null || v === undefined) {
        out[nullAt + (i >> 3)]! |= 1 << (i & 7);
        return;
      }
      writeCell(table, c, v, out, at, indirect);
      at += cellSize[c.type];
    });
    chunks.push(out);
  }
  return { rows: Buffer.concat(chunks), indirect: Buffer.concat(indirectChunks, indirectLength) };
}
