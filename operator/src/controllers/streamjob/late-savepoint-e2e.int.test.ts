// Status never says Ready while nothing runs, and a stop-with-savepoint that completed after the
// operator gave up on it is adopted (issue 39, item 6). REAL runtime (node agent), real Kafka,
// state on the local S3 server, the in-process StreamJob controller.
//
// The one injected fault: the operator's control API client fails every poll of a savepoint
// (GET /v1/savepoints/{id}) as unreachable while the test says so — what a slot 0 that cannot
// be reached for a moment looks like, which the real runtime cannot produce on demand. The
// trigger, the savepoint itself, the stop, the pods and /v1/status are all real: the runtime
// completes the stop-with-savepoint the operator recorded as failed, slots 1..2 exit 0, slot 0
// idles. Before the fix, Ready stayed True "3 slots running" and the savepoint id was forgotten
// (only a timeout kept it), so the upgrade retried against a stopped job for ever.
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { SavepointStatus } from '../../../../runtime/src/control/contract.ts';
import { RuntimeClient, RuntimeError, RuntimeErrorCodes } from '../../runtime-client/client.ts';
import { StreamJobs } from './resource.ts';
import { getJob, harnessPerFile, runningWith, startWindowInput, windowGraph } from './testing/kafka-job-harness.ts';

const PARTITIONS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real client, except that savepoint polls fail (unreachable) while `failPolls` is set. */
class PollFailingClient extends RuntimeClient {
  failPolls = false;
  failed = 0;
  override savepoint(base: string, token: string, id: string): Promise<SavepointStatus> {
    if (!this.failPolls) return super.savepoint(base, token, id);
    this.failed++;
    return Promise.reject(
      new RuntimeError(RuntimeErrorCodes.unreachable, `GET ${base}/v1/savepoints/${id}: injected: slot 0 unreachable`),
    );
  }
}

describe('a stop-with-savepoint the operator recorded as failed completes late (real runtime)', () => {
  let client: PollFailingClient | undefined;
  const harness = harnessPerFile(
    'sjlate',
    { in: PARTITIONS, out: 1 },
    { runtime: () => (client = new PollFailingClient()) },
  );
  const name = 'late';

  it('Ready turns False naming the slots that stopped, and the late savepoint is adopted by id', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const input = h.topics.in!;
    const { reader, finish } = await startWindowInput({
      kafka,
      input,
      output: h.topics.out!,
      partitions: PARTITIONS,
      readerGroup: `sjlate-reader-${id}`,
      keys: 40,
    });

    await h.createJob(name, {
      replicas: 3,
      upgradeMode: 'savepoint',
      checkpointing: { interval: '500ms' },
      // The retry waits long: what happens meanwhile is what status says about a stopped job.
      restartPolicy: { backoff: { initial: '60s', max: '60s' } },
      savepoints: { timeout: '5m', historyLimit: 10 },
      graph: windowGraph({ brokers, input, output: h.topics.out!, groupId: `g-${id}` }),
    });
    const first = await runningWith(kube, ns, name, 3);
    expect(first.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);

    client!.failPolls = true;
    await kube.patch(StreamJobs, ns, name, { spec: { restartNonce: 1 } });
    // The operator triggered the stop-with-savepoint (its id is in status), its poll failed.
    const failed = await waitFor(
      'the savepoint recorded as failed',
      async () => {
        const j = await getJob(kube, ns, name);
        return j.status?.pendingOperation?.step === 'savepoint-failed' ? j : undefined;
      },
      60_000,
      200,
    );
    const spId = failed.status!.pendingOperation!.timedOutSavepointIds?.[0];
    expect(spId, 'the savepoint whose poll failed is kept until its outcome is known').toBeDefined();
    expect(failed.status?.pendingOperation?.message).toContain('Slot0Unreachable');

    // The runtime completed it: slots 1 and 2 exit, slot 0 idles. Ready says so, naming them.
    const notRunning = await waitFor(
      'Ready False SlotsNotRunning',
      async () => {
        const j = await getJob(kube, ns, name);
        const ready = j.status?.conditions?.find((c) => c.type === 'Ready');
        const unknown = j.status?.conditions?.find((c) => c.type === 'SavepointInProgress')?.status === 'Unknown';
        // Until slots 1 and 2 have exited (their pods ended): the runtime says STOPPING before that.
        const exited = /slot 1 \(pod /.test(ready?.message ?? '') && /slot 2 \(pod /.test(ready?.message ?? '');
        return ready?.status === 'False' && ready.reason === 'SlotsNotRunning' && exited && unknown
          ? { j, ready }
          : undefined;
      },
      60_000,
      250,
    );
    console.log(`Ready: ${notRunning.ready.reason}: ${notRunning.ready.message}`);
    expect(notRunning.ready.message).toMatch(/slot 0 \(runtime [A-Z]+\)/); // idles, its pod still up
    expect(notRunning.j.status?.pendingOperation?.step).toBe('savepoint-failed');
    // The polls that keep failing are reported, not swallowed.
    expect(notRunning.j.status?.conditions?.find((c) => c.type === 'SavepointInProgress')).toMatchObject({
      status: 'Unknown',
      reason: 'LateSavepointUnresolved',
    });
    const events = (await kube.list<{ reason: string; message: string; metadata?: object }>(Resources.Event, ns)).items;
    expect(events.some((e) => e.reason === 'LateSavepointUnresolved' && e.message.includes(spId!))).toBe(true);

    // Slot 0 answers again: the savepoint is adopted by its id, long before the retry is due.
    client!.failPolls = false;
    const upgraded = await runningWith(kube, ns, name, 3, first.status!.deployed!.id, 45_000);
    const adopted = upgraded.status?.savepoints?.find((s) => s.id === spId);
    expect(adopted, `savepoint ${spId} in status.savepoints`).toBeDefined();
    expect(upgraded.status?.deployed?.restoredFrom).toBe(adopted!.path);
    expect(upgraded.status?.savepoints?.filter((s) => s.reason === 'upgrade')).toHaveLength(1);
    expect(upgraded.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Running',
    });

    // ---- and nothing was lost or repeated on the way (read_committed)
    await sleep(1500);
    const { want, check } = await finish();
    expect(check).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
  }, 300_000);
});
