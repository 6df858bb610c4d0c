// The local supervisor's part of a live rescale (rescale-host-supervisor.ts): what it records, asks and starts,
// and in which order. The slots are stand-ins that record messages and answer as slot-main does;
// the real slots are exercised by cli/rescale-cli.int.test.ts (threads and processes).
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MessagePort } from 'node:worker_threads';
import { SupervisorRescaleHost } from './rescale-host-supervisor.ts';
import { HOST_KIND, type FromHost } from './slot-host.ts';
import type { SlotHandle } from './slot-launch.ts';

interface Stand {
  handle: SlotHandle;
  got: { m: FromHost; transfer: MessagePort[] }[];
  say(m: unknown): void;
  exited: boolean;
}

function stand(slot: number, events: string[]): Stand {
  let listener: (m: unknown) => void = () => undefined;
  const s: Stand = {
    got: [],
    exited: false,
    say: (m) => listener(m),
    handle: {
      slot,
      pid: 100 + slot,
      dataAddress: `127.0.0.1:${9000 + slot}`,
      controlAddress: '',
      metricsAddress: '',
      controlToken: '',
      child: {
        get exitCode() {
          return s.exited ? 0 : null;
        },
        signalCode: null,
        stdout: null,
        stderr: null,
        kill: () => true,
      },
      send: (m, transfer = []) => {
        events.push(`to ${slot}: ${m.op}`);
        s.got.push({ m, transfer });
      },
      onMessage: (fn) => (listener = fn),
    },
  };
  return s;
}

function setUp(n: number, overPorts = false) {
  const events: string[] = [];
  const slots = Array.from({ length: n }, (_, i) => stand(i, events));
  const launched: Stand[] = [];
  let parallelism = n;
  const host = new SupervisorRescaleHost({
    slots: () => [...slots, ...launched].map((s) => s.handle),
    parallelism: n,
    overPorts,
    reserve: (ss) => {
      events.push(`reserve ${ss.join(',')}`);
      return Promise.resolve();
    },
    dataAddress: (s) => `127.0.0.1:${9000 + s}`,
    launch: (slot, p, generation, ports) => {
      events.push(`launch ${slot} at ${p} g${generation}${ports ? ` with ${ports.outbound.size} ports out` : ''}`);
      const j = stand(slot, events);
      launched.push(j);
      return j.handle;
    },
    setParallelism: (p) => {
      events.push(`parallelism ${p}`);
      parallelism = p;
    },
    timeoutMs: 2000,
    logger: pino({ level: 'silent' }),
  });
  for (const s of slots) host.attach(s.handle);
  return { events, slots, launched, host, parallelism: () => parallelism };
}

const reply = (s: Stand) => s.got.find((g) => g.m.op === 'reply')?.m;
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('the supervisor in a live rescale', () => {
  it('scale out over TCP: records the target, orders the links, then starts the slot; answers once all linked', async () => {
    const { events, slots, launched } = setUp(2);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 7, to: 3, generation: 1 });
    await tick();
    expect(events).toEqual(['parallelism 3', 'reserve 2', 'to 0: link', 'to 1: link', 'launch 2 at 3 g1']);
    const order = slots[1]!.got[0]!.m;
    expect(order).toMatchObject({
      op: 'link',
      generation: 1,
      parallelism: 3,
      peers: [{ slot: 2, address: '127.0.0.1:9002' }],
    });
    for (const s of slots) s.say({ kind: HOST_KIND, op: 'linked', id: (s.got[0]!.m as { id: number }).id });
    await tick();
    expect(reply(slots[0]!)).toBeUndefined(); // the new slot has not reported its links yet
    launched[0]!.say({ kind: HOST_KIND, op: 'linked', id: 0 });
    await tick();
    expect(reply(slots[0]!)).toEqual({ kind: HOST_KIND, op: 'reply', id: 7 });
  });

  it('over thread ports: each running slot gets its pair of ports moved, the new slot its ends', async () => {
    const { events, slots } = setUp(2, true);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 3, generation: 4 });
    await tick();
    expect(events.at(-1)).toBe('launch 2 at 3 g4 with 2 ports out');
    for (const s of slots) {
      const { m, transfer } = s.got[0]!;
      expect(m).toMatchObject({ op: 'link', peers: [{ slot: 2 }] });
      expect(transfer).toHaveLength(2);
      for (const p of transfer) p.close();
    }
  });

  it('a running slot that cannot link fails the request, naming it', async () => {
    const { slots, launched } = setUp(2);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 3, to: 3, generation: 1 });
    await tick();
    slots[0]!.say({ kind: HOST_KIND, op: 'linked', id: (slots[0]!.got[0]!.m as { id: number }).id });
    slots[1]!.say({ kind: HOST_KIND, op: 'linked', id: (slots[1]!.got[0]!.m as { id: number }).id, error: 'refused' });
    launched[0]!.say({ kind: HOST_KIND, op: 'linked', id: 0 });
    await tick();
    expect(reply(slots[0]!)).toMatchObject({
      id: 3,
      error: expect.stringMatching(/slot 1 linking the new slots: refused/),
    });
  });

  it('scale in: records the target and starts nothing; the slots that left later are not running slots', async () => {
    const { events, slots, parallelism } = setUp(3);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 1, generation: 1 });
    await tick();
    expect(events).toEqual(['parallelism 1', 'to 0: reply']);
    expect(parallelism()).toBe(1);
    slots[1]!.exited = slots[2]!.exited = true;
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 2, to: 2, generation: 2 });
    await tick();
    expect(events.slice(2)).toEqual(['parallelism 2', 'reserve 1', 'to 0: link', 'launch 1 at 2 g2']);
  });

  it('a request right after a scale in waits for the slots that left to exit, then starts the joining one', async () => {
    const { events, slots } = setUp(4);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 2, generation: 1 });
    await tick();
    // Slots 2 and 3 left the job (slot 0 completed the rescale) but their processes have not exited yet.
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 2, to: 3, generation: 2 });
    await tick();
    expect(events.slice(2)).toEqual([]);
    slots[3]!.exited = true;
    await tick();
    expect(events.slice(2)).toEqual([]); // slot 2 still holds the index the joining slot takes
    slots[2]!.exited = true;
    await new Promise((r) => setTimeout(r, 60));
    expect(events.slice(2)).toEqual(['parallelism 3', 'reserve 2', 'to 0: link', 'to 1: link', 'launch 2 at 3 g2']);
  });

  it('a slot that left and never exits fails the next request after the timeout, naming the slots', async () => {
    const { slots } = setUp(3);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 2, generation: 1 });
    await tick();
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 2, to: 1, generation: 2 });
    await new Promise((r) => setTimeout(r, 2100));
    expect(slots[0]!.got.filter((g) => g.m.op === 'reply').at(-1)?.m).toMatchObject({
      id: 2,
      error: expect.stringMatching(/the running slots are 0, 1, 2, not the job's 0\.\.1/),
    });
  });

  it('the attempt ending settles the answers a scale out awaits: no timer outlives it, no reply goes out', async () => {
    const { slots, host } = setUp(2);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 5, to: 3, generation: 1 });
    await tick();
    // A slot was SIGKILLed mid-way: neither the running slots nor the new one answer again.
    const answers = (host as unknown as { answers: Map<string, unknown> }).answers;
    expect(answers.size).toBe(3);
    host.close();
    expect(answers.size).toBe(0);
    await tick();
    expect(reply(slots[0]!)).toBeUndefined();
  });

  it("a part of a larger scale out records the whole target, and starts the part's slot only", async () => {
    const { events, slots } = setUp(2);
    slots[0]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 3, generation: 1, restartAt: 4 });
    await tick();
    // A restart from now on starts 4 slots, as slot 0 asked for 2 → 4 (docs/design/live-rescale.md §6: the intent).
    expect(events).toEqual(['parallelism 4', 'reserve 2', 'to 0: link', 'to 1: link', 'launch 2 at 3 g1']);
  });

  it('only slot 0 asks; a request from another slot is ignored', async () => {
    const { events, slots } = setUp(2);
    slots[1]!.say({ kind: HOST_KIND, op: 'rescale', id: 1, to: 3, generation: 1 });
    await tick();
    expect(events).toEqual([]);
  });
});
