// The operator's side of the fault matrix (docs/fault-matrix.md), with the REAL runtime, the
// real apiserver, node agent and broker (controller in-process): the broker killed under a
// running StreamJob. While the slots ride it out within brokerUnreachableTimeout, the StreamJob
// must say which dependency is down, for which component, where, and why
// (DependencyUnavailable True, reason KafkaUnavailable, a Warning Event), not just Ready=False;
// once the broker is back it must clear by itself (False, Available, a Normal Event) and the
// job must go on with nothing lost or duplicated (Kafka's own Java consumer, read_committed).
// The measured time-to-detect and time-to-recover go to stderr for the matrix.
import { afterAll, describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { startKafkaBroker, stopKafkaBroker } from '../../../../test/cluster/components/kafka.ts';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { getJob, harnessPerFile, inputProducer, readOutput } from './testing/kafka-job-harness.ts';

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
const report = (m: string): void => void process.stderr.write(`kafka fault matrix (operator): ${m}\n`);

describe('a StreamJob whose broker goes away names it in its status, and recovers by itself (real runtime)', () => {
  const harness = harnessPerFile(
    'sjd',
    { in: 2, out: 1 },
    { cadence: { operationMs: 1_000, runningMs: 2_000, orphanSweepMs: 600_000 } },
  );
  const paths = clusterPaths();
  let brokerDown = false;
  afterAll(async () => {
    if (brokerDown) await startKafkaBroker(paths);
  });

  it('DependencyUnavailable True naming Kafka while the broker is gone, False once back; exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const [input, output] = [h.topics.in!, h.topics.out!];
    const name = 'outage';
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
              startFrom: 'earliest',
              // The default discovery period (30 s): the consumer's own crashes report the outage.
              // The bound outlasts the outage.
              brokerUnreachableTimeout: '2m',
              schema: { id: 'double' },
            },
          },
        ],
        sinks: [{ name: 'out', from: 'clicks', kafka: { brokers, topic: output, brokerUnreachableTimeout: '2m' } }],
      },
    });
    const send = async (from: number, n: number) => {
      const producer = inputProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ id: from + i }) })),
      });
      await producer.disconnect();
    };
    const job = () => getJob(kube, ns, name);
    await waitFor('Ready', async () => cond(await job(), 'Ready')?.status === 'True', 120_000, 250);
    await send(0, 100);
    const available = await waitFor(
      'DependencyUnavailable False',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'False' ? j : undefined;
      },
      60_000,
      250,
    );
    expect(cond(available, 'DependencyUnavailable')).toMatchObject({ reason: 'Available' });

    brokerDown = true;
    await stopKafkaBroker(paths, 'SIGKILL'); // returns once its port is free: clients are refused
    const downAt = Date.now();
    const down = await waitFor(
      'DependencyUnavailable True',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'True' ? j : undefined;
      },
      60_000,
      250,
    );
    const detectS = (Date.now() - downAt) / 1000;
    const c = cond(down, 'DependencyUnavailable')!;
    expect(c.reason).toBe('KafkaUnavailable');
    // The source (its consumer, its topic checks) or the exactly-once sink (its send fails after
    // kafkajs's retries; the restarted sink waits for the brokers while it recovers) names it first.
    expect(c.message).toMatch(/^kafka unavailable to (source "clicks"|sink "out") \(slots? [0-9,]+\)/);
    expect(c.message).toContain(`at brokers ${brokers}`);
    expect(c.message).toMatch(/ECONNREFUSED|Connection error/);
    expect(c.message).toContain('fails after brokerUnreachableTimeout 2m');
    const events = async () =>
      (await kube.list<{ reason: string; message: string; type?: string; metadata?: object }>(Resources.Event, ns))
        .items;
    await waitFor(
      'a DependencyUnavailable Warning Event',
      async () => (await events()).some((e) => e.reason === 'DependencyUnavailable' && e.type === 'Warning'),
      30_000,
      250,
    );

    await new Promise((r) => setTimeout(r, 5_000)); // the outage lasts: still said, nothing failed for it
    expect(cond(await job(), 'DependencyUnavailable')?.status).toBe('True');

    const startAt = Date.now();
    await startKafkaBroker(paths);
    brokerDown = false;
    const answersS = (Date.now() - startAt) / 1000;
    const backAt = startAt;
    const back = await waitFor(
      'DependencyUnavailable False again',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'False' ? j : undefined;
      },
      120_000,
      250,
    );
    const recoverS = (Date.now() - backAt) / 1000;
    expect(cond(back, 'DependencyUnavailable')?.reason).toBe('Available');
    const cleared = (await events()).find((e) => e.reason === 'DependencyAvailable');
    expect(cleared?.type).toBe('Normal');
    expect(cleared?.message).toContain('kafka unavailable to');

    await send(100, 100);
    const reader = await readOutput<{ id: number }>(kafka, output, `sjd-reader-${id}`);
    await waitFor('200 output records', () => reader.arrivals.length >= 200, 120_000, 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; got ${reader.arrivals.length}`);
    });
    await reader.close();
    // The verdict: Kafka's own consumer, read_committed, up to the log end now.
    const java = (await readTopicWithJava(brokers, output, 'read_committed')).map(
      (r) => (JSON.parse(r.value) as { id: number }).id,
    );
    expect(java.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const restarts = (await job()).status?.restarts ?? 0;
    report(
      `broker killed under a running StreamJob: DependencyUnavailable True after ${detectS.toFixed(1)} s ` +
        `(running requeue 2 s); False ${recoverS.toFixed(1)} s after the broker's start ` +
        `(it answered metadata and coordinators after ${answersS.toFixed(1)} s); ` +
        `restarts ${restarts}; 200/200 records exactly once`,
    );
  }, 420_000);
});
