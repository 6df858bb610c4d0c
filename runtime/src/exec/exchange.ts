// Outputs that leave a task: a hash exchange (keyBy) and a forward exchange (same slot,
// into a union/join task). Both copy records out of the caller's batch. A hash exchange routes
// by a key group → slot table, the formula's until a live rescale reassigns key groups.
import type { KeySelector } from '../operators/key-selector.ts';
import { type Output } from '../operators/types.ts';
import { newBatch, type Batch } from '../core/batch.ts';
import { TributaryError } from '../errors.ts';
import { keyGroupOf, slotForKeyGroup } from '../state/key-groups.ts';
import type { Channel } from './channel.ts';

export class HashExchange implements Output {
  private readonly selector: KeySelector;
  private readonly channels: Channel[];
  private readonly maxParallelism: number;
  private readonly slotOfGroup: Int32Array;
  /** A key that fails: the job's onRecordError (a keyBy with errorOutput checked its keys before). */
  private readonly onError: (e: unknown, rec: unknown) => void;
  private pending: Batch[];

  /** `channels[s]` leads to slot s. */
  constructor(
    selector: KeySelector,
    channels: Channel[],
    maxParallelism: number,
    onError: (e: unknown, rec: unknown) => void,
  ) {
    this.selector = selector;
    this.channels = channels;
    this.maxParallelism = maxParallelism;
    this.onError = onError;
    this.slotOfGroup = new Int32Array(maxParallelism);
    for (let kg = 0; kg < maxParallelism; kg++)
      this.slotOfGroup[kg] = slotForKeyGroup(kg, channels.length, maxParallelism);
    this.pending = channels.map(() => newBatch());
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const sel = this.selector;
    const maxP = this.maxParallelism;
    const pending = this.pending;
    for (let i = 0; i < n; i++) {
      const rec = recs[i] as Record<string, unknown>;
      let key: string;
      try {
        key = sel(rec);
      } catch (e) {
        this.onError(e, rec);
        continue;
      }
      const kg = keyGroupOf(key, maxP);
      const t = pending[this.slotOfGroup[kg] as number] as Batch;
      const j = t.n++;
      t.recs[j] = rec;
      t.ts[j] = ts[i] as number;
      t.keys[j] = key;
      t.kgs[j] = kg;
    }
    for (let s = 0; s < pending.length; s++) {
      const t = pending[s] as Batch;
      if (t.n > 0) {
        (this.channels[s] as Channel).send({ kind: 'batch', batch: t });
        pending[s] = newBatch();
      }
    }
  }

  /**
   * Routes key groups `kgs` to slot `toSlot` from now on (a live rescale's step: the producing
   * task calls it as it emits the step's barrier, so every record of those key groups before the
   * barrier went to the old owner and every one after it goes to the new owner, per channel, in
   * order). A table write: `push` does no more work per record than before.
   */
  reassign(kgs: readonly number[], toSlot: number): void {
    if (!Number.isInteger(toSlot) || toSlot < 0 || toSlot >= this.channels.length)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `hash exchange: cannot route key groups to slot ${toSlot}: it has channels to slots 0..${this.channels.length - 1}`,
      );
    for (const kg of kgs)
      if (!Number.isInteger(kg) || kg < 0 || kg >= this.maxParallelism)
        throw new TributaryError(
          'TRIB_INVARIANT',
          `hash exchange: key group ${kg} is not in 0..${this.maxParallelism - 1}`,
        );
    for (const kg of kgs) this.slotOfGroup[kg] = toSlot;
  }

  /** The slot key group `kg` is routed to now. */
  slotOf(kg: number): number {
    return this.slotOfGroup[kg] as number;
  }

  watermark(wm: number): void {
    for (const c of this.channels) c.send({ kind: 'watermark', wm });
  }

  idle(idle: boolean): void {
    for (const c of this.channels) c.send({ kind: 'idle', idle });
  }

  end(): void {
    for (const c of this.channels) c.send({ kind: 'end' });
  }
}

export class ForwardExchange implements Output {
  private readonly channel: Channel;

  constructor(channel: Channel) {
    this.channel = channel;
  }

  push(b: Batch): void {
    if (b.n === 0) return;
    const copy: Batch = {
      recs: b.recs.slice(0, b.n),
      ts: b.ts.slice(0, b.n),
      keys: b.keys.slice(0, b.n),
      kgs: b.kgs.slice(0, b.n),
      n: b.n,
    };
    this.channel.send({ kind: 'batch', batch: copy });
  }

  watermark(wm: number): void {
    this.channel.send({ kind: 'watermark', wm });
  }

  idle(idle: boolean): void {
    this.channel.send({ kind: 'idle', idle });
  }

  end(): void {
    this.channel.send({ kind: 'end' });
  }
}
