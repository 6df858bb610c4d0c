// A last-state upgrade with the operator's clock 10 minutes ahead of the slots' (issue 39, item 8:
// "restore-latest compares the operator's clock with slot 0's"). REAL runtime (node agent), real
// Kafka (exactly-once sink), state on the local S3 server, the in-process StreamJob controller
// running on the skewed clock; output counted by Kafka's own Java consumer under read_committed.
//
// restoreLatest used to pick the newest state triggered (slot 0's clock) at or after the replaced
// deployment's start (the operator's clock): with the operator ahead, no checkpoint of the lineage
// qualified and the pods restored the operator's fallback, a checkpoint chosen while the old pods
// still ran — replaying what they committed after it. Made deterministic: the operator dies right
// after recording that fallback (`state-ready`) and the old pods checkpoint for seconds more. Now
// the lineage is read from storage (each checkpoint names its deployment): no clock compared.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../kube/testing/cluster.ts';
import { StreamJobs } from './resource.ts';
import {
  getJob,
  harnessPerFile,
  javaExactlyOnce,
  runningWith,
  startWindowInput,
  windowGraph,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const SKEW_MS = 10 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idOf = (path: string | undefined) => Number(/-(\d+)$/.exec(path ?? '')?.[1] ?? NaN);

describe("a last-state upgrade with the operator's clock ahead of the slots' (real runtime)", () => {
  const harness = harnessPerFile('sjskew', { in: PARTITIONS, out: 1 }, { now: () => new Date(Date.now() + SKEW_MS) });
  const name = 'skewed';

  it('the new pods restore the newest checkpoint of the lineage, whatever the clocks say: exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const { reader, finish } = await startWindowInput({
      kafka,
      input,
      output,
      partitions: PARTITIONS,
      readerGroup: `sjskew-reader-${id}`,
      keys: 40,
    });

    await h.createJob(name, {
      upgradeMode: 'last-state',
      checkpointing: { interval: '100ms', retained: 100 },
      graph: windowGraph({ brokers, input, output, groupId: `g-${id}` }),
    });
    const first = await runningWith(kube, ns, name, 2);
    expect(Date.parse(first.status!.deployed!.startedAt)).toBeGreaterThan(Date.now() + SKEW_MS / 2);
    await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
    await sleep(1500);

    // The operator dies right after recording its fallback; the old pods checkpoint on.
    await h.stopOperator();
    const dying = h.startOperator({ killAfter: { job: name, write: 'state-ready' } });
    await dying.ready;
    await kube.patch(StreamJobs, ns, name, { spec: { restartNonce: 1 } });
    const mid = await dying.killed;
    const fallback = mid.status?.pendingOperation?.restoreFrom;
    expect(mid.status?.pendingOperation).toMatchObject({ kind: 'upgrade', mode: 'last-state', step: 'state-ready' });
    await waitFor(
      'checkpoints completed after the fallback',
      async () => (await h.state(name).completed()).filter((s) => s.id > idOf(fallback)).length >= 5,
      30_000,
      100,
    );

    // A new operator deletes the old pods; once they are gone, what they completed is final.
    const finishing = h.startOperator();
    await finishing.ready;
    await waitFor(
      'the old pods gone',
      async () => {
        const step = (await getJob(kube, ns, name)).status?.pendingOperation?.step;
        return step === 'old-pods-gone' || step === 'starting' ? true : undefined;
      },
      60_000,
      50,
    );
    const newest = (await h.state(name).completed()).at(-1)!;
    const upgraded = await runningWith(kube, ns, name, 2, first.status!.deployed!.id);
    console.log(
      `operator clock +${SKEW_MS / 1000}s; fallback ${fallback}; newest of the old pods ${newest.path}; restored ${upgraded.status?.deployed?.restoredFrom}`,
    );
    expect(newest.id).toBeGreaterThan(idOf(fallback));
    expect.soft(upgraded.status?.deployed?.restoredFrom).toBe(newest.path);

    await sleep(1500);
    const { n, want, check } = await finish();
    const { java, javaCheck } = await javaExactlyOnce(brokers, output, want);
    console.log(
      `${n} input records, ${want.length} reference windows; read_committed (Java) ${java.length}: missing ${javaCheck.missing.length}, duplicates ${javaCheck.dups}; kafkajs duplicates ${check.dups}`,
    );
    expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
  }, 300_000);
});
