// An invalid spec leaves the last valid deployment running, with the REAL runtime, Kafka and
// the apiserver (the StreamJob controller runs in-process). The invalid change is bad CEL in a
// map step: the CRD schema cannot see it, so the apiserver stores it and only the operator's
// validation (the runtime's own graph checker) refuses it. "Keeps running" is shown by what the
// old deployment does, not by its pods existing: records sent after the bad spec come out,
// mapped by the last valid expression. Fixing the spec deploys it (its expression in the output).
// Before that, the same job is created with the bad expression: a NEW job with an invalid spec
// is Stalled with phase Invalid (kubectl wait --for=condition=Stalled returns, the printer
// columns say why, not "Deploying") and no pod is made; fixing it deploys the valid spec.
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import { DEPLOYMENT_LABEL, podSelector } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import { getJob, harnessPerFile, inputProducer, readOutput, runningWith } from './testing/kafka-job-harness.ts';
import { kubectl, kubectlAsync } from './testing/kubectl.ts';

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);

function graphOf(o: { brokers: string; input: string; output: string; groupId: string; n: string }) {
  return {
    sources: [
      {
        name: 'in',
        kafka: {
          brokers: o.brokers,
          topic: o.input,
          groupId: o.groupId,
          startFrom: 'earliest',
          schema: { id: 'double', tag: 'string' },
        },
      },
    ],
    steps: [{ name: 'parse', from: 'in', map: { id: 'id', n: o.n } }],
    sinks: [{ name: 'out', from: 'parse', kafka: { brokers: o.brokers, topic: o.output, delivery: 'at-least-once' } }],
  };
}

describe('an invalid spec (real runtime, Kafka)', () => {
  const harness = harnessPerFile('sjinv', { in: 1, out: 1 });

  it('bad CEL on a new job: Stalled, Invalid, nothing deployed; fixed, it deploys; bad CEL later is refused with its field (status, Event) while the last valid deployment keeps processing; fixing it deploys', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const name = 'badcel';
    const graph = (n: string) =>
      graphOf({ brokers, input: h.topics.in!, output: h.topics.out!, groupId: `g-inv-${id}`, n });
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const out = await readOutput<{ id: number; n: number }>(kafka, h.topics.out!, `read-inv-${id}`);
    let seq = 0;
    /** Sends `count` records with tag `tag`; resolves with their ids. */
    const send = async (tag: string, count: number): Promise<number[]> => {
      const ids = Array.from({ length: count }, () => seq++);
      await producer.send({
        topic: h.topics.in!,
        messages: ids.map((i) => ({ value: JSON.stringify({ id: i, tag }) })),
      });
      return ids;
    };
    /** The distinct `n` of the output records of `ids`, once each id arrived (at-least-once: repeats allowed). */
    const outputOf = (what: string, ids: number[]) =>
      waitFor(
        what,
        () => {
          const got = out.arrivals.map((a) => a.v).filter((v) => ids.includes(v.id));
          return new Set(got.map((v) => v.id)).size === ids.length ? [...new Set(got.map((v) => v.n))] : undefined;
        },
        120_000,
        100,
      );
    try {
      const refusal = 'spec.graph.steps[0].map.n: invalid expression "tag * 2": no such overload: string * int';
      // A new job with bad CEL (string * int does not type-check): nothing is deployed.
      await h.createJob(name, {
        replicas: 1,
        upgradeMode: 'savepoint',
        checkpointing: { interval: '1s' },
        graph: graph('tag * 2'),
      });
      const stalled = await kubectlAsync([
        'wait',
        '-n',
        ns,
        `streamjob/${name}`,
        '--for=condition=Stalled',
        '--timeout=60s',
      ]);
      expect(stalled.code, stalled.stderr).toBe(0);
      const newBad = await getJob(kube, ns, name);
      expect(cond(newBad, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
      expect(cond(newBad, 'Stalled')?.message).toContain(refusal);
      expect(cond(newBad, 'Reconciling')?.status).toBe('False');
      expect(cond(newBad, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(newBad.status?.phase).toBe('Invalid');
      expect(newBad.status?.observedGeneration).toBe(newBad.metadata.generation);
      expect(newBad.status?.deployed).toBeUndefined();
      const wide = kubectl(['get', 'sj', name, '-n', ns, '-o', 'wide']);
      expect(wide.status, wide.stderr).toBe(0);
      const [head, row] = wide.stdout.trim().split('\n');
      expect(head).toMatch(/^NAME\s+PHASE\s+STATUS\s+REPLICAS\s+READY\s+INPUT\s+LAST SAVEPOINT\s+AGE\s+MESSAGE$/);
      expect(row).toMatch(new RegExp(`^${name}\\s+Invalid\\s+InvalidSpec\\s+1\\s+0\\s`));
      expect(row).toContain('spec rejected, nothing deployed');
      expect(row).not.toContain('Deploying');
      expect((await kube.list<Pod>(Resources.Pod, ns, { labelSelector: podSelector(name) })).items).toHaveLength(0);

      // Fixed: the valid spec deploys.
      await kube.patch(StreamJobs, ns, name, { spec: { graph: graph('int(tag)') } });
      const valid = await runningWith(kube, ns, name, 1);
      expect(cond(valid, 'Stalled')?.status).toBe('False');
      expect(valid.status?.observedGeneration).toBe(valid.metadata.generation);
      const depId = valid.status!.deployed!.id;
      expect(await outputOf('output of the valid spec', await send('2', 5))).toEqual([2]);

      // Bad CEL (string * int does not type-check): the apiserver takes it, the operator refuses it.
      await kube.patch(StreamJobs, ns, name, { spec: { graph: graph('tag * 2') } });
      const bad = await waitFor(
        'InvalidSpec',
        async () => {
          const j = await getJob(kube, ns, name);
          return cond(j, 'Degraded')?.reason === 'InvalidSpec' ? j : undefined;
        },
        60_000,
        250,
      );
      expect(cond(bad, 'Degraded')?.message).toContain(refusal);
      expect(bad.status?.lastError).toContain(refusal);
      expect(cond(bad, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
      expect(bad.status?.observedGeneration).toBe(bad.metadata.generation);
      expect(bad.status?.deployed?.id).toBe(depId);
      const evs = (
        await kube.list<{ reason: string; message: string; involvedObject: { name: string }; metadata?: object }>(
          Resources.Event,
          ns,
        )
      ).items.filter((e) => e.involvedObject.name === name && e.reason === 'InvalidSpec');
      expect(evs.map((e) => e.message).some((m) => m.includes(refusal))).toBe(true);

      // The last valid deployment still processes: new records come out with its expression.
      expect(await outputOf('output while the spec is invalid', await send('3', 5))).toEqual([3]);
      const still = await getJob(kube, ns, name);
      expect(still.status?.deployed?.id).toBe(depId);
      expect(still.status?.phase).toBe('Running');
      expect(cond(still, 'Ready')?.status).toBe('True');
      const pods = await kube.list<Pod>(Resources.Pod, ns, { labelSelector: podSelector(name) });
      expect(pods.items.map((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL])).toEqual([depId]);

      // Fixed: the new expression is deployed (a new deployment), and it is what the output shows.
      await kube.patch(StreamJobs, ns, name, { spec: { graph: graph('int(tag) * 10') } });
      const fixed = await runningWith(kube, ns, name, 1, depId);
      expect(cond(fixed, 'Stalled')?.status).toBe('False');
      expect(await outputOf('output of the fixed spec', await send('4', 5))).toEqual([40]);
    } finally {
      await out.close();
      await producer.disconnect();
    }
  }, 300_000);
});
