// A stop-with-savepoint whose poll failed for a reason other than a timeout: its id is kept, it
// is asked again during the retry's backoff, adopted once it completed, forgotten once the
// runtime says FAILED, and an unanswered ask is reported. The runtime client is scripted (the
// real one against the real runtime: late-savepoint-e2e.int.test.ts).
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SavepointStatus } from '../../../../../runtime/src/control/contract.ts';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeError, RuntimeErrorCodes } from '../../../runtime-client/client.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import type { Observation } from '../observer.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';
import { stopWithSavepoint } from './stop-with-savepoint.ts';

type Answer = SavepointStatus | RuntimeError;

function setup(op: PendingOperation, answers: Map<string, Answer>) {
  const events: { type: string; reason: string; message: string }[] = [];
  const polled: string[] = [];
  const r = {
    deps: {
      defaults: { image: 'img' },
      events: {
        warning: (_j: unknown, reason: string, message: string) => (
          events.push({ type: 'Warning', reason, message }),
          Promise.resolve()
        ),
        normal: (_j: unknown, reason: string, message: string) => (
          events.push({ type: 'Normal', reason, message }),
          Promise.resolve()
        ),
      },
      metrics: { savepointDuration: { observe: () => undefined } },
      runtime: {
        savepoint: (_b: string, _t: string, id: string) => {
          polled.push(id);
          const a = answers.get(id);
          return a instanceof RuntimeError || !a
            ? Promise.reject(a ?? new RuntimeError(RuntimeErrorCodes.notFound, id))
            : Promise.resolve(a);
        },
        triggerSavepoint: () => Promise.resolve({ id: 'sp-new' }),
      },
    },
    record: (c: JobCtx, _write: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
    runtimeBackoff: () => 60_000,
    advance: () => Promise.resolve(undefined),
  } as unknown as ReconcilerInternals;
  const slot0 = { metadata: { name: 'j-d-1-0' }, status: { phase: 'Running', podIP: '10.0.0.1' } };
  const obs = {
    pods: [slot0],
    current: new Map([[0, slot0]]),
    token: 't',
    others: [],
    failedSlots: [],
  } as unknown as Observation;
  const job = sampleJob(sampleSpec, {
    phase: 'Savepointing',
    deployed: { id: 'd-1', specHash: 'h', parallelism: 2, startedAt: '2026-01-01T00:00:00Z' },
    pendingOperation: op,
  });
  const c: JobCtx = { job, log: pino({ level: 'silent' }), obs, now: new Date('2026-01-01T00:01:00Z') };
  return { r, c, events, polled };
}

const upgrade = (o: Partial<PendingOperation>): PendingOperation => ({
  kind: 'upgrade',
  targetSpecHash: 'h2',
  targetDeploymentId: 'h2-2',
  mode: 'savepoint',
  savepointRequestId: 'u1-upgrade-2-a1',
  attempt: 1,
  startedAt: '2026-01-01T00:00:30Z',
  ...o,
});
const unreachable = new RuntimeError(RuntimeErrorCodes.unreachable, 'GET /v1/savepoints/sp-4: connect ECONNREFUSED');

describe('a stop-with-savepoint given up on before its outcome was known', () => {
  it('keeps the id of a savepoint whose poll failed (not only one that timed out)', async () => {
    const { r, c } = setup(
      upgrade({ step: 'savepoint-triggered', savepointId: 'sp-4' }),
      new Map([['sp-4', unreachable]]),
    );
    await stopWithSavepoint(r, c, c.job.status!.pendingOperation!);
    expect(c.job.status?.pendingOperation).toMatchObject({ step: 'savepoint-failed', timedOutSavepointIds: ['sp-4'] });
    expect(c.job.status?.pendingOperation?.savepointId).toBeUndefined();
  });

  it('asks for it during the backoff, reports an unanswered ask, and adopts it by id once it completed', async () => {
    const answers = new Map<string, Answer>([['sp-4', unreachable]]);
    const op = upgrade({ step: 'savepoint-failed', notBefore: '2026-01-01T00:02:00Z', timedOutSavepointIds: ['sp-4'] });
    const { r, c, events, polled } = setup(op, answers);
    const waiting = await stopWithSavepoint(r, c, op, 60_000);
    expect(waiting).toEqual({ requeueAfter: 1_000 });
    expect(polled).toEqual(['sp-4']);
    expect(c.job.status?.conditions?.find((x) => x.type === 'SavepointInProgress')).toMatchObject({
      status: 'Unknown',
      reason: 'LateSavepointUnresolved',
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'LateSavepointUnresolved',
        message: expect.stringContaining('sp-4: [RUNTIME_ERR_UNREACHABLE] GET /v1/savepoints/sp-4'),
      }),
    ]);
    // The same failure again is not a second Event.
    await stopWithSavepoint(r, c, c.job.status!.pendingOperation!, 60_000);
    expect(events).toHaveLength(1);

    answers.set('sp-4', { id: 'sp-4', state: 'COMPLETED', path: 's3://b/p/n/j/savepoints/sp-4' });
    await stopWithSavepoint(r, c, c.job.status!.pendingOperation!, 60_000);
    expect(c.job.status?.pendingOperation).toMatchObject({
      step: 'state-ready',
      savepointId: 'sp-4',
      restoreFrom: 's3://b/p/n/j/savepoints/sp-4',
    });
    expect(c.job.status?.savepoints?.map((s) => s.id)).toEqual(['sp-4']);
  });

  it('forgets one the runtime reports FAILED', async () => {
    const op = upgrade({
      step: 'savepoint-failed',
      notBefore: '2026-01-01T00:02:00Z',
      timedOutSavepointIds: ['sp-3', 'sp-4'],
    });
    const { r, c } = setup(
      op,
      new Map<string, Answer>([
        ['sp-3', { id: 'sp-3', state: 'FAILED', error: 'declined' }],
        ['sp-4', { id: 'sp-4', state: 'IN_PROGRESS' }],
      ]),
    );
    await stopWithSavepoint(r, c, op, 60_000);
    expect(c.job.status?.pendingOperation?.timedOutSavepointIds).toEqual(['sp-4']);
  });
});
