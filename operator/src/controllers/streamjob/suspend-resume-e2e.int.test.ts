// A suspend in upgradeMode last-state, then a resume, with the REAL runtime (node agent), real
// Kafka (exactly-once sink), the job's state on the local S3 server and the StreamJob
// controller; the output is counted by Kafka's own Java consumer under read_committed.
//
// The race this guards (issue 39, item 4): the suspend records where the job resumes from while
// the old pods still run, and they go on completing checkpoints — committing those checkpoints'
// Kafka transactions — until they are gone. Pinning the resume to the checkpoint slot 0 reported
// then replays the output committed after it. Made deterministic with a real mechanism: the
// operator dies right after it wrote `state-ready` (its write-ahead record of where state comes
// from); the old pods keep checkpointing every 100 ms for 3 s until a new operator deletes them.
// The resumed pods must restore the newest checkpoint of the suspended deployment as storage
// holds it after they are gone, and the output must hold every window once.
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idOf = (path: string | undefined) => Number(/-(\d+)$/.exec(path ?? '')?.[1] ?? NaN);

describe('suspend in last-state mode, then resume (real runtime)', () => {
  const harness = harnessPerFile('sjsr', { in: PARTITIONS, out: 1 });
  const name = 'suspended';

  it('resumes from the newest checkpoint the suspended pods completed, not the one recorded at suspend: exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const output = h.topics.out!;
    const { reader, finish } = await startWindowInput({
      kafka,
      input,
      output,
      partitions: PARTITIONS,
      readerGroup: `sjsr-reader-${id}`,
      keys: 40,
    });

    await h.createJob(name, {
      upgradeMode: 'last-state',
      // retained 100: the checkpoint recorded at suspend is still there to be (wrongly) restored
      checkpointing: { interval: '100ms', retained: 100 },
      graph: windowGraph({ brokers, input, output, groupId: `g-${id}` }),
    });
    const first = await runningWith(kube, ns, name, 2);
    await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
    await sleep(1500);

    // The operator dies right after recording where the suspended job's state is.
    await h.stopOperator();
    const dying = h.startOperator({ killAfter: { job: name, write: 'state-ready' } });
    await dying.ready;
    await kube.patch(StreamJobs, ns, name, { spec: { state: 'suspended' } });
    const mid = await dying.killed;
    const recorded = mid.status?.pendingOperation?.restoreFrom;
    expect(mid.status?.pendingOperation).toMatchObject({ kind: 'suspend', mode: 'last-state', step: 'state-ready' });
    expect(recorded).toMatch(/\/checkpoints\/chk-\d+$/);

    // The old pods run on, completing checkpoints and committing their transactions.
    await waitFor(
      'checkpoints completed after the one recorded at suspend',
      async () => (await h.state(name).completed()).filter((s) => s.id > idOf(recorded)).length >= 5,
      30_000,
      100,
    );
    await sleep(1000);

    // A new operator finishes the suspend (deletes the old pods).
    const finishing = h.startOperator();
    await finishing.ready;
    const suspended = await waitFor(
      `${name} Suspended`,
      async () => {
        const j = await getJob(kube, ns, name);
        return j.status?.phase === 'Suspended' && !j.status.pendingOperation ? j : undefined;
      },
      60_000,
      200,
    );
    expect(suspended.status?.resumeFrom).toBe(recorded);
    // Everything the suspended deployment completed, now that its pods are gone.
    const newest = (await h.state(name).completed()).at(-1)!;
    console.log(`recorded at suspend ${recorded}; newest completed by the suspended pods ${newest.path}`);
    expect(newest.id).toBeGreaterThan(idOf(recorded));

    await kube.patch(StreamJobs, ns, name, { spec: { state: 'running' } });
    const resumed = await runningWith(kube, ns, name, 2, first.status!.deployed!.id);
    // Soft: on a failure the output check below still runs, and says what restoring older state did.
    expect.soft(resumed.status?.deployed?.restoredFrom).toBe(newest.path);

    // ---- exactly-once: the reference windows, each once, under read_committed (Kafka's Java consumer)
    await sleep(1500);
    const { n, want, check } = await finish();
    const { java, javaCheck } = await javaExactlyOnce(brokers, output, want);
    console.log(
      `${n} input records, ${want.length} reference windows; read_committed (Java) ${java.length}: missing ${javaCheck.missing.length}, duplicates ${javaCheck.dups}; kafkajs duplicates ${check.dups}`,
    );
    expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
    expect(check.dups).toBe(0);
  }, 300_000);
});
