// A bounded StreamJob ends Finished, with the REAL runtime (node agent), real Kafka, state on
// the local S3 server and the in-process StreamJob controller: the keyed-window job reads a
// Kafka topic filled beforehand with `bounded: latest` and writes exactly-once. `kubectl wait
// --for=jsonpath='{.status.phase}'=Finished` (the cluster's kubectl) returns; no slot was ever
// restarted (one deployment, its pods Succeeded and kept, restartCount 0, status.restarts
// unset); kstatus settles (observedGeneration, Reconciling False, Stalled False, Ready False
// Finished); and the output, read right then with a read_committed consumer, is every window of
// the input exactly once: the final checkpoint committed it before the pods exited. Then a
// restartNonce change runs the finished job again: it restores the final checkpoint and reads
// only what was added since, ending Finished once more with the output still exactly-once.
//
// Before `Finished` existed, a slot's exit 0 at the end of its input counted as a failed
// slot: the job restarted until maxRestarts and ended Failed with its pods deleted.
import { readTopic } from '../../../../runtime/src/testing/kafka-reader.ts'; // first: it patches kafkajs
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import {
  canonWindow,
  exactlyOnce,
  harnessPerFile,
  inputRecord,
  referenceWindows,
  sendInput,
  topicRecordCount,
  windowGraph,
  type InputRecord,
  type WindowOut,
} from './testing/kafka-job-harness.ts';
import { kubectlAsync } from './testing/kubectl.ts';

const PARTITIONS = 4;
const FIRST = 4_000;
const SECOND = 1_000;

describe('a bounded StreamJob (real runtime)', () => {
  const harness = harnessPerFile('sjbd', { in: PARTITIONS, out: 1 });
  const name = 'bounded';

  it('ends Finished: kubectl wait returns, no restart, pods kept, output complete and committed; a restartNonce change runs it again from where it ended', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const base = Math.floor(Date.now() / 1000) * 1000;
    const first = inputRecord(base, 40);
    // The second batch's windows start an hour later: none of them is a window of the first.
    const second = inputRecord(base + 3_600_000, 40);
    const send = async (rec: (i: number) => InputRecord, n: number, offset: number) => {
      await sendInput(kafka, input, PARTITIONS, rec, n, offset);
      expect(await topicRecordCount(kafka, input)).toBe(offset + n);
    };
    await send(first, FIRST, 0);

    // Every status the operator writes, and every pod it makes: a restart would show in either.
    const seen = { restarts: 0, phases: new Set<string>(), deployments: new Set<string>() };
    const watch = setInterval(() => {
      void kube
        .get<StreamJob>(StreamJobs, ns, name)
        .then((j) => {
          seen.restarts = Math.max(seen.restarts, j.status?.restarts ?? 0);
          if (j.status?.phase) seen.phases.add(j.status.phase);
        })
        .catch(() => undefined);
      void kube
        .list<Pod>(Resources.Pod, ns)
        .then((l) => l.items.forEach((p) => seen.deployments.add(p.metadata?.labels?.[DEPLOYMENT_LABEL] ?? '?')))
        .catch(() => undefined);
    }, 200);

    const graph = windowGraph({ brokers, input, output, groupId: `g-${id}` });
    (graph.sources[0]!.kafka as Record<string, unknown>).bounded = 'latest';
    const waitFinished = () =>
      kubectlAsync([
        'wait',
        '-n',
        ns,
        `streamjob/${name}`,
        `--for=jsonpath={.status.phase}=Finished`,
        '--timeout=180s',
      ]);
    const checkFinished = async (deployments: number, windows: string[]) => {
      const w = await waitFinished();
      expect(w.code, `kubectl wait for phase Finished: ${w.stderr}`).toBe(0);
      // The output as it is the moment the job says Finished, read_committed.
      const got = (
        await readTopic(kafka, output, { expected: windows.length, timeoutMs: 30_000, settleMs: 2_000 })
      ).map((r) => canonWindow(JSON.parse(r.value) as WindowOut));
      expect(exactlyOnce(windows, got)).toEqual({ missing: [], unexpected: [], dups: 0, count: windows.length });
      const job = await kube.get<StreamJob>(StreamJobs, ns, name);
      const st = job.status!;
      const cond = (t: string) => st.conditions?.find((c) => c.type === t);
      expect(st.phase).toBe('Finished');
      expect(st.pendingOperation).toBeUndefined();
      expect(st.restarts ?? 0).toBe(0);
      expect(st.observedGeneration).toBe(job.metadata.generation);
      expect(cond('Reconciling')).toMatchObject({ status: 'False', reason: 'Reconciled' });
      expect(cond('Stalled')).toMatchObject({ status: 'False' });
      expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'Finished' });
      expect(cond('Ready')?.message).toMatch(/input ended: 2 slot\(s\) of deployment .* finished/);
      // The final checkpoint slot 0 reported as it exited.
      expect(st.lastCheckpoint?.path).toMatch(/checkpoints\/chk-\d+$/);
      // The completed pods of the one deployment are kept (kubectl logs), never restarted.
      const pods = (await kube.list<Pod>(Resources.Pod, ns)).items;
      expect(pods.map((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL])).toEqual([st.deployed!.id, st.deployed!.id]);
      for (const p of pods) {
        expect(p.status?.phase).toBe('Succeeded');
        expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(0);
        expect(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
      }
      expect(seen.restarts).toBe(0);
      expect(seen.phases.has('Restarting')).toBe(false);
      expect(seen.phases.has('Failed')).toBe(false);
      expect(seen.deployments.size).toBe(deployments);
      return job;
    };

    try {
      await h.createJob(name, {
        upgradeMode: 'savepoint',
        checkpointing: { interval: '500ms' },
        restartPolicy: { maxRestarts: 2, backoff: { initial: '1s', max: '2s' } },
        graph,
      });
      const want1 = referenceWindows(FIRST, first);
      const done = await checkFinished(1, want1);

      // Run it again: the new deployment restores the final checkpoint, so its sources start
      // where they ended and read only the second batch.
      await send(second, SECOND, FIRST);
      await kube.patch(StreamJobs, ns, name, { spec: { restartNonce: 1 } });
      await checkFinished(2, [...want1, ...referenceWindows(SECOND, second)].sort());
      const again = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(again.status?.deployed?.id).not.toBe(done.status?.deployed?.id);
    } finally {
      clearInterval(watch);
    }
  }, 420_000);
});
