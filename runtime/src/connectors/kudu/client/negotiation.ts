// Connection negotiation, client side: NEGOTIATE (features and mechanisms), then SASL PLAIN
// (INITIATE -> SUCCESS), then the connection context. No Kerberos and no TLS: a server that
// requires encryption or another mechanism is refused with a code saying so, never silently
// downgraded.
import { kuduError } from './kudu-errors.ts';
import { messageType } from './messages.ts';

const step = { SASL_SUCCESS: 0, NEGOTIATE: 1, SASL_INITIATE: 2, SASL_CHALLENGE: 3 } as const;
const feature = { APPLICATION_FEATURE_FLAGS: 1 } as const;

interface Negotiate {
  supported_features?: number[];
  step: number;
  token?: Uint8Array;
  sasl_mechanisms?: { mechanism: string }[];
  authn_types?: { sasl?: Record<string, never>; token?: unknown; certificate?: unknown }[];
}

const NegotiatePB = messageType<Negotiate>('NegotiatePB');
const ConnectionContextPB = messageType<{ DEPRECATED_user_info?: { real_user: string } }>('ConnectionContextPB');

export const negotiationCallId = -33;
export const connectionContextCallId = -3;

/** What a connection exchanges during negotiation: send a body under a call id, await the next reply. */
export interface NegotiationChannel {
  send(callId: number, body: Uint8Array): void;
  /** The next negotiation reply's body; a server-side negotiation error is thrown from here. */
  receive(): Promise<Uint8Array>;
}

export async function negotiate(channel: NegotiationChannel, user: string, peer: string): Promise<void> {
  channel.send(
    negotiationCallId,
    NegotiatePB.encode({
      step: step.NEGOTIATE,
      // TLS deliberately not offered: with encryption 'optional' (Kudu's default) the server
      // then goes on in the clear; with 'required' it refuses, which is reported below.
      supported_features: [feature.APPLICATION_FEATURE_FLAGS],
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
  // PLAIN: authorization id, authentication id and password, NUL-separated. Kudu does not check
  // the password of a PLAIN login; the user name becomes the connection's identity.
  channel.send(
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
  channel.send(connectionContextCallId, ConnectionContextPB.encode({ DEPRECATED_user_info: { real_user: user } }));
}

/** A negotiation refusal from the server (ErrorStatusPB) as the code a caller can act on. */
export function negotiationRefused(peer: string, message: string): Error {
  if (/TLS|encrypt/i.test(message)) {
    return kuduError(
      'TRIB_KUDU_TLS_REQUIRED',
      `${peer} requires an encrypted connection (TLS), which this client does not implement yet: ${message}`,
    );
  }
  return kuduError('TRIB_KUDU_AUTH', `${peer} refused the connection: ${message}`);
}
