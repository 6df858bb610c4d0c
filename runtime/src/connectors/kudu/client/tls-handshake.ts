// Kudu's "TLS inside negotiation": the TLS handshake's records travel as the tls_handshake bytes
// of NegotiatePB TLS_HANDSHAKE messages, in the clear KRPC framing; once it completes, every
// later byte of the connection (SASL, the connection context, all calls) is TLS records on the
// raw socket. Node's TLSSocket runs over an in-memory duplex (KuduTlsWire) so the handshake's
// output can be collected flight by flight and the wire re-pointed at the socket afterwards.
//
// Trust: the servers' certificates are issued by the cluster's own CA (the leader master's
// IPKI CA) for each server's FQDN, so the chain is verified against the CA the user gives and the
// host name is not compared (clients reach servers by addresses the FQDN rarely matches; only
// cluster members hold a certificate of that CA). `verify: false` encrypts without checking.
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TributaryError } from '../../../errors.ts';
import { kuduError } from './kudu-errors.ts';

export interface KuduTlsOptions {
  /** PEM of the CA (or CAs) whose certificates the servers must present; required unless verify is false. */
  readonly ca?: string | Buffer;
  /** false: encrypt, but accept any server certificate. Never the default. */
  readonly verify?: boolean;
}

/** The byte pipe under the TLSSocket: collects its output until `attach`, then forwards it. */
class KuduTlsWire extends Duplex {
  private outgoing: Buffer[] = [];
  private forward: ((bytes: Buffer) => void) | undefined;
  private wake: (() => void) | undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.forward) this.forward(chunk);
    else {
      this.outgoing.push(chunk);
      this.wake?.();
    }
    done();
  }

  override _read(): void {}

  /** Resolves when the TLSSocket has written something since the last `take`. */
  written(): Promise<void> {
    if (this.outgoing.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  takeOutgoing(): Buffer {
    const out = Buffer.concat(this.outgoing);
    this.outgoing = [];
    this.wake = undefined;
    return out;
  }

  attach(forward: (bytes: Buffer) => void): void {
    this.forward = forward;
  }
}

export interface TlsExchange {
  /** Sends a TLS_HANDSHAKE message with these bytes and returns the server's TLS_HANDSHAKE reply's bytes. */
  roundTrip(token: Buffer): Promise<Buffer>;
  /** Sends the client's last handshake bytes, to which the server sends no TLS_HANDSHAKE reply. */
  sendLast(token: Buffer): void;
}

export interface TlsSession {
  /** Decrypted bytes come out of it as 'data'; frames are written to it. */
  readonly socket: TLSSocket;
  /** Raw socket bytes (TLS records) go in here. */
  receive(records: Buffer): void;
  /** Where the TLS records the session writes go from now on. */
  attach(forward: (bytes: Buffer) => void): void;
}

/** Runs the client side of the handshake through `exchange`; resolves once it completed and the server is trusted. */
export async function tlsHandshake(exchange: TlsExchange, options: KuduTlsOptions, peer: string): Promise<TlsSession> {
  const wire = new KuduTlsWire();
  const socket = tlsConnect({
    socket: wire,
    minVersion: 'TLSv1.2' as const,
    ...(options.verify === false
      ? { rejectUnauthorized: false }
      : { ca: options.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined }),
  });
  let outcome: { error?: Error; secure?: true } = {};
  const settled = new Promise<void>((resolve) => {
    socket.once('secureConnect', () => {
      outcome = { secure: true };
      resolve();
    });
    socket.once('error', (error) => {
      outcome = { error };
      resolve();
    });
  });
  try {
    for (;;) {
      // A flight is written in one turn of the event loop after its input arrived; one more
      // turn lets the TLSSocket report completion or a refused certificate first.
      await Promise.race([wire.written(), settled]);
      await nextTurn();
      if (outcome.error) throw outcome.error;
      const out = wire.takeOutgoing();
      if (outcome.secure) {
        if (out.length > 0) exchange.sendLast(out);
        return {
          socket,
          receive: (records) => wire.push(records),
          attach: (forward) => wire.attach(forward),
        };
      }
      wire.push(await exchange.roundTrip(out));
    }
  } catch (err) {
    socket.destroy();
    if (err instanceof TributaryError) throw err;
    const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : '';
    if (/CERT|SIGNATURE|ISSUER/.test(code)) {
      throw kuduError(
        'TRIB_KUDU_TLS_UNTRUSTED',
        `${peer} presented a certificate that tls.ca does not vouch for (${code}: ${(err as Error).message})`,
        err,
      );
    }
    throw kuduError('TRIB_KUDU_TLS', `TLS handshake with ${peer} failed: ${String(err)}`, err);
  }
}
