// One negotiated KRPC connection to a Kudu server: calls are multiplexed by call id, each with
// its own deadline (sent to the server as timeout_millis too). A connection that fails or times
// out while connecting is closed; a failed call leaves it usable unless the socket broke.
import { connect, type Socket } from 'node:net';
import { TributaryError } from '../../../errors.ts';
import { connectionPreamble, encodeFrame, FrameReader, mainMessage, splitFrame } from './framing.ts';
import { kuduError } from './kudu-errors.ts';
import { messageType } from './messages.ts';
import { negotiate, negotiationCallId, negotiationRefused } from './negotiation.ts';
import type { KuduTlsOptions } from './tls-handshake.ts';

interface RequestHeader {
  call_id: number;
  remote_method?: { service_name: string; method_name: string };
  timeout_millis?: number;
}
interface ResponseHeader {
  call_id: number;
  is_error?: boolean;
  sidecar_offsets?: number[];
}
interface ErrorStatus {
  message: string;
  code?: number;
}
const RequestHeaderPB = messageType<RequestHeader>('RequestHeader');
const ResponseHeaderPB = messageType<ResponseHeader>('ResponseHeader');
const ErrorStatusPB = messageType<ErrorStatus>('ErrorStatusPB');

/** ErrorStatusPB codes after which another attempt may succeed. */
const retriableRpcCodes = new Set([4 /* SERVER_TOO_BUSY */, 11 /* SERVER_SHUTTING_DOWN */]);

export interface Response {
  /** The response protobuf. */
  readonly body: Uint8Array;
  /** The response payload (message, then sidecars) and the sidecars' offsets in it. */
  readonly rest: Uint8Array;
  readonly sidecarOffsets: readonly number[];
}

interface Pending {
  resolve(frame: { header: ResponseHeader; rest: Uint8Array }): void;
  reject(err: unknown): void;
}

export interface ConnectOptions {
  readonly user: string;
  readonly connectTimeoutMs: number;
  /** Encrypt every connection (TLS required of the server); absent: plaintext. */
  readonly tls?: KuduTlsOptions;
}

export class KuduConnection {
  private readonly socket: Socket;
  /** Where frames are written: the socket, or the TLS session over it once negotiated. */
  private out: { write(bytes: Uint8Array, done?: (err?: Error | null) => void): unknown };
  /** Where the socket's bytes go: the frame reader, or the TLS session once negotiated. */
  private inbound: (chunk: Buffer) => void = () => undefined;
  readonly peer: string;
  private readonly pending = new Map<number, Pending>();
  private nextCallId = 0;
  private closedWith: unknown;

  private readonly tls: boolean;

  private constructor(socket: Socket, peer: string, tls: boolean) {
    this.tls = tls;
    this.socket = socket;
    this.out = socket;
    this.peer = peer;
  }

  static async open(host: string, port: number, options: ConnectOptions): Promise<KuduConnection> {
    const peer = `${host}:${port}`;
    const socket = connect({ host, port, noDelay: true });
    const conn = new KuduConnection(socket, peer, options.tls !== undefined);
    const reader = new FrameReader();
    const frames = (chunk: Buffer): void => {
      try {
        for (const payload of reader.push(chunk)) conn.dispatch(payload);
      } catch (err) {
        conn.fail(err);
      }
    };
    conn.inbound = frames;
    socket.on('data', (chunk: Buffer) => conn.inbound(chunk));
    socket.on('error', (err) => conn.fail(kuduError('TRIB_KUDU_CONNECT', `connection to ${peer} failed`, err)));
    socket.on('close', () => conn.fail(kuduError('TRIB_KUDU_CONNECT', `connection to ${peer} closed`)));
    const timer = setTimeout(
      () => conn.fail(kuduError('TRIB_KUDU_TIMEOUT', `connecting to ${peer} took over ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        conn.pending.set(negotiationCallId, { resolve: () => undefined, reject });
      });
      socket.write(connectionPreamble);
      await negotiate(
        {
          send: (callId, body) =>
            new Promise<void>((resolve) => {
              conn.out.write(encodeFrame(RequestHeaderPB.encode({ call_id: callId }), body), () => resolve());
            }),
          receive: () => conn.await(negotiationCallId).then((r) => r.body),
          encrypt: (session) => {
            // Bytes the server sent after its last handshake message (e.g. TLS 1.3 session
            // tickets) are TLS records too: from here on the socket feeds the session only.
            session.attach((records) => socket.write(records));
            conn.inbound = (chunk) => session.receive(chunk);
            session.socket.on('data', frames);
            session.socket.on('error', (err) =>
              conn.fail(kuduError('TRIB_KUDU_TLS', `TLS session with ${peer} failed`, err)),
            );
            conn.out = session.socket;
          },
        },
        options.user,
        peer,
        options.tls,
      );
      return conn;
    } catch (err) {
      conn.close();
      throw conn.closedWith instanceof TributaryError && !(err instanceof TributaryError) ? conn.closedWith : err;
    } finally {
      clearTimeout(timer);
    }
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  /** Calls `service.method`; rejects with TRIB_KUDU_TIMEOUT after `timeoutMs`, TRIB_KUDU_RPC on a remote error. */
  async call(service: string, method: string, request: Uint8Array, timeoutMs: number): Promise<Response> {
    if (this.closedWith !== undefined) throw this.closedWith;
    const callId = this.nextCallId++;
    if (this.nextCallId > 0x7fff_ffff) this.nextCallId = 0;
    const header = RequestHeaderPB.encode({
      call_id: callId,
      remote_method: { service_name: service, method_name: method },
      timeout_millis: timeoutMs,
    });
    const answer = this.await(callId, timeoutMs, `${method} to ${this.peer}`);
    this.out.write(encodeFrame(header, request));
    return answer;
  }

  close(): void {
    this.fail(kuduError('TRIB_KUDU_CONNECT', `connection to ${this.peer} closed by the client`));
  }

  private async await(callId: number, timeoutMs?: number, what?: string): Promise<Response> {
    let timer: NodeJS.Timeout | undefined;
    const frame = await new Promise<{ header: ResponseHeader; rest: Uint8Array }>((resolve, reject) => {
      this.pending.set(callId, { resolve, reject });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.pending.delete(callId);
          reject(kuduError('TRIB_KUDU_TIMEOUT', `${what ?? 'call'} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }
    }).finally(() => clearTimeout(timer));
    if (frame.header.is_error === true) {
      const status = ErrorStatusPB.decode(mainMessage(frame.rest));
      if (callId === negotiationCallId) throw negotiationRefused(this.peer, status.message, this.tls);
      const err = kuduError('TRIB_KUDU_RPC', `${what ?? 'call'} failed: ${status.message}`);
      (err as { retriable?: boolean }).retriable = retriableRpcCodes.has(status.code ?? 0);
      throw err;
    }
    // The delimited payload holds the response message and then the sidecars; the offsets count from its start.
    const payload = mainMessage(frame.rest);
    const offsets = frame.header.sidecar_offsets ?? [];
    return {
      body: offsets.length > 0 ? payload.subarray(0, offsets[0]) : payload,
      rest: payload,
      sidecarOffsets: offsets,
    };
  }

  private dispatch(payload: Uint8Array): void {
    const { header, rest } = splitFrame(payload);
    const decoded = ResponseHeaderPB.decode(header);
    const waiter = this.pending.get(decoded.call_id);
    // A reply to a call that already timed out is dropped.
    if (!waiter) return;
    this.pending.delete(decoded.call_id);
    waiter.resolve({ header: decoded, rest });
  }

  private fail(err: unknown): void {
    if (this.closedWith === undefined) this.closedWith = err;
    for (const p of this.pending.values()) p.reject(this.closedWith);
    this.pending.clear();
    this.socket.destroy();
  }
}

/** Whether another attempt (elsewhere or later) may succeed after `err`. */
export function isRetriable(err: unknown): boolean {
  if (!(err instanceof TributaryError)) return false;
  if (err.code === 'TRIB_KUDU_CONNECT' || err.code === 'TRIB_KUDU_TIMEOUT') return true;
  return (err as { retriable?: boolean }).retriable === true;
}
