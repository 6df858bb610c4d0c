// A slot joining and leaving running tasks (join-local.ts wireJoined, leave-local.ts endChannelsTo) on
// real hash exchanges, local channels, gate tasks, chains and slot mailboxes: two running slots,
// each a producer task (its keyBy's HashExchange) and a consumer task; slot 2 joins with its own
// producer and consumer built with every input at once and its exchange routing by the owners
// now. Nothing changes in a running slot until its loop runs the posted wiring; then the running
// producers' key groups reassigned to slot 2 reach its consumer, slot 2's records reach the running
// consumers, and a full new channel stops its producer. Draining slot 2 ends and drops the running
// producers' channels to it, refused while a key group still routes there. A source task (a source
// chained to a keyBy) stops while a channel it gained is full, and reads on once it dropped it.
import { describe, expect, it } from 'vitest';
import { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import { newBatch, type Batch } from '../core/batch.ts';
import { fieldsKeySelector } from '../operators/key-selector.ts';
import type { Output } from '../operators/types.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { canonicalKey, keyGroupOf, slotForKeyGroup } from '../state/key-groups.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { WatermarkAlignment } from '../time/watermark-alignment.ts';
import { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { ChannelElement } from '../core/channel.ts';
import { LocalChannel } from '../exec/channel.ts';
import { HashExchange } from '../exec/exchange.ts';
import { GateTask } from '../exec/gate-task.ts';
import { Slot } from '../exec/slot.ts';
import { SourceTask } from '../exec/source-task.ts';
import type { JoinedChannel } from '../exec/slot-builder.ts';
import { endChannelsTo, forgetInputsFrom } from './leave-local.ts';
import { wireJoined } from './join-local.ts';
import { TaskLinks } from '../exec/task-links.ts';

const MAXP = 8;
const fail = (e: unknown): never => {
  throw e;
};

/** A key per key group. */
const keyOf = new Map<number, string>();
for (let i = 0; keyOf.size < MAXP; i++) {
  const kg = keyGroupOf(canonicalKey([`k${i}`]), MAXP);
  if (!keyOf.has(kg)) keyOf.set(kg, `k${i}`);
}
const keyIn = (kg: number): string => keyOf.get(kg) as string;

function recs(...ks: string[]): Batch {
  const b = newBatch();
  for (const k of ks) {
    b.recs[b.n] = { k };
    b.ts[b.n++] = 0;
  }
  return b;
}

function recorder(): { seen: string[]; head: Output } {
  const seen: string[] = [];
  return {
    seen,
    head: {
      push: (b) => {
        for (let i = 0; i < b.n; i++) seen.push(`rec ${(b.recs[i] as { k: string }).k}`);
      },
      watermark: (wm) => seen.push(`wm ${wm}`),
      idle: () => undefined,
      end: () => seen.push('end'),
    },
  };
}

function chain(): ChainCheckpoint {
  const cp = new SlotCheckpointer({
    slot: 0,
    post: (cb) => cb(),
    coordinator: { acknowledge: () => {}, decline: () => {} },
    logger: silentLogger(),
    onComplete: () => {},
    onAborted: () => {},
  });
  return new ChainCheckpoint(cp);
}

const all = (ch: LocalChannel): ChannelElement[] => {
  const out: ChannelElement[] = [];
  for (let el = ch.poll(); el; el = ch.poll()) out.push(el);
  return out;
};

/** Slots 0 and 1 running; slot 2 built (not wired); `ch(from, to)` the channels into the consumers. */
function setup() {
  const chans = new Map<string, LocalChannel>();
  const ch = (from: number, to: number): LocalChannel => {
    const k = `${from}>${to}`;
    if (!chans.has(k)) chans.set(k, new LocalChannel(2));
    return chans.get(k) as LocalChannel;
  };
  const slots = new Map([0, 1, 2].map((s) => [s, { slot: new Slot(s) }]));
  const links = new TaskLinks();
  const tasks = [0, 1, 2].map((s) => {
    const width = s < 2 ? 2 : 3;
    const upstream = new LocalChannel(64);
    const targets = [...Array(width).keys()].map((to) => ch(s, to));
    const exchange = new HashExchange(fieldsKeySelector(['k']), targets, MAXP, fail);
    const c = chain();
    c.channels.push(...targets);
    const producer = new GateTask(`p${s}`, [{ channel: upstream, input: 0 }], exchange, [...targets]);
    const rec = recorder();
    const inputs = [...Array(width).keys()].map((from) => ({ channel: ch(from, s), input: 0 }));
    const consumer = new GateTask(`c${s}`, inputs, rec.head, []);
    if (s < 2) {
      links.producers.push({ slot: s, consumer: 'c', input: 0, exchange, chain: c, task: producer });
      links.consumers.push({ slot: s, head: 'c', gate: consumer });
    }
    return { upstream, exchange, chain: c, producer, consumer, seen: rec.seen };
  });
  // Slot 2 routes by the owners now: the formula at 2 (nothing moved to it yet).
  const ex2 = (tasks[2] as (typeof tasks)[number]).exchange;
  for (let kg = 0; kg < MAXP; kg++) ex2.reassign([kg], slotForKeyGroup(kg, 2, MAXP));
  const gained: JoinedChannel[] = [
    { from: 0, to: 2, consumer: 'c', input: 0, channel: ch(0, 2) },
    { from: 1, to: 2, consumer: 'c', input: 0, channel: ch(1, 2) },
    { from: 2, to: 0, consumer: 'c', input: 0, channel: ch(2, 0) },
    { from: 2, to: 1, consumer: 'c', input: 0, channel: ch(2, 1) },
  ];
  const run = (n = 10): void => {
    for (let i = 0; i < n; i++)
      for (const t of tasks) {
        t.producer.step();
        t.consumer.step();
      }
  };
  return { ch, slots, links, tasks, gained, run };
}

type Setup = ReturnType<typeof setup>;
const task = (s: Setup, i: number) => s.tasks[i] as Setup['tasks'][number];

async function joined(s: Setup): Promise<void> {
  const wiring = wireJoined(s.links, s.slots, 2, s.gained);
  for (const { slot } of s.slots.values()) slot.drainMailbox();
  await wiring;
}

describe('a slot joins running tasks (wireJoined)', () => {
  it('changes a running slot only in its loop; then moved key groups reach the new slot, its records the others', async () => {
    const s = setup();
    const kgOf0 = 0; // slot 0's at parallelism 2
    const kgOf1 = MAXP - 1; // slot 1's
    const wiring = wireJoined(s.links, s.slots, 2, s.gained);
    expect(() => task(s, 0).exchange.reassign([kgOf0], 2), 'not before its loop ran the wiring').toThrow(
      /channels to slots 0..1/,
    );
    for (const { slot } of s.slots.values()) slot.drainMailbox();
    await wiring;
    expect(task(s, 0).chain.channels).toContain(s.ch(0, 2));
    task(s, 0).exchange.reassign([kgOf0], 2);
    task(s, 0).upstream.send({ kind: 'batch', batch: recs(keyIn(kgOf0), keyIn(kgOf1)) });
    // Slot 2's own records: by the owners now, to slots 0 and 1.
    task(s, 2).upstream.send({ kind: 'batch', batch: recs(keyIn(kgOf0), keyIn(kgOf1)) });
    s.run();
    expect(task(s, 2).seen).toEqual([`rec ${keyIn(kgOf0)}`]);
    expect(task(s, 0).seen).toEqual([`rec ${keyIn(kgOf0)}`]);
    expect(task(s, 1).seen).toEqual([`rec ${keyIn(kgOf1)}`, `rec ${keyIn(kgOf1)}`]);
  });

  it('a running producer stops while its new channel is full, and the new consumer gets its watermark first', async () => {
    const s = setup();
    task(s, 0).exchange.watermark(7);
    await joined(s);
    expect(all(s.ch(0, 2)).map((e) => e.kind)).toEqual(['watermark']);
    task(s, 0).exchange.reassign([0], 2);
    task(s, 0).upstream.send({ kind: 'batch', batch: recs(keyIn(0)) });
    task(s, 0).upstream.send({ kind: 'batch', batch: recs(keyIn(0)) });
    task(s, 0).upstream.send({ kind: 'batch', batch: recs(keyIn(0)) });
    for (let i = 0; i < 5; i++) task(s, 0).producer.step(); // slot 2's consumer does not read
    expect(s.ch(0, 2).queuedBatches).toBe(2);
    expect(task(s, 0).producer.step(), 'blocked by the full new channel').toBe(false);
  });
});

describe('a slot drains from running tasks (endChannelsTo)', () => {
  it('is refused while a key group routes to the slot; then ends and drops the channel everywhere', async () => {
    const s = setup();
    await joined(s);
    task(s, 0).exchange.reassign([0], 2);
    expect(() => endChannelsTo(s.links, 0, 2, 3)).toThrow(/key group 0 is still routed to slot 2/);
    task(s, 0).exchange.reassign([0], 0);
    all(s.ch(0, 2));
    endChannelsTo(s.links, 0, 2, 3);
    expect(all(s.ch(0, 2)).map((e) => e.kind)).toEqual(['end']);
    expect(task(s, 0).chain.channels).not.toContain(s.ch(0, 2));
    expect(() => task(s, 0).exchange.reassign([0], 2)).toThrow(/channels to slots 0..1/);
    // A full dropped channel no longer stops the producer.
    s.ch(0, 2).send({ kind: 'batch', batch: recs('x') });
    s.ch(0, 2).send({ kind: 'batch', batch: recs('x') });
    task(s, 0).upstream.send({ kind: 'batch', batch: recs(keyIn(0)) });
    expect(task(s, 0).producer.step()).toBe(true);
    expect(all(s.ch(0, 0)).length).toBe(1);
  });

  it('the draining slot ends once every producer ended its channel, and no longer holds the running watermark', async () => {
    const s = setup();
    await joined(s);
    endChannelsTo(s.links, 0, 2, 3);
    endChannelsTo(s.links, 1, 2, 3);
    task(s, 2).exchange.end(); // the draining slot's own producer (its source ended)
    task(s, 0).exchange.watermark(5);
    task(s, 1).exchange.watermark(5);
    s.run();
    expect(task(s, 2).consumer.done).toBe(true);
    expect(task(s, 2).seen).toContain('end');
    expect(task(s, 0).seen).toContain('wm 5');
    expect(task(s, 0).consumer.done).toBe(false);
  });
});

describe('SourceTask outputs (a source chained to a keyBy gains and drops channels)', () => {
  it('stops while an added output is full and reads on once it is removed', async () => {
    let polls = 0;
    const reader = {
      open: (ctx: { addPartition(): number }) => {
        ctx.addPartition();
        return Promise.resolve();
      },
      poll: (out: { add(rec: unknown, partition: number): void }) => {
        polls++;
        out.add({ k: 'a' }, 0);
        return 'data' as const;
      },
      close: () => Promise.resolve(),
    };
    const src = new SourceTask({
      spec: { name: 'events', collection: { records: [] } },
      reader,
      slot: new Slot(0),
      parallelism: 1,
      out: recorder().head,
      outputs: [],
      batchSize: 1,
      logger: silentLogger(),
      onRecords: () => undefined,
      onFailed: () => undefined,
    });
    await src.open();
    expect(src.step()).toBe(true);
    const full = new LocalChannel(1);
    full.send({ kind: 'batch', batch: recs('x') });
    src.addOutput(full);
    expect(src.step(), 'blocked by the added full output').toBe(false);
    expect(polls).toBe(1);
    src.removeOutput(full);
    expect(src.step()).toBe(true);
    expect(polls).toBe(2);
  });
});

describe('a drained slot leaves no input behind (forgetInputsFrom)', () => {
  it("the running consumers drop the drained slot's ended inputs; their watermarks follow the inputs left", async () => {
    const s = setup();
    await joined(s);
    const gone = task(s, 2);
    s.links.producers.push({
      slot: 2,
      consumer: 'c',
      input: 0,
      exchange: gone.exchange,
      chain: gone.chain,
      task: gone.producer,
    });
    expect(() => forgetInputsFrom(s.links, 2, 0), 'not before its input ended').toThrow(/has not ended/);
    endChannelsTo(s.links, 0, 2, 3);
    endChannelsTo(s.links, 1, 2, 3);
    gone.exchange.end();
    s.run();
    for (const r of [0, 1]) {
      expect(task(s, r).consumer.inputCount).toBe(3);
      forgetInputsFrom(s.links, 2, r);
      expect(task(s, r).consumer.inputCount, 'as before the join').toBe(2);
    }
    task(s, 0).exchange.watermark(9);
    task(s, 1).exchange.watermark(9);
    s.run();
    expect(task(s, 0).seen).toContain('wm 9');
    expect(task(s, 1).seen).toContain('wm 9');
    expect(task(s, 0).consumer.done).toBe(false);
  });
});

describe('a closed source slot leaves its watermark alignment group', () => {
  it('its member and its wake-up go: the group follows the members left', async () => {
    const hub = new WatermarkAlignment();
    hub.declare('g', 'events#0', true);
    hub.declare('g', 'events#1', true);
    const reader = { open: () => Promise.resolve(), poll: () => 'empty' as const, close: () => Promise.resolve() };
    const src = new SourceTask({
      spec: { name: 'events', collection: { records: [] } },
      reader,
      slot: new Slot(1),
      parallelism: 2,
      out: recorder().head,
      outputs: [],
      batchSize: 1,
      logger: silentLogger(),
      onRecords: () => undefined,
      onFailed: () => undefined,
      alignment: { hub, group: 'g', member: 'events#1', driftMs: 1000 },
    });
    hub.report('g', 'events#0', 5000);
    expect(hub.min('g')).toBe(MIN_WATERMARK); // events#1 has not reported
    await src.close();
    expect(hub.min('g')).toBe(5000);
    expect(hub.localSnapshot()).toEqual([['g', 'events#0', 5000]]);
  });
});
