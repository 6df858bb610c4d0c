// A StreamJob with `spec.stateBackend: disk`, as a user applies it: the REAL runtime in slot pods
// (node agent), real Kafka, checkpoints on the local S3 server, the in-process StreamJob
// controller. A bounded Kafka input of many users → keyBy user → a rolling count and sum, kept
// in each slot's lmdb store with a cache far smaller than the keys (so values are evicted and read
// back from disk all the time) → an exactly-once Kafka sink. The slot pods carry the local-state
// emptyDir with its sizeLimit; the job ends Finished with every running count exactly once
// (read_committed). Then a restartNonce runs it again on a second batch: the new pods' empty
// stores are filled by the restore of the final checkpoint, so the counts go on from where they
// ended, which they could not if the state had stayed behind in the old pods' stores.
import { readTopic } from '../../../../runtime/src/testing/kafka-reader.ts'; // first: it patches kafkajs
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import type { Pod } from './objects/slot-pod.ts';
import { harnessPerFile, sendInput, topicRecordCount, type InputRecord } from './testing/kafka-job-harness.ts';
import { kubectlAsync } from './testing/kubectl.ts';

const PARTITIONS = 4;
const USERS = 3_000;
const PER_BATCH = 6_000;
/** Far below the keys a slot holds (about USERS / 2): most reads miss the cache. */
const CACHE = 1_000;

/** Record i: users round-robin, so each batch gives every user PER_BATCH / USERS records. */
const record =
  (base: number) =>
  (i: number): InputRecord => ({ user: `u${(i * 7) % USERS}`, amount: (i % 7) + 1, ts: base + 2 * i });

/**
 * The rolling count's output for records 0..n-1 of every batch so far, as `user|n` lines (the
 * order of one user's records across partitions is not fixed, so the running sums are checked
 * at each user's last record only), and each user's total.
 */
function expected(batches: number): { lines: string[]; totals: Map<string, number> } {
  const count = new Map<string, number>();
  const totals = new Map<string, number>();
  const lines: string[] = [];
  for (let b = 0; b < batches; b++)
    for (let i = 0; i < PER_BATCH; i++) {
      const r = record(0)(i);
      const n = (count.get(r.user) ?? 0) + 1;
      count.set(r.user, n);
      totals.set(r.user, (totals.get(r.user) ?? 0) + r.amount);
      lines.push(`${r.user}|${n}`);
    }
  return { lines: lines.sort(), totals };
}

describe('a StreamJob with its keyed state on disk (real runtime)', () => {
  const harness = harnessPerFile('sjdisk', { in: PARTITIONS, out: 1 });
  const name = 'on-disk';

  it('runs with the local-state volume, outputs every running count exactly once, and restores into new pods', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const base = Math.floor(Date.now() / 1000) * 1000;
    const graph = {
      sources: [
        {
          name: 'in',
          kafka: {
            brokers,
            topic: input,
            groupId: `g-${id}`,
            startFrom: 'earliest',
            bounded: 'latest',
            schema: { user: 'string', amount: 'double', ts: 'double' },
          },
        },
      ],
      steps: [
        { name: 'by-user', from: 'in', keyBy: 'user' },
        { name: 'running', from: 'by-user', aggregate: { n: 'count()', total: 'sum(amount)' } },
      ],
      sinks: [
        { name: 'out', from: 'running', kafka: { brokers, topic: output, key: 'user', delivery: 'exactly-once' } },
      ],
    };
    const finished = async (batches: number): Promise<StreamJob> => {
      const w = await kubectlAsync([
        'wait',
        '-n',
        ns,
        `streamjob/${name}`,
        '--for=jsonpath={.status.phase}=Finished',
        '--timeout=180s',
      ]);
      expect(w.code, `kubectl wait for phase Finished: ${w.stderr}`).toBe(0);
      const want = expected(batches);
      const recs = await readTopic(kafka, output, { expected: want.lines.length, timeoutMs: 30_000, settleMs: 2_000 });
      const outs = recs.map((r) => JSON.parse(r.value) as { user: string; n: number; total: number });
      expect(outs.map((o) => `${o.user}|${o.n}`).sort()).toEqual(want.lines);
      const last = new Map<string, number>();
      for (const o of outs) if (o.n === (batches * PER_BATCH) / USERS) last.set(o.user, o.total);
      expect(last).toEqual(want.totals);
      const job = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(job.status?.restarts ?? 0).toBe(0);
      return job;
    };

    await sendInput(kafka, input, PARTITIONS, record(base), PER_BATCH, 0);
    await h.createJob(name, {
      upgradeMode: 'savepoint',
      parallelism: 2,
      checkpointing: { interval: '500ms' },
      stateBackend: { type: 'disk', localVolumeSize: '1Gi', cacheEntries: CACHE },
      graph,
    });
    const first = await finished(1);

    // Each slot pod has the local-state volume the backend writes to, sized by the spec.
    const pods = (await kube.list<Pod>(Resources.Pod, ns)).items;
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      const spec = p.spec as unknown as {
        volumes: { name: string; emptyDir?: { sizeLimit?: string } }[];
        containers: { volumeMounts?: { name: string; mountPath: string }[] }[];
      };
      expect(spec.volumes.find((v) => v.name === 'local-state')?.emptyDir?.sizeLimit).toBe('1Gi');
      const mounts = spec.containers[0]?.volumeMounts ?? [];
      expect(mounts.find((m) => m.name === 'local-state')?.mountPath).toBe('/var/lib/tributary/state');
      // The runtime in the pod ran its steps on the disk backend: its 'job running' line says which
      // (the local node agent writes container logs under the cluster's logs/pods/).
      const log = readFileSync(
        join(process.env['TRIBUTARY_CLUSTER_DIR'] ?? '', 'logs', 'pods', `${ns}_${p.metadata?.name}_runtime.log`),
        'utf8',
      );
      expect(log).toMatch(/"stateBackend":"disk","msg":"job running"/);
    }

    // A second batch through new pods: the counts continue, so the restore filled the new stores.
    await sendInput(kafka, input, PARTITIONS, record(base + 3_600_000), PER_BATCH, PER_BATCH);
    expect(await topicRecordCount(kafka, input)).toBe(2 * PER_BATCH);
    await kube.patch(StreamJobs, ns, name, { spec: { restartNonce: 1 } });
    await expect
      .poll(async () => (await kube.get<StreamJob>(StreamJobs, ns, name)).status?.deployed?.id, { timeout: 60_000 })
      .not.toBe(first.status?.deployed?.id);
    await finished(2);
  }, 420_000);
});
