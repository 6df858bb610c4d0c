// Calls to the Kudu masters: finds the leader (ConnectToMaster on each configured master), sends
// each call to it, and on NOT_THE_LEADER, a master still starting or a broken connection looks
// for the leader again, until the operation's deadline.
import { TributaryError } from '../../../errors.ts';
import { isRetriable } from './connection.ts';
import type { ConnectionPool } from './connection-pool.ts';
import { describeStatus, isRetriableServiceError, kuduError, masterErrors, type ServiceError } from './kudu-errors.ts';
import { messageType, type MessageType } from './messages.ts';
import { attemptTimeoutMs, withRetries, type Deadline } from './retry.ts';

const service = 'kudu.master.MasterService';
const leaderRole = 1;

const ConnectToMasterRequestPB = messageType<Record<string, never>>('ConnectToMasterRequestPB');
const ConnectToMasterResponsePB = messageType<{ error?: ServiceError; role?: number }>('ConnectToMasterResponsePB');

/** A master error that means "ask the leader again" travels as this, so the retry loop sees it. */
class LeaderMoved extends TributaryError {
  readonly retriable = true;
}

export class MasterClient {
  private readonly masters: readonly { host: string; port: number }[];
  private readonly pool: ConnectionPool;
  private leader: { host: string; port: number } | undefined;

  constructor(masters: readonly { host: string; port: number }[], pool: ConnectionPool) {
    this.masters = masters;
    this.pool = pool;
  }

  private get addresses(): string {
    return this.masters.map((m) => `${m.host}:${m.port}`).join(',');
  }

  /** Calls `method`; the response's MasterErrorPB, if any, is returned for the caller to map. */
  async call<Req, Res extends { error?: ServiceError }>(
    method: string,
    reqType: MessageType<Req>,
    resType: MessageType<Res>,
    request: Req,
    d: Deadline,
  ): Promise<Res> {
    const body = reqType.encode(request);
    return withRetries(
      d,
      async (left) => {
        const leader = await this.findLeader(d);
        try {
          const conn = await this.pool.get(leader.host, leader.port);
          const res = resType.decode((await conn.call(service, method, body, Math.min(left, d.attemptMs))).body);
          if (res.error && isRetriableServiceError('master', res.error)) {
            this.leader = undefined;
            throw new LeaderMoved('TRIB_KUDU_MASTER', `${method}: ${describeStatus(res.error.status)}`);
          }
          return res;
        } catch (err) {
          if (isRetriable(err)) this.leader = undefined;
          throw err;
        }
      },
      (err) => err instanceof LeaderMoved || isRetriable(err),
    );
  }

  private async findLeader(d: Deadline): Promise<{ host: string; port: number }> {
    if (this.leader) return this.leader;
    const failures: string[] = [];
    // Why each master failed: all refusing says nothing is reachable, all silent says hung.
    const codes = new Set<'TRIB_KUDU_CONNECT' | 'TRIB_KUDU_TIMEOUT' | 'TRIB_KUDU_MASTER'>();
    for (const m of this.masters) {
      try {
        const conn = await this.pool.get(m.host, m.port);
        const res = ConnectToMasterResponsePB.decode(
          (
            await conn.call(
              service,
              'ConnectToMaster',
              ConnectToMasterRequestPB.encode({}),
              Math.min(attemptTimeoutMs(d), 5_000),
            )
          ).body,
        );
        if (res.error) {
          codes.add('TRIB_KUDU_MASTER');
          failures.push(`${m.host}:${m.port}: ${describeStatus(res.error.status)}`);
        } else if (res.role === leaderRole) {
          this.leader = m;
          return m;
        } else {
          codes.add('TRIB_KUDU_MASTER');
          failures.push(`${m.host}:${m.port}: not the leader`);
        }
      } catch (err) {
        // Authentication and TLS refusals are final: no other master will answer differently.
        if (!isRetriable(err)) throw err;
        codes.add(
          err instanceof TributaryError && err.code === 'TRIB_KUDU_TIMEOUT' ? 'TRIB_KUDU_TIMEOUT' : 'TRIB_KUDU_CONNECT',
        );
        failures.push(`${m.host}:${m.port}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const code = codes.size === 1 ? [...codes][0]! : 'TRIB_KUDU_MASTER';
    throw new LeaderMoved(code, `kudu: no leader master among ${this.addresses} (${failures.join('; ')})`);
  }
}

/** A MasterErrorPB in a response as a TributaryError with the code a caller can act on. */
export function masterFailure(what: string, error: ServiceError): TributaryError {
  const code =
    error.code === masterErrors.TABLE_NOT_FOUND
      ? 'TRIB_KUDU_TABLE_NOT_FOUND'
      : error.code === masterErrors.TABLE_ALREADY_PRESENT
        ? 'TRIB_KUDU_TABLE_EXISTS'
        : error.code === masterErrors.INVALID_SCHEMA
          ? 'TRIB_KUDU_SCHEMA'
          : 'TRIB_KUDU_MASTER';
  return kuduError(code, `${what}: ${describeStatus(error.status)}`);
}
