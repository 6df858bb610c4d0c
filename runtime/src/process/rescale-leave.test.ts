// A slot process's part of a scale in (rescale-leave.ts), with a stand-in data plane and job: a draining slot
// reports when its tasks ended, fails when a link closes without BYE before it left (nothing else would fail it:
// its tasks poll no channel), and once its run ended tells its peers and retires its links; a remaining slot
// removes the slot that left, and its network series.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { JobExecutor } from '../job/job-executor.ts';
import { NetMetrics } from '../net/net-metrics.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { SlotProcessLeave } from './rescale-leave.ts';

interface FakeLink {
  peerSlot: number;
  retired: boolean;
  failure: Error | undefined;
  close(): void;
  closed(): Promise<void>;
}

function link(peerSlot: number): FakeLink {
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  return { peerSlot, retired: false, failure: undefined, close: () => done(), closed: () => closed };
}

function stage(slot: number) {
  const sent: [number, unknown][] = [];
  const removed: number[] = [];
  const failed: unknown[] = [];
  const links = new Map<number, FakeLink>([0, 1, 2].filter((s) => s !== slot).map((s) => [s, link(s)]));
  const metrics = new NetMetrics(new Registry());
  const plane = {
    sendControl: (to: number, msg: unknown) => sent.push([to, msg]) > 0,
    inboundChannel: () => ({}),
    removePeer: (s: number) => {
      removed.push(s);
      return Promise.resolve();
    },
    outbound: links,
    inbound: new Map(),
    metrics,
  };
  const drain = new SlotProcessLeave({
    slot,
    parallelism: 3,
    dataPlane: plane as unknown as ConstructorParameters<typeof SlotProcessLeave>[0]['dataPlane'],
    channels: 1,
    timeoutMs: 1000,
    logger: silentLogger(),
  });
  const job = {
    coordinator: undefined,
    migration: undefined,
    drainContext: {
      list: [],
      links: { consumers: [], producers: [] },
      loopEnded: () => Promise.resolve(),
      fail: (e: unknown) => failed.push(e),
      setParallelism: () => undefined,
    },
  };
  drain.attach(job as unknown as JobExecutor);
  return { drain, sent, removed, failed, links, metrics };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('SlotProcessLeave', () => {
  it('a draining slot reports its tasks ended, and fails when a link closes without BYE before it left', async () => {
    const s = stage(2);
    s.drain.receive(0, { m: 'mig-drain', from: 2, to: 3 });
    await tick();
    expect(s.sent).toEqual([[0, { m: 'mig-drained', slot: 2 }]]);
    const retired = s.links.get(1) as FakeLink;
    retired.retired = true;
    retired.close();
    await tick();
    expect(s.failed).toEqual([]);
    s.links.get(0)?.close();
    await tick();
    expect(s.failed).toMatchObject([
      { code: 'TRIB_NET_CONNECTION_LOST', message: 'slot 2 is draining: its link with slot 0 closed before it left' },
    ]);
  });

  it('a slot that left tells every peer once its run ended, then retires its links with each', async () => {
    const s = stage(2);
    s.drain.receive(0, { m: 'mig-drain', from: 2, to: 3 });
    s.drain.receive(0, { m: 'mig-leave', from: 2, to: 3, checkpointId: 9 });
    await tick();
    s.sent.length = 0;
    await s.drain.afterRun();
    expect(s.sent).toEqual([
      [0, { m: 'mig-left', slot: 2 }],
      [1, { m: 'mig-left', slot: 2 }],
    ]);
    expect(s.removed).toEqual([0, 1]);
    // Its run ended: links closing now are no failure of the drain.
    s.links.get(0)?.close();
    await tick();
    expect(s.failed).toEqual([]);
  });

  it('a slot that did not leave retires nothing after its run', async () => {
    const s = stage(1);
    await s.drain.afterRun();
    expect(s.sent).toEqual([]);
    expect(s.removed).toEqual([]);
  });

  it('a remaining slot removes the slot that left, and its network series', async () => {
    const s = stage(1);
    s.metrics.bytesSent.inc({ to_slot: '2' }, 10);
    s.metrics.bytesReceived.inc({ from_slot: '2' }, 10);
    s.metrics.bytesSent.inc({ to_slot: '0' }, 10);
    s.drain.receive(2, { m: 'mig-left', slot: 2 });
    s.drain.receive(2, { m: 'mig-left', slot: 2 });
    await tick();
    expect(s.removed).toEqual([2]);
    const text = (await s.metrics.bytesSent.get()).values.map((v) => v.labels['to_slot']);
    expect(text).toEqual(['0']);
    expect((await s.metrics.bytesReceived.get()).values).toEqual([]);
  });
});
