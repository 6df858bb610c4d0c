// Outputs that leave a task: a hash exchange (keyBy) and a forward exchange (same slot,
// into a union/join task). Both copy records out of the caller's batch. A hash exchange routes
// by a key group → slot table, the formula's until a live rescale reassigns key groups, and
// gains a channel when a slot joins the running job (addChannel); a forward exchange has one
// channel for its life (its consumer is in its own slot). Either passes the batch's record
// origins on (core/origin.ts) only when built to (`carryOrigins`, graph/origin-exchanges.ts):
// every other exchange copies recs, ts and keys only, as if origins did not exist.
import type { KeySelector } from '../operators/key-selector.ts';
import { type Output } from '../operators/types.ts';
import { newBatch, type Batch } from '../core/batch.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { TributaryError } from '../errors.ts';
import { keyGroupOf, slotForKeyGroup } from '../state/key-groups.ts';
import type { Channel } from '../core/channel.ts';

export class HashExchange implements Output {
  private readonly selector: KeySelector;
  private readonly channels: Channel[];
  private readonly maxParallelism: number;
  private readonly slotOfGroup: Int32Array;
  /** A key that fails: the job's onRecordError (a keyBy with errorOutput checked its keys before). */
  private readonly onError: (e: unknown, rec: unknown) => void;
  /** Pass Batch.origins on, per target slot like recs and ts. */
  private readonly carryOrigins: boolean;
  private pending: Batch[];
  /** What went out last on every channel: a channel added later starts from it. */
  private lastWatermark = MIN_WATERMARK;
  private lastIdle = false;
  private ended = false;

  /** `channels[s]` leads to slot s. */
  constructor(
    selector: KeySelector,
    channels: Channel[],
    maxParallelism: number,
    onError: (e: unknown, rec: unknown) => void,
    carryOrigins = false,
  ) {
    this.carryOrigins = carryOrigins;
    this.selector = selector;
    this.channels = [...channels];
    this.maxParallelism = maxParallelism;
    this.onError = onError;
    this.slotOfGroup = new Int32Array(maxParallelism);
    for (let kg = 0; kg < maxParallelism; kg++)
      this.slotOfGroup[kg] = slotForKeyGroup(kg, channels.length, maxParallelism);
    this.pending = channels.map(() => newBatch());
  }

  push(b: Batch): void {
    if (this.carryOrigins && b.origins !== undefined) {
      this.pushWithOrigins(b, b.origins);
      return;
    }
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
    this.sendPending();
  }

  /** `push` for a batch whose origins cross: a loop of its own, so `push` does no more per record. */
  private pushWithOrigins(b: Batch, origins: NonNullable<Batch['origins']>): void {
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
      (t.origins ??= [])[j] = origins[i];
    }
    this.sendPending();
  }

  private sendPending(): void {
    const pending = this.pending;
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

  /**
   * Adds the channel to slot `slot`, which joins the running job (docs/design/live-rescale.md, "Joining a
   * running job"); slots join in order, so `slot` is the number of channels so far. No key group
   * is routed to it until a `reassign` flips some; watermarks, idle markers and end go to it
   * from now on (barriers, cancel markers and backpressure: join-channel.ts). Its first
   * elements are this producer's current watermark and idle status, so the consumer's minimum
   * over its inputs waits for this channel only until they arrive, and gets from it no
   * watermark older than this producer's other consumers have. `push` does no more work per
   * record than before (one pending batch more per batch).
   */
  addChannel(slot: number, channel: Channel): void {
    if (slot !== this.channels.length)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `hash exchange: cannot add a channel to slot ${slot}: the next slot to join is ${this.channels.length}`,
      );
    this.channels.push(channel);
    this.pending.push(newBatch());
    if (this.lastWatermark > MIN_WATERMARK) channel.send({ kind: 'watermark', wm: this.lastWatermark });
    if (this.lastIdle) channel.send({ kind: 'idle', idle: true });
    if (this.ended) channel.send({ kind: 'end' });
  }

  /**
   * Ends and drops the channel to slot `slot`, which drains (docs/design/live-rescale.md §5): slots leave from the
   * top, so it is the last channel, and no key group may be routed to it any more (the plan moved them all away).
   * Its consumer gets `end` after everything sent before; returns the channel (the caller drops it from the chain
   * and outputs).
   */
  /** The channel to `slot`'s consumer. */
  channelTo(slot: number): Channel {
    const ch = this.channels[slot];
    if (!ch) throw new TributaryError('TRIB_INVARIANT', `hash exchange: no channel to slot ${slot}`);
    return ch;
  }

  removeChannel(slot: number): Channel {
    if (slot !== this.channels.length - 1 || slot === 0)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `hash exchange: cannot drop the channel to slot ${slot}: only the last one above 0 (${this.channels.length - 1}) can go`,
      );
    for (let kg = 0; kg < this.maxParallelism; kg++)
      if (this.slotOfGroup[kg] === slot)
        throw new TributaryError('TRIB_INVARIANT', `hash exchange: key group ${kg} is still routed to slot ${slot}`);
    this.sendPending();
    const ch = this.channels.pop() as Channel;
    this.pending.pop();
    if (!this.ended) ch.send({ kind: 'end' });
    return ch;
  }

  /** The slot key group `kg` is routed to now. */
  slotOf(kg: number): number {
    return this.slotOfGroup[kg] as number;
  }

  watermark(wm: number): void {
    if (wm > this.lastWatermark) this.lastWatermark = wm;
    this.lastIdle = false; // a consumer's valve takes a watermark on an idle channel as active again
    for (const c of this.channels) c.send({ kind: 'watermark', wm });
  }

  idle(idle: boolean): void {
    this.lastIdle = idle;
    for (const c of this.channels) c.send({ kind: 'idle', idle });
  }

  end(): void {
    this.ended = true;
    for (const c of this.channels) c.send({ kind: 'end' });
  }
}

export class ForwardExchange implements Output {
  private readonly channel: Channel;
  private readonly carryOrigins: boolean;

  constructor(channel: Channel, carryOrigins = false) {
    this.channel = channel;
    this.carryOrigins = carryOrigins;
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
    if (this.carryOrigins && b.origins !== undefined) copy.origins = b.origins.slice(0, b.n);
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
