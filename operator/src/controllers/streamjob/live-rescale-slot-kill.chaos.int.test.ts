// The slot pod kill matrix of a live rescale (spec.rescale.mode live), with the REAL runtime (pods run by
// the local cluster's node agent as processes), real Kafka, S3 and apiserver, the StreamJob controller
// in-process. Per case: a StreamJob at N slots while input arrives (kill-matrix-jobs.ts: the rolling job,
// Kafka → keyBy → rolling count → exactly-once Kafka with rescale-kill.ts's reference, or the event-time
// window job, Kafka → keyBy → 1 s tumbling window → exactly-once Kafka), a migration-step budget of 64
// bytes in the pod template (many migration steps), `kubectl scale --replicas=N'`, and ONE slot pod
// SIGKILLed (kill-slot.ts: a crashed pod) at the case's phase, read from slot 0's GET /v1/migrations/{id}:
// while joining (`awaiting`), mid migration step, while draining, or right after done. Expected
// (docs/live-rescale.md, docs/design/live-rescale.md §6): the operator ends the live rescale with
// LiveRescaleFailed and restarts the job at N' from the last completed checkpoint (after done: an ordinary
// failure, a restart at N'); the job runs at N' in a new deployment (the growth job's topic gains
// partitions as the rescale starts, found mid-rescale); Kafka's Java read_committed reader finds exactly
// the reference (rolling: 0 missing, 0 duplicated, 0 unexpected; window: every window's count exact, once,
// after event time moved on at N'). CI runs CI_CASES (rolling) once; TRIBUTARY_RESCALE_KILL_ROUNDS=n runs
// every case, the window job's (WINDOW_CASES: the joining pod mid migration step of 2→3 while floors are
// held, the leaving pod draining in 3→2 while it waits for its floors' release) included, n times.
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { StreamJobs } from './resource.ts';
import { killSlotProcess } from './testing/kill-slot.ts';
import { kubectl, kubectlAsync } from './testing/kubectl.ts';
import { getJob, harnessPerFile, runningWith } from './testing/kafka-job-harness.ts';
import { startKillJob } from './testing/kill-matrix-jobs.ts';
import {
  CI_CASES,
  MORE_CASES,
  WINDOW_CASES,
  killAtPhase,
  runningPod,
  type KillCase,
} from './testing/slot-kill-matrix.ts';

const PARTITIONS = 4;
const ROUNDS = Number(process.env['TRIBUTARY_RESCALE_KILL_ROUNDS'] ?? 0);
const CASES = ROUNDS > 0 ? [...CI_CASES, ...MORE_CASES, ...WINDOW_CASES] : CI_CASES;
const BUDGET_BYTES = '64';
/** A window case ends its input, waits for later windows and reads the output twice: more time. */
const ms = (c: KillCase) => (c.job === 'window' ? 300_000 : 240_000);

async function createTopics(kafka: Kafka, input: string, output: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: PARTITIONS },
        { topic: output, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

describe('StreamJob live rescale: SIGKILL a slot pod at each phase (real runtime, Kafka, S3)', () => {
  const harness = harnessPerFile('sjpk', {});
  let n = 0;
  /** The reasons of job `job`'s Events (every case's job lives in the harness's one namespace). */
  const reasonsOf = async (ns: string, job: string) =>
    (
      await harness().kube.list<{
        metadata?: object;
        reason: string;
        involvedObject?: { kind?: string; name?: string };
      }>(Resources.Event, ns)
    ).items
      .filter((e) => e.involvedObject?.kind === 'StreamJob' && e.involvedObject.name === job)
      .map((e) => e.reason);

  for (let round = 1; round <= Math.max(1, ROUNDS); round++)
    for (const c of CASES as readonly KillCase[])
      it(`round ${round}: ${c.name}: restarted at ${c.to}, exactly-once`, { timeout: ms(c) }, async () => {
        const { kube, kafka, ns, brokers, id } = harness();
        const job = `pk${++n}`;
        const input = `${ns}-${job}-in`;
        const output = `${ns}-${job}-out`;
        await createTopics(kafka, input, output);
        const bs = brokers.split(',');
        const run = await startKillJob(c.job ?? 'rolling', {
          kafka,
          brokers: bs,
          input,
          output,
          partitions: PARTITIONS,
          tag: `${ns}-${job}`,
        });
        try {
          await harness().createJob(job, {
            replicas: c.from,
            maxParallelism: 128,
            graph: run.graph,
            rescale: { mode: 'live' },
            checkpointing: { interval: '200ms', retained: 2 },
            podTemplate: { env: [{ name: 'TRIBUTARY_RESCALE_BUDGET_BYTES', value: BUDGET_BYTES }] },
          });
          const dep = (await runningWith(kube, ns, job, c.from)).status!.deployed!.id;
          await run.started();

          const r = kubectl(['scale', '-n', ns, `streamjob/${job}`, `--replicas=${c.to}`]);
          expect(r.status, r.stderr).toBe(0);
          void run.rescaling?.();
          let seen: string;
          if (c.at === 'done') {
            const w = await kubectlAsync([
              'wait',
              '-n',
              ns,
              `streamjob/${job}`,
              '--for=condition=Ready',
              '--timeout=120s',
            ]);
            expect(w.code, w.stderr).toBe(0);
            const j = await getJob(kube, ns, job);
            expect(j.status?.migration).toMatchObject({ state: 'COMPLETED', to: c.to });
            expect(j.status?.deployed).toMatchObject({ id: dep, parallelism: c.to });
            const pod = await runningPod(kube, ns, job, dep, c.victim);
            expect(pod, `slot ${c.victim}'s pod`).toBeDefined();
            killSlotProcess(pod!.metadata!.name!);
            seen = 'COMPLETED';
          } else {
            const hit = await killAtPhase(kube, ns, job, dep, c);
            seen = `${hit.seen.phase} ${hit.seen.stepsDone}/${hit.seen.steps}${hit.seen.awaiting ? ' awaiting' : ''}`;
          }
          const lag = run.eventTimeLagMs?.();
          console.log(`[${id}] ${c.name}: killed at ${seen}${lag === undefined ? '' : `, event time lag ${lag} ms`}`);

          // Restarted at the target, in a new deployment (from the last completed checkpoint).
          const after = await runningWith(kube, ns, job, c.to, dep, 180_000);
          expect(after.status?.deployed?.parallelism).toBe(c.to);
          const reasons = await reasonsOf(ns, job);
          if (c.at === 'done') {
            // An ordinary failure at the new parallelism: the live rescale had completed.
            expect(reasons).toContain('LiveRescaleCompleted');
            expect(reasons).toContain('SlotFailed');
            expect(reasons).not.toContain('LiveRescaleFailed');
          } else {
            expect(reasons).toContain('LiveRescaleFailed');
            expect(reasons).not.toContain('LiveRescaleCompleted');
            expect(after.status?.migration).toMatchObject({ state: 'FAILED', to: c.to });
          }
          // A restart, not a savepoint rescale: the failure path never falls back to one.
          expect(reasons).not.toContain('RescaleStarted');
          const live = await Promise.all(
            [...Array(c.to + 1).keys()].map((s) => runningPod(kube, ns, job, after.status!.deployed!.id, s)),
          );
          expect(live.map((p) => p !== undefined)).toEqual([...Array(c.to).fill(true), false]);

          const { got, want, detail } = await run.verdict();
          expect(got, detail).toEqual(want);
        } finally {
          await run.stop();
          // The next case's pods get the machine to themselves.
          await kube.delete(StreamJobs, ns, job).catch(() => undefined);
        }
      });
});
