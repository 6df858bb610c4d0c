// The channels of the slots this process runs, by (consumer task, its input, producer slot,
// consumer slot): in memory when both ends run here, `remoteChannel` (e.g. TCP) when one end is
// another process's. A forward exchange's channels stay within their slot. Made at build, and for
// a slot that joins the running job (slot-builder.ts join).
import { TributaryError } from '../errors.ts';
import type { Channel } from '../core/channel.ts';
import { LocalChannel } from './channel.ts';
import type { JobExecutorOptions } from './job-options.ts';

/** A slot of this process, as far as its channels care: its loop's wake-up. */
type WakeableSlot = { slot: { wake: () => void } };

export class SlotChannels {
  private readonly job: JobExecutorOptions;
  private readonly slots: ReadonlyMap<number, WakeableSlot>;
  private readonly byKey = new Map<string, Channel>();

  constructor(job: JobExecutorOptions, slots: ReadonlyMap<number, WakeableSlot>) {
    this.job = job;
    this.slots = slots;
  }

  /** Makes the channel from slot `from` to slot `to` into `head`'s input; undefined when neither end runs here. */
  make(head: string, inp: { input: number; exchange: string }, from: number, to: number): Channel | undefined {
    if (inp.exchange === 'forward' && from !== to) return undefined;
    const producer = this.slots.get(from);
    const consumer = this.slots.get(to);
    let ch: Channel;
    if (producer && consumer) {
      const local = new LocalChannel(this.job.channelCapacity ?? 16);
      local.connect(consumer.slot.wake, producer.slot.wake);
      ch = local;
    } else if (producer || consumer) {
      if (!this.job.remoteChannel)
        throw new TributaryError(
          'TRIB_JOB_CONFIG',
          `channel ${from}→${to} crosses processes but no remoteChannel was given`,
        );
      ch = this.job.remoteChannel(
        { consumer: head, input: inp.input, from, to },
        (producer ?? (consumer as WakeableSlot)).slot.wake,
      );
    } else return undefined;
    this.byKey.set(key(head, inp.input, from, to), ch);
    return ch;
  }

  get(consumer: string, input: number, from: number, to: number): Channel | undefined {
    return this.byKey.get(key(consumer, input, from, to));
  }
}

function key(consumer: string, input: number, from: number, to: number): string {
  return `${consumer}|${input}|${from}|${to}`;
}
