// The DruidDatasource controller's decisions, each action from the observation that calls for it,
// with the supervisor specs the controller itself builds (desiredSupervisorSpec + owner marker).
import { describe, expect, it } from 'vitest';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidError } from '../../druid/errors.ts';
import type { SupervisorSpec } from '../../druid/types.ts';
import {
  claimRetryMs,
  decide,
  decideDeletion,
  druidFailure,
  nextPollMs,
  settlingPollMs,
  specRejectedRetryMs,
  type DS,
} from './decide-supervisor.ts';
import { failedStatus, observedStatus, supervisorSettled } from './record.ts';
import { withOwnerMarker } from './supervisor-claim.ts';
import { desiredSupervisorSpec } from './supervisor-spec.ts';

const ds = (
  over: Partial<DruidDatasource['spec']> = {},
  status: DruidDatasource['status'] = {},
  namespace = 'team-a',
): DS => ({
  metadata: { name: 'clicks', namespace, uid: 'u', generation: 4 },
  spec: {
    druid: { url: 'http://druid:8888' },
    kafka: { bootstrapServers: 'k:9092', topic: 'clicks' },
    timestamp: { column: 'ts', format: 'millis' },
    dimensions: ['country'],
    granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
    ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
    suspend: false,
    deletionPolicy: 'Terminate',
    ...over,
  },
  status,
});
const desiredOf = (d: DS): SupervisorSpec => withOwnerMarker(desiredSupervisorSpec(d), d);
/** The live spec as Druid hands it back: what was posted, with Druid's own keys added. */
const liveOf = (d: DS): SupervisorSpec => {
  const s = structuredClone(desiredOf(d));
  (s.spec as Record<string, unknown>).tuningConfig = { type: 'kafka', maxRowsInMemory: 150000 };
  return s;
};
const synced = { supervisorId: 'clicks' };

describe('decide (a DruidDatasource not being deleted)', () => {
  it('creates a missing supervisor, and says "recreated" when status shows it had one', () => {
    expect(decide(ds(), 'clicks', desiredOf(ds()), undefined)).toEqual({ kind: 'create', recreate: false });
    const had = ds({}, synced);
    expect(decide(had, 'clicks', desiredOf(had), undefined)).toEqual({ kind: 'create', recreate: true });
  });

  it('does nothing when the live supervisor matches on every key we own', () => {
    const d = ds({}, synced);
    expect(decide(d, 'clicks', desiredOf(d), liveOf(d))).toEqual({ kind: 'none' });
  });

  it('suspends or resumes when only `suspended` differs', () => {
    const running = ds({ suspend: false }, synced);
    const suspended = ds({ suspend: true }, synced);
    expect(decide(suspended, 'clicks', desiredOf(suspended), liveOf(running))).toEqual({ kind: 'suspend' });
    expect(decide(running, 'clicks', desiredOf(running), liveOf(suspended))).toEqual({ kind: 'resume' });
  });

  it('updates on any other drift, naming the paths (a suspend with it goes in the update)', () => {
    const was = ds({}, synced);
    const now = ds({ ingestion: { ...was.spec.ingestion, taskCount: 3 } }, synced);
    expect(decide(now, 'clicks', desiredOf(now), liveOf(was))).toEqual({
      kind: 'update',
      drift: ['spec.ioConfig.taskCount'],
    });
    const both = ds({ suspend: true, ingestion: { ...was.spec.ingestion, taskCount: 3 } }, synced);
    expect(decide(both, 'clicks', desiredOf(both), liveOf(was))).toEqual({
      kind: 'update',
      drift: ['suspended', 'spec.ioConfig.taskCount'],
    });
  });

  it('refuses a supervisor claimed by another object, even one that matches, and an unmarked stranger', () => {
    const other = ds({}, {}, 'team-b');
    const ours = ds({}, {}, 'team-a');
    const refused = decide(other, 'clicks', desiredOf(other), liveOf(ours));
    expect(refused).toMatchObject({ kind: 'refuse' });
    expect(refused.kind === 'refuse' && refused.conflict).toContain('belongs to DruidDatasource team-a/clicks');
    const unmarked = { ...liveOf(ours), context: {} };
    expect(decide(ours, 'clicks', desiredOf(ours), unmarked)).toMatchObject({ kind: 'refuse' });
    // The object whose status already names it adopts it (made before the marker existed): an update.
    expect(decide(ds({}, synced), 'clicks', desiredOf(ds({}, synced)), unmarked)).toEqual({
      kind: 'update',
      drift: ['context.tributary.dev/owner'],
    });
  });
});

describe('decideDeletion', () => {
  it('retains under deletionPolicy Retain without looking at Druid', () => {
    expect(decideDeletion(ds({ deletionPolicy: 'Retain' }), 'clicks', undefined)).toEqual({ kind: 'retain' });
  });

  it('terminates its own supervisor, or one Druid could not be asked about (the terminate then fails)', () => {
    const d = ds({}, synced);
    expect(decideDeletion(d, 'clicks', liveOf(d))).toEqual({ kind: 'terminate' });
    expect(decideDeletion(d, 'clicks', undefined)).toEqual({ kind: 'terminate' });
  });

  it('leaves running a supervisor another object owns', () => {
    const action = decideDeletion(ds({}, {}, 'team-b'), 'clicks', liveOf(ds()));
    expect(action.kind).toBe('retain-claimed');
  });
});

describe('druidFailure', () => {
  it('retries Druid down and refused credentials with backoff; waits on a rejected spec', () => {
    expect(druidFailure(new DruidError('DRUID_ERR_UNREACHABLE', 'x'))).toEqual({
      reason: 'DruidUnavailable',
      retry: 'backoff',
    });
    expect(druidFailure(new DruidError('DRUID_ERR_SERVER', 'x'))).toEqual({
      reason: 'DruidUnavailable',
      retry: 'backoff',
    });
    expect(druidFailure(new DruidError('DRUID_ERR_UNAUTHORIZED', 'x'))).toEqual({
      reason: 'DruidUnauthorized',
      retry: 'backoff',
    });
    for (const code of ['DRUID_ERR_REJECTED', 'DRUID_ERR_BAD_RESPONSE', 'DRUID_ERR_RESPONSE_TOO_LARGE'] as const)
      expect(druidFailure(new DruidError(code, 'x'))).toEqual({
        reason: 'SpecRejected',
        retry: 'later',
        afterMs: specRejectedRetryMs,
      });
  });
});

describe('polling and status', () => {
  const status = (state: string, healthy = true) => ({
    state,
    detailedState: state,
    healthy,
    suspended: state === 'SUSPENDED',
    aggregateLag: 7,
    recentErrors: [],
  });

  it('polls fast after acting or while unsettled, else at the interval', () => {
    expect(nextPollMs({ kind: 'none' }, true, 30_000)).toBe(30_000);
    expect(nextPollMs({ kind: 'none' }, false, 30_000)).toBe(settlingPollMs);
    expect(nextPollMs({ kind: 'resume' }, true, 30_000)).toBe(settlingPollMs);
    expect(claimRetryMs).toBeGreaterThan(settlingPollMs);
    // A poll interval under the settling one is not slowed down while settling.
    expect(nextPollMs({ kind: 'none' }, false, 2_000)).toBe(2_000);
    expect(nextPollMs({ kind: 'resume' }, true, 2_000)).toBe(2_000);
  });

  it('is settled when running and healthy, or suspended as asked', () => {
    expect(supervisorSettled(ds(), status('RUNNING'))).toBe(true);
    expect(supervisorSettled(ds(), status('IDLE'))).toBe(true);
    expect(supervisorSettled(ds(), status('RUNNING', false))).toBe(false);
    expect(supervisorSettled(ds(), status('SUSPENDED'))).toBe(false);
    expect(supervisorSettled(ds({ suspend: true }), status('SUSPENDED'))).toBe(true);
    expect(supervisorSettled(ds(), undefined)).toBe(false);
  });

  it('records what Druid reports, and failures as Synced False (refused) or Unknown (may yet sync)', () => {
    const at = new Date('2026-11-26T00:00:00Z');
    const ok = observedStatus({ lastError: 'old' }, ds(), 'clicks', 'h1', status('UNHEALTHY_SUPERVISOR', false), at);
    expect(ok).toMatchObject({
      supervisorId: 'clicks',
      observedGeneration: 4,
      lastSyncedSpecHash: 'h1',
      aggregateLag: 7,
    });
    expect(ok.lastError).toBeUndefined();
    expect(ok.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Synced', 'True', 'InSync'],
      ['Ready', 'False', 'UnhealthySupervisor'],
    ]);
    const down = failedStatus(ok, ds(), 'DruidUnavailable', 'no route', 'h1', at);
    expect(down.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Synced', 'Unknown', 'DruidUnavailable'],
      ['Ready', 'False', 'DruidUnavailable'],
    ]);
    expect(down.lastSyncedSpecHash).toBe('h1');
    const claimed = failedStatus(ok, ds(), 'ClaimedElsewhere', 'not ours', undefined, at);
    expect(claimed.conditions?.[0]).toMatchObject({ status: 'False', reason: 'ClaimedElsewhere' });
    expect(claimed.lastSyncedSpecHash).toBeUndefined();
  });
});
