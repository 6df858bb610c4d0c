// Where the running tasks of this process's slots meet their channels, kept by the slot builder
// for a live rescale (join-local.ts, leave-local.ts): each hash exchange with the task that writes
// into it, and each task's input gate. A slot that joins gains channels in these; a slot that
// drains is dropped from them.
import type { ChainCheckpoint } from './chain-checkpoint.ts';
import type { HashExchange } from './exchange.ts';
import type { GateTask } from './gate-task.ts';
import type { Writable } from './source-task.ts';

/** A hash exchange of a task on `slot`, leading to input `input` of the task headed by `consumer`. */
export interface ProducerLink {
  slot: number;
  consumer: string;
  input: number;
  exchange: HashExchange;
  chain: ChainCheckpoint | undefined;
  /** The task whose chain holds the exchange (set once it is built). */
  task: { addOutput(w: Writable): void; removeOutput(w: Writable): void } | undefined;
}

/** The input gate of the task headed by `head` on `slot`. */
export interface ConsumerLink {
  slot: number;
  head: string;
  gate: GateTask;
}

export class TaskLinks {
  readonly producers: ProducerLink[] = [];
  readonly consumers: ConsumerLink[] = [];

  /** Forgets a drained slot's tasks. */
  removeSlot(slot: number): void {
    for (const list of [this.producers, this.consumers] as { slot: number }[][])
      for (let i = list.length - 1; i >= 0; i--) if ((list[i] as { slot: number }).slot === slot) list.splice(i, 1);
  }
}
