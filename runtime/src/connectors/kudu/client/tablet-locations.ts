// Where a table's tablets live: GetTableLocations answers cached per table until their TTL or
// until a tablet server says it does not lead that tablet any more (invalidate).
import type { ServiceError } from './kudu-errors.ts';
import { masterFailure, type MasterClient } from './master-client.ts';
import { messageType } from './messages.ts';
import type { Deadline } from './retry.ts';

export interface Tablet {
  readonly id: Buffer;
  /** [start, end) in partition-key order; an empty end is unbounded. */
  readonly start: Buffer;
  readonly end: Buffer;
  /** The leader replica's address (undefined while the tablet has no leader). */
  readonly leader: { host: string; port: number } | undefined;
}

interface HostPort {
  host: string;
  port: number;
}
interface TsInfo {
  permanent_uuid: Uint8Array;
  rpc_addresses?: HostPort[];
}
interface Locations {
  error?: ServiceError;
  tablet_locations?: {
    tablet_id: Uint8Array;
    partition?: { partition_key_start?: Uint8Array; partition_key_end?: Uint8Array };
    DEPRECATED_replicas?: { ts_info: TsInfo; role: number }[];
    interned_replicas?: { ts_info_idx: number; role: number }[];
  }[];
  ts_infos?: TsInfo[];
  ttl_millis?: number;
}
interface LocationsRequest {
  table: { table_id: Uint8Array };
  partition_key_start?: Uint8Array;
  max_returned_locations?: number;
  intern_ts_infos_in_response?: boolean;
}
const GetTableLocationsRequestPB = messageType<LocationsRequest>('GetTableLocationsRequestPB');
const GetTableLocationsResponsePB = messageType<Locations>('GetTableLocationsResponsePB');

const leaderRole = 1;
const empty = Buffer.alloc(0);

export class TabletLocations {
  private readonly master: MasterClient;
  private readonly byTable = new Map<string, { tablets: Tablet[]; expires: number }>();

  constructor(master: MasterClient) {
    this.master = master;
  }

  /** Every tablet of the table, in partition-key order. */
  async all(tableName: string, tableId: Buffer, d: Deadline): Promise<Tablet[]> {
    const key = tableId.toString('hex');
    const cached = this.byTable.get(key);
    if (cached && cached.expires > Date.now()) return cached.tablets;
    const tablets: Tablet[] = [];
    let ttl = 3_600_000;
    let from: Buffer = empty;
    for (;;) {
      const res = await this.master.call(
        'GetTableLocations',
        GetTableLocationsRequestPB,
        GetTableLocationsResponsePB,
        {
          table: { table_id: tableId },
          partition_key_start: from,
          max_returned_locations: 1000,
          intern_ts_infos_in_response: true,
        },
        d,
      );
      if (res.error) throw masterFailure(`locating the tablets of "${tableName}"`, res.error);
      ttl = Math.min(ttl, res.ttl_millis ?? ttl);
      const batch = (res.tablet_locations ?? []).map((t): Tablet => {
        const replicas = t.interned_replicas
          ? t.interned_replicas.map((r) => ({ ts: res.ts_infos?.[r.ts_info_idx], role: r.role }))
          : (t.DEPRECATED_replicas ?? []).map((r) => ({ ts: r.ts_info, role: r.role }));
        const leader = replicas.find((r) => r.role === leaderRole)?.ts?.rpc_addresses?.[0];
        return {
          id: Buffer.from(t.tablet_id),
          start: Buffer.from(t.partition?.partition_key_start ?? empty),
          end: Buffer.from(t.partition?.partition_key_end ?? empty),
          leader: leader ? { host: leader.host, port: leader.port } : undefined,
        };
      });
      // The first tablet may start before `from` when `from` falls inside it: skip ones already seen.
      // The last tablet's end need not be empty (a hash bucket's end is the next bucket number):
      // the walk ends when an answer adds nothing new.
      const fresh = batch.filter((t) => !tablets.some((x) => x.id.equals(t.id)));
      tablets.push(...fresh);
      const last = tablets[tablets.length - 1];
      if (fresh.length === 0 || !last || last.end.length === 0) break;
      from = last.end;
    }
    this.byTable.set(key, { tablets, expires: Date.now() + ttl });
    return tablets;
  }

  /** The tablet whose [start, end) holds `partitionKey`, or undefined (a gap between range partitions). */
  async forKey(tableName: string, tableId: Buffer, partitionKey: Buffer, d: Deadline): Promise<Tablet | undefined> {
    return tabletFor(await this.all(tableName, tableId, d), partitionKey);
  }

  invalidate(tableId: Buffer): void {
    this.byTable.delete(tableId.toString('hex'));
  }
}

/**
 * The tablet of `tablets` (from `all`: in partition-key order, not overlapping) whose
 * [start, end) holds `partitionKey`, or undefined (a gap between range partitions). Binary
 * search: a write batch routes every row, so this runs once per row.
 */
export function tabletFor(tablets: readonly Tablet[], partitionKey: Buffer): Tablet | undefined {
  let lo = 0;
  let hi = tablets.length - 1;
  // The last tablet whose start ≤ key.
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(tablets[mid]!.start, partitionKey) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const t = tablets[found];
  return t && (t.end.length === 0 || Buffer.compare(partitionKey, t.end) < 0) ? t : undefined;
}
