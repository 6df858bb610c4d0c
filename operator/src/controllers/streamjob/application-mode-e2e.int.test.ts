// Application mode on the local cluster: a StreamJob whose slots run a user's job module
// (examples/clicks-app, TypeScript functions: Kafka → keyBy user → 1 s tumbling window with an
// AggregateFunction → exactly-once Kafka) with the REAL runtime, the real apiserver, the node
// agent and Kafka (container mode: the example's image, built from its Dockerfile FROM the
// runtime image; process mode: module paths of this checkout — testing/clicks-app-image.ts); the StreamJob
// controller runs in-process. While a producer writes input, the job is rescaled 2 → 3 through
// a savepoint, then upgraded to the module's second version (a new filter step: a changed
// graph) through a savepoint, whose window state carries over. The read_committed output must
// equal the reference computed from the produced records: nothing lost, nothing twice, across
// both operations (a window open at an operation is completed from the restored state).
// Finally a version whose graph cannot take the savepoint's state (its window step renamed) is
// refused on restore, and the StreamJob's status says why.
import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../kube/testing/cluster.ts';
import { StreamJobs } from './resource.ts';
import {
  finishAndCompare,
  inputProducer,
  getJob,
  harnessPerFile,
  inputRecord,
  produceLoop,
  readOutput,
  runningWith,
  scaleJob,
  type WindowOut,
} from './testing/kafka-job-harness.ts';
import { clicksApp } from './testing/clicks-app-image.ts';

const PARTITIONS = 4;
const KEYS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StreamJob in application mode (a job module) with the real runtime', () => {
  const harness = harnessPerFile('sjapp', { in: PARTITIONS, out: 1 });
  const name = 'clicks-app';

  it('runs the module, rescales 2→3 and upgrades to its second version through savepoints: exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, KEYS);
    const reader = await readOutput<WindowOut>(kafka, h.topics.out!, `sjapp-reader-${id}`);
    const producer: Producer = inputProducer(kafka);
    await producer.connect();
    const loop = produceLoop(producer, h.topics.in!, PARTITIONS, rec);

    const app = await clicksApp();
    await h.createJob(name, {
      ...(app.image ? { image: app.image } : {}),
      upgradeMode: 'savepoint',
      checkpointing: { interval: '500ms', retained: 2 },
      savepoints: { timeout: '60s' },
      job: { module: app.module('clicks-job.ts') },
      podTemplate: {
        env: [
          { name: 'CLICKS_BROKERS', value: brokers },
          { name: 'CLICKS_INPUT', value: h.topics.in },
          { name: 'CLICKS_OUTPUT', value: h.topics.out },
          { name: 'CLICKS_GROUP', value: `g-${id}` },
        ],
      },
    });
    const v1 = await runningWith(kube, ns, name, 2, undefined, 180_000);
    await waitFor('first output', () => reader.arrivals.length > 0, 90_000, 100);

    await scaleJob(kube, ns, name, 3);
    const scaled = await runningWith(kube, ns, name, 3, v1.status?.deployed?.id, 180_000);
    expect(scaled.status?.deployed?.restoredFrom).toMatch(/savepoints\/sp-\d+$/);
    const seen = reader.arrivals.length;
    await waitFor('output after the rescale', () => reader.arrivals.length > seen, 90_000, 100);
    await sleep(1500);

    await kube.patch(StreamJobs, ns, name, { spec: { job: { module: app.module('clicks-job-v2.ts') } } });
    const v2 = await runningWith(kube, ns, name, 3, scaled.status?.deployed?.id, 180_000);
    expect(v2.status?.deployed?.restoredFrom).toMatch(/savepoints\/sp-\d+$/);
    expect(v2.status?.deployed?.specHash).not.toBe(scaled.status?.deployed?.specHash);
    expect(v2.status?.savepoints?.map((s) => s.reason)).toEqual(expect.arrayContaining(['rescale', 'upgrade']));
    const seen2 = reader.arrivals.length;
    await waitFor('output after the upgrade', () => reader.arrivals.length > seen2, 90_000, 100);
    await sleep(1500);

    const { n, want, got, check } = await finishAndCompare({
      kafka,
      loop,
      producer,
      topic: h.topics.in!,
      partitions: PARTITIONS,
      rec,
      reader,
    });
    console.log(`${n} input records, ${want.length} reference windows; output ${got.length}`, check);
    expect(check).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    expect(got).toEqual(want);

    // An incompatible version (its window step renamed): the savepoint is taken, and its restore
    // is refused with the reason, which the StreamJob's status carries.
    await kube.patch(StreamJobs, ns, name, {
      spec: {
        job: { module: app.module('clicks-job-incompatible.ts') },
        restartPolicy: { maxRestarts: 1, backoff: { initial: '1s', max: '2s' } },
      },
    });
    const refused = await waitFor(
      'the incompatible upgrade refused with the reason',
      async () => {
        const j = await getJob(kube, ns, name);
        return j.status?.lastError?.includes('TRIB_RESTORE_NON_RESTORED_STATE') ? j : undefined;
      },
      240_000,
      500,
    );
    console.log(`incompatible upgrade: ${refused.status?.lastError}`);
    expect(refused.status?.lastError).toContain('per-second');
  }, 600_000);
});
