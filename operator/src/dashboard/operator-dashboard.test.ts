// The operator's dashboard without a cluster: informer caches and a runtime client faked, so a
// slot's status answer is followed through the sampler and the series store into the job's page
// (a step's keyed state, summed over the slots and per slot).
import { describe, expect, it } from 'vitest';
import type { NodeLoad, StatusResponse } from '../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../api/v1alpha1/streamjob.ts';
import type { Secret } from '../controllers/streamjob/objects/control-token.ts';
import type { Pod } from '../controllers/streamjob/objects/slot-pod.ts';
import type { Informer, KubeClient } from '../kube/index.ts';
import { RuntimeClient } from '../runtime-client/client.ts';
import { OperatorDashboard } from './operator-dashboard.ts';

const owner = { apiVersion: 'tributary.dev/v1alpha1', kind: 'StreamJob', name: 'a', uid: 'u', controller: true };
const job = {
  metadata: { namespace: 'ns', name: 'a', uid: 'u' },
  spec: {
    replicas: 2,
    graph: {
      sources: [{ name: 'in', datagen: { generator: 'nexmark' } }],
      steps: [
        { name: 'k', from: 'in', keyBy: 'id' },
        { name: 'agg', from: 'k', aggregate: { c: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'agg', console: {} }],
    },
  },
  status: { deployed: { id: 'd-1', specHash: 'h', parallelism: 2, startedAt: '' } },
} as unknown as StreamJob;
const pod = (slot: number): Pod =>
  ({
    metadata: {
      name: `a-${slot}`,
      namespace: 'ns',
      labels: { 'tributary.dev/job': 'a', 'tributary.dev/slot': String(slot), 'tributary.dev/deployment': 'd-1' },
      ownerReferences: [owner],
    },
    status: { phase: 'Running', podIP: `10.0.0.${slot + 1}` },
  }) as Pod;
const secret = {
  metadata: { name: 'a-control-token', namespace: 'ns', ownerReferences: [owner] },
  data: { token: Buffer.from('t').toString('base64') },
} as unknown as Secret;

/** Each slot's answer: the aggregate keeps `keys` keys on disk. */
class Slots extends RuntimeClient {
  override async status(base: string): Promise<StatusResponse> {
    const slot = Number(/10\.0\.0\.(\d+)/.exec(base)?.[1]) - 1;
    const agg: NodeLoad = {
      node: 'agg',
      recordsIn: 10,
      recordsOut: 10,
      keyedState: {
        backend: 'disk',
        keys: 100 * (slot + 1),
        fullSnapshotBytes: 1000,
        localBytes: 4096 * (slot + 1),
        cachedEntries: 10,
      },
    };
    return {
      contractVersion: 1,
      jobName: 'a',
      deploymentId: 'd-1',
      slot,
      parallelism: 2,
      state: 'RUNNING',
      nodes: [agg],
    };
  }
}

function informer<T>(items: T[]): Informer<T & object> {
  return {
    namespace: undefined,
    list: () => items,
    get: (_ns: string, name: string) => items.find((i) => (i as { metadata: { name: string } }).metadata.name === name),
  } as unknown as Informer<T & object>;
}

describe('OperatorDashboard', () => {
  it("shows a step's keyed state from its slots' status, summed and per slot", async () => {
    const client = { list: () => Promise.reject(new Error('no API here')) } as unknown as KubeClient;
    const dashboard = new OperatorDashboard({
      scopes: [{ jobs: informer([job]), pods: informer([pod(0), pod(1)]), secrets: informer([secret]) }],
      client,
      runtime: new Slots(),
    });
    await dashboard.sampler.sampleOnce();
    const d = await dashboard.job('ns', 'a');
    const agg = d?.graph.nodes.find((n) => n.id === 'agg');
    expect(agg?.keyedState).toEqual({
      backend: 'disk',
      keys: 300,
      fullSnapshotBytes: 2000,
      localBytes: 12288,
      cachedEntries: 20,
      slots: [
        { slot: 0, backend: 'disk', keys: 100, fullSnapshotBytes: 1000, localBytes: 4096, cachedEntries: 10 },
        { slot: 1, backend: 'disk', keys: 200, fullSnapshotBytes: 1000, localBytes: 8192, cachedEntries: 10 },
      ],
    });
    expect(d?.graph.nodes.find((n) => n.id === 'in')?.keyedState).toBeUndefined();
  });
});
