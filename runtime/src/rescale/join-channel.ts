// A running producer task's hash exchange gains the channel to a slot that joins the job (a
// live rescale's scale out: docs/design/live-rescale.md, "Joining a running job"). Three
// things of the task see its channels, and the new one must be in all three at once (in the
// task's slot loop, between two elements): the exchange (records, watermarks, idle markers,
// end), the chain's checkpoint (barriers and cancel markers it forwards) and the task's
// outputs (it runs only while every channel it writes into is writable, so a slow new consumer
// stops it instead of growing the channel).
//
// Invariant: the channel's first elements are the producer's current watermark and idle status
// (HashExchange.addChannel), then, in order, everything the task emits after this call; no
// barrier the task forwarded before is ever sent on it.
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { Channel } from '../core/channel.ts';
import type { HashExchange } from '../exec/exchange.ts';
import type { Writable } from '../exec/source-task.ts';

export interface AddedChannel {
  exchange: HashExchange;
  /** The joining slot the channel leads to: the exchange's next slot. */
  slot: number;
  channel: Channel;
  /** The task's chain when the job checkpoints. */
  chain: ChainCheckpoint | undefined;
  /** The producing task (GateTask.addOutput). */
  task: { addOutput(w: Writable): void };
}

export function addOutputChannel(a: AddedChannel): void {
  a.exchange.addChannel(a.slot, a.channel);
  a.chain?.channels.push(a.channel);
  a.task.addOutput(a.channel);
}
