// The reconcile's autoscaler stage as the StreamJob controller runs it, for the tests of the scale write
// (autoscale-conflict.test.ts against a fake apiserver, autoscaler/scale.int.test.ts against the real one):
// the load a busy slot reports, the status write kept in memory, and `autoscale` at a given second.
import type { SlotLoad, StatusResponse } from '../../../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { silentLogger } from '../../../telemetry/logger.ts';
import { autoscale, type Autoscaling } from '../autoscaler/autoscale.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { unobserved } from '../observer.ts';

/** One slot busy all the time at 100 rec/s while the lag grows by 50 rec/s: it needs more slots (3 of 12). */
export const busyLoad = (sec: number): SlotLoad => ({
  uptimeMs: sec * 1000,
  busyMs: { eventLoop: sec * 1000 },
  backpressuredMs: 0,
  recordsIn: sec * 100,
  sources: [{ source: 'gen', partitions: 12, assigned: 12, lag: sec * 50, recordsIn: sec * 100 }],
});

/** ReconcilerInternals.record that keeps the status on the context's job only (no status write). */
export async function recordInMemory(
  c: JobCtx,
  _why: string,
  mutate: (s: NonNullable<StreamJob['status']>) => StreamJob['status'],
): Promise<StreamJob> {
  c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
  return c.job;
}

/** `autoscale` on `job` as slot 0 reports `busyLoad(sec)`, `sec` s after `t0`; the job as the reconcile left it. */
export async function autoscaleAt(
  r: ReconcilerInternals,
  job: StreamJob,
  a: Autoscaling,
  t0: number,
  sec: number,
): Promise<StreamJob> {
  const obs = { ...unobserved(), deploymentId: 'd-1', runtime: { state: 'RUNNING', load: busyLoad(sec) } };
  const c: JobCtx = {
    job,
    log: silentLogger(),
    obs: obs as typeof obs & { runtime: StatusResponse },
    now: new Date(t0 + sec * 1000),
  };
  await autoscale(r, c, job.spec, a);
  return c.job;
}
