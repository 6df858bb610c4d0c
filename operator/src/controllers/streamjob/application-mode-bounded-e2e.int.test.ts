// A bounded StreamJob in application mode ends Finished: the slots run a job module
// (testdata/clicks-job-bounded.ts: the clicks example's keyed window job over a Kafka source
// with `bounded: 'latest'`, exactly-once Kafka output) with the REAL runtime, the real
// apiserver, the node agent and Kafka (container mode: the example's image with the module
// added; process mode: the module's path in this checkout — testing/clicks-app-image.ts); the
// StreamJob controller runs in-process. The input is written beforehand. `kubectl wait
// --for=jsonpath='{.status.phase}'=Finished` (the cluster's kubectl) returns; each slot pod
// exited 0 with the finished termination message (control/finished.ts) of the one deployment,
// none restarted; and the output, read right then by Kafka's own Java consumer under
// read_committed, is every window of the input exactly once — the final checkpoint committed it
// before the slots exited.
//
// The module's `await env.execute()` hands the job to the slot, which runs it as it runs a YAML
// graph (slot-main.ts): the end of input, the final checkpoint and the termination message are
// the slot's, not the module's.
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { parseFinishedMessage } from '../../../../runtime/src/control/finished.ts';
import { StreamJobs } from './resource.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';
import {
  harnessPerFile,
  inputRecord,
  javaExactlyOnce,
  referenceWindows,
  sendInput,
  topicRecordCount,
} from './testing/kafka-job-harness.ts';
import { clicksApp } from './testing/clicks-app-image.ts';
import { kubectlAsync } from './testing/kubectl.ts';

const PARTITIONS = 4;
const RECORDS = 4_000;
const KEYS = 40;
const REPLICAS = 2;

describe('a bounded StreamJob in application mode (a job module) with the real runtime', () => {
  const harness = harnessPerFile('sjappbd', { in: PARTITIONS, out: 1 });
  const name = 'clicks-bounded';

  it('ends Finished: kubectl wait returns, each slot wrote the finished message, no restart, output complete and committed', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, KEYS);
    await sendInput(kafka, input, PARTITIONS, rec, RECORDS);
    expect(await topicRecordCount(kafka, input)).toBe(RECORDS);

    // Every status the operator writes: a restart would show there.
    const seen = { restarts: 0, phases: new Set<string>() };
    const watch = setInterval(() => {
      void kube
        .get<StreamJob>(StreamJobs, ns, name)
        .then((j) => {
          seen.restarts = Math.max(seen.restarts, j.status?.restarts ?? 0);
          if (j.status?.phase) seen.phases.add(j.status.phase);
        })
        .catch(() => undefined);
    }, 200);

    try {
      const app = await clicksApp();
      await h.createJob(name, {
        ...(app.image ? { image: app.image } : {}),
        replicas: REPLICAS,
        upgradeMode: 'savepoint',
        checkpointing: { interval: '500ms' },
        restartPolicy: { maxRestarts: 2, backoff: { initial: '1s', max: '2s' } },
        job: { module: app.module('clicks-job-bounded.ts') },
        podTemplate: {
          env: [
            { name: 'CLICKS_BROKERS', value: brokers },
            { name: 'CLICKS_INPUT', value: input },
            { name: 'CLICKS_OUTPUT', value: output },
            { name: 'CLICKS_GROUP', value: `g-${id}` },
          ],
        },
      });

      const w = await kubectlAsync([
        'wait',
        '-n',
        ns,
        `streamjob/${name}`,
        '--for=jsonpath={.status.phase}=Finished',
        '--timeout=240s',
      ]);
      const atWait = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(
        w.code,
        `kubectl wait for phase Finished: ${w.stderr}; status ${JSON.stringify(atWait.status ?? {})}`,
      ).toBe(0);

      // The output as it is the moment the job says Finished, read_committed by Kafka's Java consumer.
      const want = referenceWindows(RECORDS, rec);
      const { java, javaCheck } = await javaExactlyOnce(brokers, output, want);
      console.log(`${RECORDS} input records, ${want.length} reference windows; output ${java.length}`);
      expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });

      const job = await kube.get<StreamJob>(StreamJobs, ns, name);
      const st = job.status!;
      const cond = (t: string) => st.conditions?.find((c) => c.type === t);
      expect(st.phase).toBe('Finished');
      expect(st.pendingOperation).toBeUndefined();
      expect(st.restarts ?? 0).toBe(0);
      expect(cond('Reconciling')).toMatchObject({ status: 'False' });
      expect(cond('Stalled')).toMatchObject({ status: 'False' });
      expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'Finished' });
      expect(st.lastCheckpoint?.path).toMatch(/checkpoints\/chk-\d+$/);

      // Each slot of the one deployment exited 0 with the finished message, never restarted.
      const pods = (await kube.list<Pod>(Resources.Pod, ns)).items;
      expect(pods.map((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL])).toEqual(
        Array.from({ length: REPLICAS }, () => st.deployed!.id),
      );
      const slots: number[] = [];
      for (const p of pods) {
        const c = p.status?.containerStatuses?.[0];
        expect(p.status?.phase).toBe('Succeeded');
        expect(c?.restartCount).toBe(0);
        expect(c?.state?.terminated?.exitCode).toBe(0);
        const msg = parseFinishedMessage(c?.state?.terminated?.message);
        expect(msg, `termination message of ${p.metadata?.name}: ${c?.state?.terminated?.message}`).toMatchObject({
          deploymentId: st.deployed!.id,
        });
        slots.push(msg!.slot);
      }
      expect(slots.sort()).toEqual([0, 1]);
      expect(seen.restarts).toBe(0);
      expect(seen.phases.has('Restarting')).toBe(false);
      expect(seen.phases.has('Failed')).toBe(false);
    } finally {
      clearInterval(watch);
    }
  }, 420_000);
});
