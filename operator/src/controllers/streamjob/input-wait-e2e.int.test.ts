// A new user's path with the REAL runtime, real Kafka, the real apiserver and the node agent
// (controller in-process): a StreamJob whose source topic does not exist yet deploys, is
// Ready, and says it waits (WaitingForInput True naming the topic, the Input printer column)
// without any slot exiting or restarting; once the topic is created and fed the job reads it
// (WaitingForInput False) and the exactly-once output is right; partitions added to the
// running topic are read too (a slot that owned none takes one).
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import type { Pod } from './objects/slot-pod.ts';
import { getJob, harnessPerFile, inputProducer, readOutput, runningWith } from './testing/kafka-job-harness.ts';
import { kubectl, kubectlAsync } from './testing/kubectl.ts';

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StreamJob whose input topic does not exist yet (real runtime)', () => {
  const harness = harnessPerFile('sjw', { out: 1 });
  const name = 'wait';

  it('waits and says so (no slot exits), reads once the topic exists, and picks up partitions added later: exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = `sjw-late-${id}`;
    const output = h.topics.out!;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await h.createJob(name, {
        checkpointing: { interval: '1s', retained: 2 },
        graph: {
          sources: [
            {
              name: 'clicks',
              kafka: {
                brokers,
                topic: input,
                groupId: `g-${id}`,
                startFrom: 'latest',
                partitionDiscoveryInterval: '2s',
                schema: { id: 'double' },
              },
            },
          ],
          sinks: [{ name: 'out', from: 'clicks', kafka: { brokers, topic: output } }],
        },
      });
      // Ready by design (the job runs as asked), and kubectl wait returns.
      const w = await kubectlAsync(['wait', '-n', ns, `streamjob/${name}`, '--for=condition=Ready', '--timeout=120s']);
      expect(w.code, w.stderr).toBe(0);
      const waiting = await waitFor(
        'WaitingForInput True',
        async () => {
          const j = await getJob(kube, ns, name);
          return cond(j, 'WaitingForInput')?.status === 'True' ? j : undefined;
        },
        60_000,
        250,
      );
      expect(cond(waiting, 'WaitingForInput')).toMatchObject({ reason: 'TopicMissing' });
      expect(cond(waiting, 'WaitingForInput')?.message).toContain(`topic ${input} (source clicks`);
      expect(cond(waiting, 'Stalled')?.status).toBe('False');
      expect(cond(waiting, 'Reconciling')?.status).toBe('False');
      const wide = kubectl(['get', 'streamjob', name, '-n', ns, '-o', 'wide', '--no-headers']);
      expect(wide.stdout).toMatch(/\bRunning\b.*\bTopicMissing\b/);
      expect(wide.stdout).toContain(`topic ${input}`); // the Message column (Ready's message)

      await sleep(8000); // several metadata checks later: still waiting, nothing crashed
      const pods = (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items;
      expect(pods.length).toBe(2);
      for (const p of pods) {
        expect(p.status?.phase).toBe('Running');
        const cs =
          (p.status as { containerStatuses?: { restartCount?: number }[] } | undefined)?.containerStatuses ?? [];
        expect(cs.every((c) => (c.restartCount ?? 0) === 0)).toBe(true);
      }
      const still = await getJob(kube, ns, name);
      expect(still.status?.restarts ?? 0).toBe(0);
      expect(still.status?.deployed?.id).toBe(waiting.status?.deployed?.id);
      expect(cond(still, 'WaitingForInput')?.status).toBe('True');
      const events = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns))
        .items;
      expect(events.some((e) => e.reason === 'SlotFailed')).toBe(false);
      expect(events.find((e) => e.reason === 'WaitingForInput')?.message).toContain(input);

      // The topic appears (1 partition: slot 1 of 2 owns none yet) and is fed; startFrom: latest,
      // but a topic created after the job started is read from its beginning.
      await admin.createTopics({ topics: [{ topic: input, numPartitions: 1 }], waitForLeaders: true });
      // A new producer per send: one created before the topic grew would not know the new partitions.
      const send = async (from: number, n: number, partitions: number) => {
        const producer = inputProducer(kafka);
        await producer.connect();
        await producer.send({
          topic: input,
          messages: Array.from({ length: n }, (_, i) => ({
            partition: (from + i) % partitions,
            value: JSON.stringify({ id: from + i }),
          })),
        });
        await producer.disconnect();
      };
      await send(0, 100, 1);
      const reader = await readOutput<{ id: number }>(kafka, output, `sjw-reader-${id}`);
      const ids = () => reader.arrivals.map((a) => a.v.id).sort((a, b) => a - b);
      const range = (n: number) => Array.from({ length: n }, (_, i) => i);
      await waitFor('100 output records', () => reader.arrivals.length >= 100, 90_000, 250);
      const reading = await waitFor(
        'WaitingForInput False',
        async () => {
          const j = await getJob(kube, ns, name);
          return cond(j, 'WaitingForInput')?.status === 'False' ? j : undefined;
        },
        60_000,
        250,
      );
      expect(cond(reading, 'WaitingForInput')?.reason).toBe('Reading');
      expect(reading.status?.deployed?.id).toBe(waiting.status?.deployed?.id); // the same pods, never restarted

      // Partitions added while running are picked up by their owners.
      await admin.createPartitions({ topicPartitions: [{ topic: input, count: 3 }] });
      await waitFor(
        '3 partitions with leaders',
        async () =>
          (await admin.fetchTopicMetadata({ topics: [input] })).topics[0]?.partitions.filter((p) => p.leader >= 0)
            .length === 3,
        30_000,
        200,
      );
      await send(100, 200, 3);
      await waitFor('300 output records', () => reader.arrivals.length >= 300, 90_000, 250).catch((e: unknown) => {
        throw new Error(
          `${(e as Error).message}; got ${reader.arrivals.length}: ${JSON.stringify(
            ids()
              .filter((x) => x >= 100)
              .slice(0, 20),
          )}…`,
        );
      });
      await sleep(3000); // duplicates would show by now
      await reader.close();
      expect(ids()).toEqual(range(300));
      await runningWith(kube, ns, name, 2);
      expect((await getJob(kube, ns, name)).status?.restarts ?? 0).toBe(0);
    } finally {
      await admin.deleteTopics({ topics: [input] }).catch(() => undefined);
      await admin.disconnect();
    }
  }, 300_000);
});
