// Connection handshake of the data plane, authenticated by the job's secret:
//
//   server → dialer  CHALLENGE {protocol, nonce}             fresh 32 random bytes per connection
//   dialer → server  HELLO {identity…, generation, nonce, mac}
//                      mac = HMAC(key, "hello", server nonce, identity, generation, nonce)
//   server → dialer  WELCOME {protocol, deploymentId, slot, generation, parallelism, mac}
//                      mac = HMAC(key, "welcome", both nonces, slot, generation, parallelism)
//                 or REFUSE {code, reason, message} and close
//
// `key` is derived from the job's secret (dataPlaneKey). Both directions prove knowledge of it,
// so a process without the secret can neither inject records into a slot nor pose as one to
// receive them; the nonces make a recorded handshake useless on another connection. Only
// after a valid MAC are the identity checks made: peers only talk within one deployment of one
// job graph, as members of a membership generation this slot accepts (membership.ts: the one it
// started in, and those it was told of for a live rescale): a slot left over from an older
// deployment is refused, and so are a stale generation, a slot outside the generation's members
// and a second connection from a slot already connected. A refusal names the peer's own values and
// the reason, never this slot's expected values. The stream after the handshake is plain TCP:
// integrity against an on-path attacker of the pod network is the network's (docs/security.md).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * 3: HELLO and WELCOME carry the membership generation (live rescale). Not additive: a version-2
 * peer would not sign the generation, so it is refused as `protocol` before its MAC is checked.
 */
export const PROTOCOL_VERSION = 3;

export interface Challenge {
  protocol: number;
  /** base64 of 32 random bytes. */
  nonce: string;
}

export interface Hello {
  protocol: number;
  deploymentId: string;
  /** Hash of the graph, parallelism and maxParallelism: both ends must run the same plan. */
  jobHash: string;
  fromSlot: number;
  /** The parallelism of `generation`: its members are slots 0..parallelism−1. */
  parallelism: number;
  /** The membership generation the dialer is a member of (0 until the job's first live rescale). */
  generation: number;
  /** The dialer's nonce (base64, 32 bytes): the server's WELCOME MAC covers it. */
  nonce: string;
  /** base64 HMAC over the server's challenge and the fields above. */
  mac: string;
}

export interface Welcome {
  protocol: number;
  deploymentId: string;
  slot: number;
  /** The HELLO's generation and parallelism, as the answering slot accepted them. */
  generation: number;
  parallelism: number;
  mac: string;
}

export type RefusalReason =
  | 'protocol'
  | 'auth'
  | 'deployment'
  | 'job'
  | 'generation'
  | 'parallelism'
  | 'slot'
  | 'duplicate'
  | 'malformed'
  | 'oversized';

export interface Refusal {
  reason: RefusalReason;
  message: string;
}

export interface Identity {
  deploymentId: string;
  jobHash: string;
  slot: number;
  parallelism: number;
  /** The membership generation this slot starts in: 0, or the rescale a joining slot was started for. */
  generation?: number;
}

/** The handshake key of a job: HMAC of a fixed label under the job secret (apart from the secret's other uses). */
export function dataPlaneKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('tributary data plane v2').digest();
}

export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

function mac(key: Buffer, parts: readonly unknown[]): string {
  // JSON of the parts: unambiguous field boundaries whatever the strings hold.
  return createHmac('sha256', key).update(JSON.stringify(parts)).digest('base64');
}

/** The fields of a HELLO before it is signed. */
export type UnsignedHello = Omit<Hello, 'mac' | 'nonce'>;

export function signHello(key: Buffer, challenge: Challenge, h: UnsignedHello): Hello {
  const nonce = newNonce();
  const parts = helloParts(challenge.nonce, { ...h, nonce });
  return { ...h, nonce, mac: mac(key, parts) };
}

/** What a HELLO's MAC covers: every field but the MAC itself, in a fixed order. */
function helloParts(serverNonce: string, h: Partial<Hello>): unknown[] {
  return [
    'hello',
    serverNonce,
    h.protocol,
    h.deploymentId,
    h.jobHash,
    h.fromSlot,
    h.parallelism,
    h.generation,
    h.nonce,
  ];
}

function welcomeParts(serverNonce: string, hello: Hello, w: Omit<Welcome, 'mac'>): unknown[] {
  return ['welcome', serverNonce, hello.nonce, w.protocol, w.deploymentId, w.slot, w.generation, w.parallelism];
}

/** The WELCOME to an accepted HELLO: it names the generation and parallelism it was accepted under. */
export function signWelcome(key: Buffer, serverNonce: string, hello: Hello, self: Identity): Welcome {
  const w = {
    protocol: PROTOCOL_VERSION,
    deploymentId: self.deploymentId,
    slot: self.slot,
    generation: hello.generation,
    parallelism: hello.parallelism,
  };
  return { ...w, mac: mac(key, welcomeParts(serverNonce, hello, w)) };
}

function sameMac(expected: string, got: unknown): boolean {
  if (typeof got !== 'string') return false;
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(got, 'base64');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the WELCOME answers this connection's HELLO and was made with the job's key. */
export function verifyWelcome(key: Buffer, serverNonce: string, hello: Hello, w: Welcome): boolean {
  return sameMac(mac(key, welcomeParts(serverNonce, hello, w)), w.mac);
}

export function isChallenge(c: unknown): c is Challenge {
  const x = c as Partial<Challenge> | null;
  return typeof x === 'object' && x !== null && typeof x.protocol === 'number' && typeof x.nonce === 'string';
}

/** What decides on a HELLO's generation, parallelism, job and slot (membership.ts's Membership). */
export interface MembershipCheck {
  check(h: Partial<Hello>): Refusal | undefined;
}

/**
 * Checks a HELLO: first its MAC over `serverNonce` (nothing else is looked at, and nothing of
 * this slot is revealed, before the peer proved the secret), then the peer's deployment, then
 * its generation, parallelism, job and slot against the generations `members` accepts;
 * `connected` holds the slots already accepted.
 */
export function checkHello(
  h: unknown,
  key: Buffer,
  serverNonce: string,
  self: { deploymentId: string; members: MembershipCheck },
  connected: ReadonlySet<number>,
): Refusal | undefined {
  if (typeof h !== 'object' || h === null) return { reason: 'malformed', message: 'hello is not an object' };
  const hello = h as Partial<Hello>;
  if (hello.protocol !== PROTOCOL_VERSION)
    return { reason: 'protocol', message: `protocol ${String(hello.protocol)}, this slot speaks ${PROTOCOL_VERSION}` };
  const fields = [hello.deploymentId, hello.jobHash, hello.fromSlot, hello.parallelism, hello.generation, hello.nonce];
  if (!fields.every((f) => typeof f === 'string' || typeof f === 'number'))
    return { reason: 'malformed', message: 'hello lacks identity fields' };
  if (!sameMac(mac(key, helloParts(serverNonce, hello)), hello.mac))
    return { reason: 'auth', message: 'authentication failed' };
  if (hello.deploymentId !== self.deploymentId)
    return {
      reason: 'deployment',
      message: `peer deployment ${JSON.stringify(hello.deploymentId)} is not this slot's`,
    };
  const refusal = self.members.check(hello);
  if (refusal) return refusal;
  const from = hello.fromSlot as number;
  if (connected.has(from)) return { reason: 'duplicate', message: `slot ${from} is already connected` };
  return undefined;
}

export function isWelcome(w: unknown): w is Welcome {
  const x = w as Partial<Welcome> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    x.protocol === PROTOCOL_VERSION &&
    typeof x.slot === 'number' &&
    typeof x.generation === 'number' &&
    typeof x.parallelism === 'number' &&
    typeof x.deploymentId === 'string' &&
    typeof x.mac === 'string'
  );
}
