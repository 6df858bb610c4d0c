// Slot 0's host for a live rescale of slot pods (rescale-host.ts), where no local supervisor is: the
// operator records the write-ahead intent (the parallelism a restart starts with) before it asks slot 0, so
// `restartAt` is not this host's business, and it creates the joining pod when slot 0 says which one it waits
// for (MigrationStatus.awaiting). Scale out N → N+1 (generation g):
//
// 1. publish `awaiting {slot: N, generation: g, parallelism: N+1}` (the migration's status: the operator polls
//    it and creates that pod);
// 2. order every running slot to link with slot N (join-link-order.ts): slots 1..N−1 over the data plane's CONTROL
//    frames, slot 0 here. Each prepares generation g (a HELLO of the joining pod is accepted from then on; one
//    that came earlier was refused and is dialed again), finds the pod by the peer selector plus
//    SLOT_LABEL=N through the Kubernetes API, and links with it;
// 3. wait for every answer, each bounded by `timeoutMs` (plus a grace for the answer's way back: a running
//    slot's own bound names what it waited for, so it should be the one that ends the wait); an error or a
//    timeout rejects naming the slot (the caller fails the job: the operator restarts it at its intent);
// 4. clear `awaiting` (also when it failed): the job's rescale (JobExecutor.rescale: join-state, join-wire,
//    steps) goes on.
//
// Scale in starts nothing: it resolves at once and the job drains the slots that leave.
import type { Logger } from 'pino';
import type { JoiningSlot } from '../core/migration.ts';
import { TributaryError, type ErrorCode } from '../errors.ts';
import type { LinkAnswer, LinkOrder, LinkOrderRpc } from './join-link-order.ts';
import type { RescaleHost } from './rescale-host.ts';

/** How long an answer may take past the order's own bound before slot 0 stops waiting for it. */
const ANSWER_GRACE_MS = 5_000;

export interface PodRescaleHostContext {
  /** The job's parallelism now (undefined before slot 0 runs). */
  parallelism(): number | undefined;
  /** A link order to running slot `slot` over the data plane; false when the link to it is down. */
  send(slot: number, msg: LinkOrderRpc): boolean;
  /** Slot 0 follows the order itself. */
  followHere(order: LinkOrder): Promise<void>;
  /** How long the operator has to create the joining pod and the pod to start and link. */
  timeoutMs: number;
  logger: Logger;
}

export class PodRescaleHost implements RescaleHost {
  private readonly c: PodRescaleHostContext;
  private nextId = 1;
  private readonly answers = new Map<number, (msg: LinkAnswer) => void>();

  constructor(c: PodRescaleHostContext) {
    this.c = c;
  }

  async rescale(
    to: number,
    generation: number,
    _restartAt: number,
    awaiting?: (slot: JoiningSlot | undefined) => void,
  ): Promise<void> {
    const from = this.c.parallelism();
    if (from === undefined) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: slot 0 is not running');
    if (to <= from) return;
    if (to !== from + 1)
      throw new TributaryError('TRIB_INVARIANT', `live rescale of slot pods: ${from} → ${to} is not one slot joining`);
    const joining: JoiningSlot = { slot: from, generation, parallelism: to };
    const order: LinkOrder = { ...joining, timeoutMs: this.c.timeoutMs };
    awaiting?.(joining);
    this.c.logger.info(
      { ...joining, timeoutMs: this.c.timeoutMs },
      'live rescale: waiting for the joining slot pod; every running slot links with it',
    );
    const answered: Promise<void>[] = [
      this.c.followHere(order).catch((e: unknown) => {
        throw named(0, from, e);
      }),
    ];
    for (let s = 1; s < from; s++) answered.push(this.order(s, order));
    try {
      await Promise.all(answered);
    } finally {
      // Failed too: the operator must not create the pod for a rescale that ended (its status stays FAILED).
      awaiting?.(undefined);
    }
    this.c.logger.info(joining, 'live rescale: every running slot linked with the joining slot pod');
  }

  /** An answer from slot `from` (its `link-answer`). */
  receive(msg: LinkOrderRpc): void {
    if (msg.m === 'link-answer') this.answers.get(msg.id)?.(msg);
  }

  private order(slot: number, order: LinkOrder): Promise<void> {
    const id = this.nextId++;
    const bound = order.timeoutMs + ANSWER_GRACE_MS;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(id);
        reject(
          new TributaryError(
            'TRIB_PEER_TIMEOUT',
            `live rescale: slot ${slot} did not answer its order to link with joining slot ${order.slot} ` +
              `(generation ${order.generation}, parallelism ${order.parallelism}) within ${bound} ms`,
          ),
        );
      }, bound);
      this.answers.set(id, (a) => {
        clearTimeout(timer);
        this.answers.delete(id);
        if (a.error === undefined) resolve();
        // The code is the running slot's own (a runtime's TributaryError, join-link-order.ts answerOf).
        else reject(named(slot, order.slot, new TributaryError((a.code ?? 'TRIB_PEER_CONFIG') as ErrorCode, a.error)));
      });
      if (!this.c.send(slot, { m: 'link-order', id, ...order })) {
        clearTimeout(timer);
        this.answers.delete(id);
        reject(
          new TributaryError(
            'TRIB_NET_CONNECTION_LOST',
            `live rescale: the link to slot ${slot} is down: it cannot link with joining slot ${order.slot}`,
          ),
        );
      }
    });
  }
}

/** `e` as the rescale's error: its code kept, the running slot and the joining slot named. */
function named(slot: number, joining: number, e: unknown): TributaryError {
  const code = e instanceof TributaryError ? e.code : 'TRIB_PEER_CONFIG';
  const msg = e instanceof Error ? e.message : String(e);
  return new TributaryError(code, `live rescale: slot ${slot} linking with joining slot ${joining}: ${msg}`, {
    cause: e,
  });
}
