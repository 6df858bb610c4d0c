// decide-operation.ts for a replicas-only change: a live rescale when the spec asks for it and the job can,
// else the savepoint rescale with an Event saying why not; any other change stays an upgrade.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { decide } from './decide-operation.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { unobserved } from './observer.ts';
import { specHash } from './spec/hash.ts';
import { liveSpec, pods } from './testing/live-rescale-fixtures.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

const defaults = { image: 'img' };

async function decideFor(deployedSpec: StreamJobSpec, spec: StreamJobSpec, runtime = 'RUNNING') {
  const events: string[] = [];
  const r = {
    deps: {
      defaults,
      events: {
        normal: (_j: unknown, reason: string) => (events.push(reason), Promise.resolve()),
        warning: (_j: unknown, reason: string, msg: string) => (events.push(`${reason}: ${msg}`), Promise.resolve()),
      },
    },
    record: (c: JobCtx, _w: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
    advance: () => Promise.resolve(undefined),
    after: () => undefined,
  } as unknown as ReconcilerInternals;
  const n = deployedSpec.replicas;
  const job = sampleJob(spec, {
    phase: 'Running',
    deploymentCounter: 1,
    deployed: {
      id: 'd1',
      specHash: specHash(deployedSpec, defaults),
      parallelism: n,
      startedAt: '',
      spec: JSON.stringify(deployedSpec),
    },
  });
  const current = pods(...Array.from({ length: n }, () => 'running' as const));
  const c: JobCtx = {
    job,
    log: pino({ level: 'silent' }),
    obs: {
      ...unobserved(),
      pods: [...current.values()],
      current,
      deploymentId: 'd1',
      token: 't',
      runtime: { state: runtime } as never,
      readyCount: n,
    },
    now: new Date('2026-01-01T00:00:00Z'),
  };
  await decide(r, c, spec);
  return { op: c.job.status?.pendingOperation, events };
}

describe('decide: a replicas-only change', () => {
  it('with rescale.mode live and a job that can: a liveRescale of the same deployment', async () => {
    const { op, events } = await decideFor({ ...liveSpec, replicas: 2 }, { ...liveSpec, replicas: 3 });
    expect(op).toMatchObject({ kind: 'liveRescale', targetDeploymentId: 'd1', live: { from: 2, to: 3 } });
    expect(events).toEqual(['LiveRescaleStarted']);
  });

  it('without rescale.mode (the default, savepoint): the savepoint rescale, no Event about live', async () => {
    const plain = { ...liveSpec, rescale: undefined };
    const { op, events } = await decideFor({ ...plain, replicas: 2 }, { ...plain, replicas: 3 });
    expect(op).toMatchObject({ kind: 'rescale', mode: 'savepoint' });
    expect(events).toEqual(['RescaleStarted']);
  });

  it('live asked but not possible: the savepoint rescale, Event LiveRescaleNotPossible naming why', async () => {
    const datagen = { ...sampleSpec, rescale: { mode: 'live' } } as StreamJobSpec;
    const a = await decideFor({ ...datagen, replicas: 2 }, { ...datagen, replicas: 3 });
    expect(a.op).toMatchObject({ kind: 'rescale' });
    expect(a.events[0]).toBe(
      'LiveRescaleNotPossible: rescale from 2 to 3 slots by savepoint, not live: source gen is a datagen source (it stripes its records by parallelism)',
    );
    const b = await decideFor({ ...liveSpec, replicas: 2 }, { ...liveSpec, replicas: 3 }, 'RESTORING');
    expect(b.op?.kind).toBe('rescale');
    expect(b.events[0]).toMatch(/not live: the job is not running \(slot 0: RESTORING\)$/);
  });

  it('any other change (with replicas too) stays an upgrade by savepoint; rescale.mode alone changes nothing', async () => {
    const up = await decideFor({ ...liveSpec, replicas: 2 }, { ...liveSpec, replicas: 3, image: 'other' });
    expect(up.op).toMatchObject({ kind: 'upgrade', mode: 'savepoint' });
    const same = await decideFor({ ...liveSpec, rescale: undefined }, liveSpec);
    expect(same.op).toBeUndefined();
  });
});
