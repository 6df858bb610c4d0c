// Connection handshake of the data plane. The dialer (producer side) sends HELLO with its
// identity; the server (consumer side) answers WELCOME with its own slot, or REFUSE with a
// reason and closes. Peers only talk within one deployment of one job graph at one
// parallelism: a slot left over from an older deployment (a pod being terminated, a process
// of a previous restart attempt) is refused, and so is a second connection from a slot
// already connected.
export const PROTOCOL_VERSION = 1;

export interface Hello {
  protocol: number;
  deploymentId: string;
  /** Hash of the graph, parallelism and maxParallelism: both ends must run the same plan. */
  jobHash: string;
  fromSlot: number;
  parallelism: number;
}

export interface Welcome {
  protocol: number;
  deploymentId: string;
  slot: number;
}

export type RefusalReason = 'protocol' | 'deployment' | 'job' | 'parallelism' | 'slot' | 'duplicate' | 'malformed';

export interface Refusal {
  reason: RefusalReason;
  message: string;
}

export interface Identity {
  deploymentId: string;
  jobHash: string;
  slot: number;
  parallelism: number;
}

/** Checks a HELLO against this slot's identity; `connected` holds the slots already accepted. */
export function checkHello(h: unknown, self: Identity, connected: ReadonlySet<number>): Refusal | undefined {
  if (typeof h !== 'object' || h === null) return { reason: 'malformed', message: 'hello is not an object' };
  const hello = h as Partial<Hello>;
  if (hello.protocol !== PROTOCOL_VERSION)
    return { reason: 'protocol', message: `protocol ${String(hello.protocol)}, this slot speaks ${PROTOCOL_VERSION}` };
  if (hello.deploymentId !== self.deploymentId)
    return {
      reason: 'deployment',
      message: `peer is in deployment ${JSON.stringify(hello.deploymentId)}, this slot in ${JSON.stringify(self.deploymentId)}`,
    };
  if (hello.jobHash !== self.jobHash)
    return { reason: 'job', message: `peer runs job ${String(hello.jobHash)}, this slot ${self.jobHash}` };
  if (hello.parallelism !== self.parallelism)
    return {
      reason: 'parallelism',
      message: `peer has parallelism ${String(hello.parallelism)}, this slot ${self.parallelism}`,
    };
  const from = hello.fromSlot;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 0 || from >= self.parallelism || from === self.slot)
    return { reason: 'slot', message: `peer slot ${String(from)} is not another slot of [0, ${self.parallelism})` };
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
    typeof x.deploymentId === 'string'
  );
}
