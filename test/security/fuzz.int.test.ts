// Abuse of the API surface on the real kube-apiserver with the operator's controllers running
// in-process: random and adversarial StreamJobs and DruidDatasources (wrong types, huge
// strings, deep nesting, unicode, hostile CEL, out-of-range numbers), created in batches.
// Each is refused by the API server (schema, CEL rules) or reported in status by the operator
// (a condition); the controllers keep running, their heap and open handles stay flat across
// batches, and a good job beside them keeps its pod and stays Running throughout.
// TRIBUTARY_FUZZ_COUNT objects (default 600, seeded by TRIBUTARY_FUZZ_SEED) keeps CI short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KubeApiError,
  Resources,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../operator/src/kube/index.ts';
import { waitFor } from '../../operator/src/kube/testing/cluster.ts';
import type { StreamJob } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { DruidDatasources } from '../../operator/src/controllers/druiddatasource/resource.ts';
import type { Pod } from '../../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { startOperatorInProcess, type InProcessOperator } from './operator-in-process.ts';
import { adversarialDatasource, adversarialStreamJob, prng } from './adversarial-objects.ts';

const count = Number(process.env.TRIBUTARY_FUZZ_COUNT ?? 600);
const seed = Number(process.env.TRIBUTARY_FUZZ_SEED ?? 15);
const batch = 50;
type Conditioned = KubeObject & { status?: { phase?: string; conditions?: { type: string; reason: string }[] } };

describe('fuzz: adversarial StreamJobs and DruidDatasources (real apiserver, operator in-process)', () => {
  let op: InProcessOperator;
  let kube: KubeClient;
  let ns: string;

  beforeAll(async () => {
    op = await startOperatorInProcess('fuzz', { druidPollMs: 60_000 });
    ({ kube, ns } = op);
  }, 60_000);

  afterAll(async () => {
    await op?.stop();
  });

  it(`${count} objects: each refused or reported; the operator stays up and flat; a good job keeps running`, async () => {
    await kube.create(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: 'good', namespace: ns },
      spec: {
        replicas: 1,
        graph: {
          sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 5, fields: { n: { type: 'sequence' } } } }],
          sinks: [{ name: 'out', from: 'gen', console: {} }],
        },
        stateStorage: { pvc: { claimName: 'good' }, path: '/state' },
        savepoints: { onDelete: false },
      },
    } as unknown as StreamJob);
    const goodRunning = async () => {
      const j = await kube.get<Conditioned>(StreamJobs, ns, 'good');
      return j.status?.phase === 'Running' ? j : undefined;
    };
    await waitFor('the good job Running', goodRunning, 90_000, 250);
    const goodPods = async () =>
      (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: 'tributary.dev/job=good' })).items.map(
        (p) => p.metadata?.uid,
      );
    const podsBefore = await goodPods();

    const rnd = prng(seed);
    const tally = { refusedByApiserver: 0, reportedInStatus: 0 };
    const samples: { heap: number; handles: number }[] = [];
    for (let done = 0; done < count; done += batch) {
      const accepted: { rt: ResourceType; name: string }[] = [];
      for (let i = done; i < Math.min(count, done + batch); i++) {
        const isJob = i % 2 === 0;
        const rt = isJob ? StreamJobs : DruidDatasources;
        const obj = isJob ? adversarialStreamJob(rnd, `sj-${i}`, ns) : adversarialDatasource(rnd, `ds-${i}`, ns);
        try {
          await kube.create(rt, obj);
          accepted.push({ rt, name: `${isJob ? 'sj' : 'ds'}-${i}` });
        } catch (err) {
          // A refusal is a 4xx naming the problem; never a 5xx or a dropped connection.
          expect(err, JSON.stringify(obj).slice(0, 300)).toBeInstanceOf(KubeApiError);
          const status = (err as KubeApiError).statusCode;
          expect(status >= 400 && status < 500, `${status}: ${(err as Error).message.slice(0, 300)}`).toBe(true);
          tally.refusedByApiserver++;
        }
      }
      for (const a of accepted) {
        await waitFor(
          `${a.name} reported in status`,
          async () => {
            const o = await kube.get<Conditioned>(a.rt, ns, a.name);
            return (o.status?.conditions?.length ?? 0) > 0 || o.status?.phase !== undefined;
          },
          120_000,
          100,
        );
        tally.reportedInStatus++;
      }
      for (const a of accepted) {
        await kube.patch(a.rt, ns, a.name, { metadata: { finalizers: null } }).catch(() => undefined);
        await kube.delete(a.rt, ns, a.name).catch(() => undefined);
      }
      expect(op.failure()).toBeUndefined();
      expect(await goodRunning()).toBeDefined();
      globalThis.gc?.();
      samples.push({ heap: process.memoryUsage().heapUsed, handles: process.getActiveResourcesInfo().length });
    }
    process.stdout.write(
      `fuzz: ${count} objects (seed ${seed}): ${tally.refusedByApiserver} refused by the apiserver, ` +
        `${tally.reportedInStatus} reported in status; heap MiB per batch ${samples
          .map((s) => (s.heap / 2 ** 20).toFixed(0))
          .join(' ')}; handles ${samples.map((s) => s.handles).join(' ')}\n`,
    );
    expect(tally.refusedByApiserver + tally.reportedInStatus).toBe(count);
    expect(await goodPods()).toEqual(podsBefore);
    // Flat: after the first batch (caches and pools warm) neither grows with the batches.
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    expect(last.handles - first.handles).toBeLessThanOrEqual(10);
    expect(last.heap - first.heap).toBeLessThan(64 * 2 ** 20);
  });
});
