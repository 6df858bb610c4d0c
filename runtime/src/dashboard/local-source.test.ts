import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { StatusResponse } from '../control/contract.ts';
import { LocalDashboardSource } from './local-source.ts';

const graph = validateGraph({
  sources: [{ name: 'in', datagen: { generator: 'schema', count: 10, fields: { k: { type: 'string' } } } }],
  steps: [
    { name: 'by-k', from: 'in', keyBy: 'k' },
    { name: 'keep', from: 'by-k', filter: 'k != ""' },
  ],
  sinks: [{ name: 'out', from: 'keep', console: {} }],
});

function status(slot: number, k: number, extra: Partial<StatusResponse> = {}): StatusResponse {
  return {
    contractVersion: 1,
    jobName: 'j',
    deploymentId: 'd',
    slot,
    parallelism: 2,
    state: 'RUNNING',
    recordsIn: 100 * k,
    recordsOut: 50 * k,
    nodes: [{ node: 'in', recordsIn: 100 * k, recordsOut: 100 * k }],
    ...extra,
  };
}

describe('LocalDashboardSource', () => {
  it('answers the one local job: graph, rates, checkpoints once each, restarts', async () => {
    let now = 1_000_000;
    const source = new LocalDashboardSource({
      jobName: 'j',
      graph,
      parallelism: 2,
      intervalSeconds: 1,
      now: () => now,
    });
    source.attemptStarted(1, undefined);
    const ck = (id: number) => ({
      id,
      completedAt: new Date(now).toISOString(),
      path: `/s/chk-${id}`,
      durationMs: 5 * id,
      bytes: 10 * id,
    });
    source.record([status(0, 1, { lastCheckpoint: ck(1) }), status(1, 1)]);
    now += 1000;
    source.record([status(0, 2, { lastCheckpoint: ck(1) }), undefined]);
    now += 1000;
    source.record([status(0, 3, { lastCheckpoint: ck(2) }), status(1, 3)]);
    const d = await source.job('local', 'j');
    expect(d?.graph.edges).toEqual([
      { from: 'in', to: 'by-k', exchange: 'forward' },
      { from: 'by-k', to: 'keep', exchange: 'hash' },
      { from: 'keep', to: 'out', exchange: 'forward' },
    ]);
    expect(d?.graph.nodes.map((n) => [n.id, n.role, n.kind])).toEqual([
      ['in', 'source', 'datagen'],
      ['by-k', 'step', 'keyBy'],
      ['keep', 'step', 'filter'],
      ['out', 'sink', 'console'],
    ]);
    // slot 0: 100/s; slot 1 missed a round: 200 records over 2 s
    expect(d?.graph.nodes[0]?.inRate).toBe(200);
    expect(d?.summary).toMatchObject({
      namespace: 'local',
      phase: 'RUNNING',
      inputRate: 200,
      restarts: 0,
      lastCheckpointAgeSeconds: 0,
    });
    expect(d?.checkpoints.map((c) => [c.id, c.path, c.durationMs, c.bytes])).toEqual([
      [2, '/s/chk-2', 10, 20],
      [1, '/s/chk-1', 5, 10],
    ]);
    expect(d?.series.checkpointDurationMs).toEqual([null, null, 10]);
    expect(d?.rescales).toEqual([]);
    expect(await source.job('local', 'other')).toBeUndefined();
    expect(await source.job('default', 'j')).toBeUndefined();
    expect((await source.jobs()).jobs.map((j) => j.url)).toEqual(['/jobs/local/j']);
  });

  it("takes the attempt's first failing exit as the exception, the supervisor's stops after it as events", async () => {
    const source = new LocalDashboardSource({ jobName: 'j', graph, parallelism: 2, intervalSeconds: 1 });
    source.attemptStarted(1, undefined);
    source.slotExited(1, null, 'SIGKILL');
    source.slotExited(0, null, 'SIGKILL');
    source.attemptStarted(2, '/s/chk-4');
    source.record([status(0, 1, { error: 'TRIB_SINK_COMMIT_FAILED: boom' }), status(1, 1)]);
    source.record([status(0, 2, { error: 'TRIB_SINK_COMMIT_FAILED: boom', state: 'FAILED' }), status(1, 2)]);
    const d = await source.job('local', 'j');
    expect(d?.exceptions.map((x) => [x.slot, x.message])).toEqual([
      [0, 'TRIB_SINK_COMMIT_FAILED: boom'],
      [1, 'slot 1 killed by SIGKILL'],
    ]);
    expect(d?.events.map((e) => e.reason)).toEqual(['Restarted', 'SlotStopped', 'SlotExited', 'Started']);
    expect(d?.summary).toMatchObject({ restarts: 1, phase: 'FAILED' });
  });

  it("shows a step's keyed state from the slots' answers, summed and per slot", async () => {
    const source = new LocalDashboardSource({ jobName: 'j', graph, parallelism: 2, intervalSeconds: 1 });
    const keep = (keys: number, localBytes: number) => ({
      nodes: [
        {
          node: 'keep',
          recordsIn: 1,
          recordsOut: 1,
          keyedState: { backend: 'disk' as const, keys, localBytes, cachedEntries: 1 },
        },
      ],
    });
    source.record([status(0, 1, keep(3, 4096)), status(1, 1, keep(4, 8192))]);
    const d = await source.job('local', 'j');
    const st = d?.graph.nodes.find((n) => n.id === 'keep')?.keyedState;
    expect(st).toMatchObject({ backend: 'disk', keys: 7, localBytes: 12288, cachedEntries: 2 });
    expect(st?.slots.map((s) => [s.slot, s.keys])).toEqual([
      [0, 3],
      [1, 4],
    ]);
    expect(d?.graph.nodes.find((n) => n.id === 'in')?.keyedState).toBeUndefined();
  });
});
