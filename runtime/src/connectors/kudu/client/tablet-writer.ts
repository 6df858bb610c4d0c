// Writes a batch of row operations: routes each row to its tablet by partition key, sends one
// Write per tablet to its leader (in parallel), and retries a tablet's batch on a leader change,
// an unreachable server or a tablet still starting, with fresh locations, until the deadline.
// Rows the server rejects one by one (per-row errors) fail the batch with the first few named.
import { isRetriable } from './connection.ts';
import type { ConnectionPool } from './connection-pool.ts';
import {
  describeStatus,
  isRetriableServiceError,
  kuduError,
  type AppStatus,
  type ServiceError,
} from './kudu-errors.ts';
import { messageType } from './messages.ts';
import { partitionKey } from './partitioning.ts';
import { attemptTimeoutMs, withRetries, type Deadline } from './retry.ts';
import { checkRow, encodeOperations, type Operation } from './row-operations.ts';
import type { ColumnSchemaWire } from './schema.ts';
import type { KuduTable } from './table-metadata.ts';
import { tabletFor, type Tablet, type TabletLocations } from './tablet-locations.ts';

interface WriteRequest {
  tablet_id: Uint8Array;
  schema: { columns: ColumnSchemaWire[] };
  row_operations: { rows: Uint8Array; indirect_data: Uint8Array };
}
interface WriteResponse {
  error?: ServiceError;
  per_row_errors?: { row_index: number; error: AppStatus }[];
}
const WriteRequestPB = messageType<WriteRequest>('WriteRequestPB');
const WriteResponsePB = messageType<WriteResponse>('WriteResponsePB');

/** The row's key columns as `name=value`, to name a row in an error. */
function describeKey(table: KuduTable, row: Operation['row']): string {
  return table.schema.columns
    .slice(0, table.schema.keyCount)
    .map((c) => {
      const v = row[c.name];
      return `${c.name}=${v instanceof Uint8Array ? `0x${Buffer.from(v).toString('hex')}` : JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`;
    })
    .join(', ');
}

/** A tablet-server answer to retry with fresh locations. */
class StaleLocation extends Error {
  readonly retriable = true;
}

export async function writeOperations(
  pool: ConnectionPool,
  locations: TabletLocations,
  table: KuduTable,
  ops: readonly Operation[],
  d: Deadline,
): Promise<void> {
  for (const op of ops) checkRow(table.name, table.schema, op);
  const keys = ops.map((op) => partitionKey(table.schema, table.partitioning, op.row));
  await withRetries(
    d,
    async () => {
      const byTablet = new Map<
        Tablet,
        { tabletId: Buffer; leader: { host: string; port: number }; ops: Operation[] }
      >();
      const tablets = await locations.all(table.name, table.id, d);
      for (let i = 0; i < ops.length; i++) {
        const tablet = tabletFor(tablets, keys[i]!);
        if (!tablet) {
          throw kuduError(
            'TRIB_KUDU_ROW_ERRORS',
            `table "${table.name}": row ${i} (${describeKey(table, ops[i]!.row)}) falls in no range partition`,
          );
        }
        if (!tablet.leader) {
          locations.invalidate(table.id);
          throw new StaleLocation(`tablet ${tablet.id.toString()} has no leader yet`);
        }
        let group = byTablet.get(tablet);
        if (!group) {
          group = { tabletId: tablet.id, leader: tablet.leader, ops: [] };
          byTablet.set(tablet, group);
        }
        group.ops.push(ops[i]!);
      }
      // Writes are idempotent per batch only for upserts and deletes; a retried insert may report
      // ALREADY_PRESENT for rows the first attempt applied.
      await Promise.all(
        [...byTablet.values()].map(async (g) => {
          const encoded = encodeOperations(table.name, table.schema, g.ops);
          const request = WriteRequestPB.encode({
            tablet_id: g.tabletId,
            schema: { columns: table.schema.toWire() },
            row_operations: { rows: encoded.rows, indirect_data: encoded.indirect },
          });
          try {
            const conn = await pool.get(g.leader.host, g.leader.port);
            const answer = await conn.call('kudu.tserver.TabletServerService', 'Write', request, attemptTimeoutMs(d));
            const res = WriteResponsePB.decode(answer.body);
            if (res.error) {
              if (isRetriableServiceError('tserver', res.error) || res.error.code === 6 /* TABLET_NOT_FOUND */) {
                locations.invalidate(table.id);
                throw new StaleLocation(describeStatus(res.error.status));
              }
              throw kuduError(
                'TRIB_KUDU_TSERVER',
                `writing to table "${table.name}": ${describeStatus(res.error.status)}`,
              );
            }
            const rowErrors = res.per_row_errors ?? [];
            if (rowErrors.length > 0) {
              const first = rowErrors
                .slice(0, 3)
                .map((e) => `row ${JSON.stringify(keyOf(table, g.ops[e.row_index]))}: ${describeStatus(e.error)}`);
              throw kuduError(
                'TRIB_KUDU_ROW_ERRORS',
                `table "${table.name}": ${rowErrors.length} of ${g.ops.length} rows rejected (${first.join('; ')})`,
              );
            }
          } catch (err) {
            if (isRetriable(err)) locations.invalidate(table.id);
            throw err;
          }
        }),
      );
    },
    (err) => err instanceof StaleLocation || isRetriable(err),
  );
}

function keyOf(table: KuduTable, op: Operation | undefined): Record<string, string> {
  const key: Record<string, string> = {};
  for (const c of table.schema.columns.slice(0, table.schema.keyCount)) key[c.name] = String(op?.row[c.name]);
  return key;
}
