// The link orders of a live scale out of slot pods (docs/runtime/distributed.md, "Slot pods: the link
// orders"): in a pod no supervisor tells the running slots of a joining slot (slot-host.ts), so slot 0 does,
// in CONTROL frames of the data plane beside the checkpoint, migration, join and drain messages.
//   link-order   slot 0 → every other running slot: accept rescale `generation`'s members at
//                `parallelism` (SlotProcess.prepareJoin), find the pod of joining slot `slot` through the
//                Kubernetes API (the peer selector plus SLOT_LABEL=<slot>) and link with it both ways
//                (SlotProcess.addPeer); slot 0 follows the same order for itself, without a message;
//   link-answer  that slot → slot 0: linked (`id` is the order's), or why not (`error`, `code`).
// A running slot bounds its part by `timeoutMs` (the order's): the time the operator has to create the pod
// and for it to start and link.
import { isTributaryError, TributaryError } from '../errors.ts';

export interface LinkOrder {
  /** The joining slot (the job's parallelism before it joins). */
  slot: number;
  generation: number;
  parallelism: number;
  timeoutMs: number;
}

/** A running slot's answer to order `id`: linked, or why not (`error`, its TRIB_* `code`). */
export interface LinkAnswer {
  m: 'link-answer';
  id: number;
  error?: string;
  code?: string;
}

export type LinkOrderRpc = ({ m: 'link-order'; id: number } & LinkOrder) | LinkAnswer;

export function isLinkOrderRpc(msg: { m: string }): msg is LinkOrderRpc {
  return msg.m === 'link-order' || msg.m === 'link-answer';
}

/** What a running slot does with an order (a SlotProcess, as rescale-pod-links.ts wires it). */
export interface LinkOrderSlot {
  readonly slot: number;
  prepareJoin(generation: number, parallelism: number): void;
  addPeer(slot: number, address: string, timeoutMs: number): Promise<void>;
}

/**
 * The data-plane address of joining slot `slot`'s pod, polled until there is one (a pod that is not Running or has no
 * IP yet is "not yet"); undefined once `deadline` (epoch ms) passed.
 */
export type FindSlot = (slot: number, deadline: number) => Promise<string | undefined>;

/** A running slot follows `order`: prepare the generation, find the joining pod, link with it. Rejects naming it. */
export async function followLinkOrder(s: LinkOrderSlot, order: LinkOrder, find: FindSlot): Promise<void> {
  const deadline = Date.now() + order.timeoutMs;
  s.prepareJoin(order.generation, order.parallelism);
  const address = await find(order.slot, deadline);
  if (address === undefined)
    throw new TributaryError(
      'TRIB_PEER_TIMEOUT',
      `slot ${s.slot}: no pod of joining slot ${order.slot} (generation ${order.generation}, parallelism ` +
        `${order.parallelism}) was Running with a pod IP within ${order.timeoutMs} ms: was it created?`,
    );
  await s.addPeer(order.slot, address, Math.max(1, deadline - Date.now()));
}

/** The answer to order `id` after `outcome` settled. */
export async function answerOf(id: number, outcome: Promise<void>): Promise<LinkAnswer> {
  try {
    await outcome;
    return { m: 'link-answer', id };
  } catch (e) {
    return {
      m: 'link-answer',
      id,
      error: e instanceof Error ? e.message : String(e),
      code: isTributaryError(e) ? e.code : 'TRIB_PEER_CONFIG',
    };
  }
}
