// Connection negotiation, client side: NEGOTIATE (features and mechanisms), then, with TLS
// configured, the TLS handshake (tls-handshake.ts) after which the connection is encrypted, then
// SASL PLAIN (INITIATE -> SUCCESS), then the connection context. No Kerberos: a server that
// requires another mechanism, or encryption the client was not configured for, is refused with
// a code saying so; a client configured for TLS never goes on in the clear.
import { kuduError } from './kudu-errors.ts';
import { messageType } from './messages.ts';
import { tlsHandshake, type KuduTlsOptions, type TlsSession } from './tls-handshake.ts';

const step = { SASL_SUCCESS: 0, NEGOTIATE: 1, SASL_INITIATE: 2, SASL_CHALLENGE: 3, TLS_HANDSHAKE: 5 } as const;
const feature = { APPLICATION_FEATURE_FLAGS: 1, TLS: 2 } as const;

interface Negotiate {
  supported_features?: number[];
  step: number;
  token?: Uint8Array;
  tls_handshake?: Uint8Array;
  sasl_mechanisms?: { mechanism: string }[];
  authn_types?: { sasl?: Record<string, never>; token?: unknown; certificate?: unknown }[];
}

const NegotiatePB = messageType<Negotiate>('NegotiatePB');
const ConnectionContextPB = messageType<{ DEPRECATED_user_info?: { real_user: string } }>('ConnectionContextPB');

export const negotiationCallId = -33;
export const connectionContextCallId = -3;

/** What a connection exchanges during negotiation: send a body under a call id, await the next reply. */
export interface NegotiationChannel {
  /** Resolves once the frame was handed to the socket (over TLS: sealed in its own record). */
  send(callId: number, body: Uint8Array): Promise<void>;
  /** The next negotiation reply's body; a server-side negotiation error is thrown from here. */
  receive(): Promise<Uint8Array>;
  /** From now on every frame goes through the session, in both directions. */
  encrypt(session: TlsSession): void;
}

export async function negotiate(
  channel: NegotiationChannel,
  user: string,
  peer: string,
  tls: KuduTlsOptions | undefined,
): Promise<void> {
  void channel.send(
    negotiationCallId,
    NegotiatePB.encode({
      step: step.NEGOTIATE,
      // TLS offered only when configured: without it a server with encryption 'optional'
      // (Kudu's default) goes on in the clear, one with 'required' refuses (reported below).
      // TLS_AUTHENTICATION_ONLY is never offered: the connection stays encrypted even on loopback.
      supported_features: [feature.APPLICATION_FEATURE_FLAGS, ...(tls ? [feature.TLS] : [])],
      sasl_mechanisms: [{ mechanism: 'PLAIN' }],
      authn_types: [{ sasl: {} }],
    }),
  );
  const offer = NegotiatePB.decode(await channel.receive());
  if (offer.step !== step.NEGOTIATE) {
    throw kuduError('TRIB_KUDU_PROTOCOL', `${peer}: expected NEGOTIATE in reply, got step ${offer.step}`);
  }
  const mechanisms = (offer.sasl_mechanisms ?? []).map((m) => m.mechanism);
  if (!mechanisms.includes('PLAIN')) {
    throw kuduError(
      'TRIB_KUDU_AUTH',
      `${peer} offers SASL mechanisms [${mechanisms.join(', ')}]; this client speaks only PLAIN (no Kerberos yet)`,
    );
  }
  if (tls) {
    if (!(offer.supported_features ?? []).includes(feature.TLS)) {
      throw kuduError(
        'TRIB_KUDU_TLS',
        `${peer} does not offer TLS (its --rpc_encryption is disabled) and tls is configured: not connecting in the clear`,
      );
    }
    channel.encrypt(await handshake(channel, tls, peer));
  }
  // PLAIN: authorization id, authentication id and password, NUL-separated. Kudu does not check
  // the password of a PLAIN login; the user name becomes the connection's identity.
  void channel.send(
    negotiationCallId,
    NegotiatePB.encode({
      step: step.SASL_INITIATE,
      sasl_mechanisms: [{ mechanism: 'PLAIN' }],
      token: Buffer.from(`\0${user}\0`, 'utf8'),
    }),
  );
  const result = NegotiatePB.decode(await channel.receive());
  if (result.step === step.SASL_CHALLENGE) {
    throw kuduError('TRIB_KUDU_AUTH', `${peer} sent a SASL challenge to a PLAIN login`);
  }
  if (result.step !== step.SASL_SUCCESS) {
    throw kuduError('TRIB_KUDU_PROTOCOL', `${peer}: expected SASL_SUCCESS, got step ${result.step}`);
  }
  // The context must reach the server in a TLS record of its own: the server reads it in its
  // negotiation thread, and a first call sealed in the same record would stay in that thread's
  // TLS buffer, where the connection's reactor never looks (the call would never be answered).
  await channel.send(
    connectionContextCallId,
    ConnectionContextPB.encode({ DEPRECATED_user_info: { real_user: user } }),
  );
}

function handshake(channel: NegotiationChannel, tls: KuduTlsOptions, peer: string): Promise<TlsSession> {
  const send = (token: Buffer): Promise<void> =>
    channel.send(negotiationCallId, NegotiatePB.encode({ step: step.TLS_HANDSHAKE, tls_handshake: token }));
  return tlsHandshake(
    {
      async roundTrip(token) {
        void send(token);
        const reply = NegotiatePB.decode(await channel.receive());
        if (reply.step !== step.TLS_HANDSHAKE || reply.tls_handshake === undefined) {
          throw kuduError('TRIB_KUDU_PROTOCOL', `${peer}: expected TLS_HANDSHAKE, got step ${reply.step}`);
        }
        return Buffer.from(reply.tls_handshake);
      },
      sendLast: (token) => void send(token),
    },
    tls,
    peer,
  );
}

/** A negotiation refusal from the server (ErrorStatusPB) as the code a caller can act on. */
export function negotiationRefused(peer: string, message: string, tlsConfigured: boolean): Error {
  if (tlsConfigured && /TLS|SSL|certificate/i.test(message)) {
    return kuduError('TRIB_KUDU_TLS', `${peer} refused the TLS handshake: ${message}`);
  }
  if (/TLS|encrypt/i.test(message)) {
    return kuduError(
      'TRIB_KUDU_TLS_REQUIRED',
      `${peer} requires an encrypted connection: configure tls (tls.ca: the cluster's CA certificate, or tls.verify: false): ${message}`,
    );
  }
  return kuduError('TRIB_KUDU_AUTH', `${peer} refused the connection: ${message}`);
}
