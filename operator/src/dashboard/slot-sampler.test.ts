import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../api/v1alpha1/streamjob.ts';
import type { Pod } from '../controllers/streamjob/objects/slot-pod.ts';
import { RuntimeClient } from '../runtime-client/client.ts';
import { limited, SlotSampler, slotTargets, type JobSample } from './slot-sampler.ts';

const job = (name: string, uid = 'u', dep = 'd-1'): StreamJob =>
  ({
    metadata: { namespace: 'ns', name, uid },
    spec: { replicas: 2 },
    status: { deployed: { id: dep, specHash: 'd', parallelism: 2, startedAt: '' } },
  }) as StreamJob;

const pod = (slot: number, dep: string, ip: string | undefined, phase = 'Running'): Pod =>
  ({
    metadata: {
      name: `p${slot}-${dep}`,
      labels: { 'tributary.dev/slot': String(slot), 'tributary.dev/deployment': dep },
    },
    status: { phase, ...(ip ? { podIP: ip } : {}) },
  }) as Pod;

/** A runtime client whose answers take `delayMs` (a slow slot: the fault a real slot cannot make on demand). */
class SlowRuntime extends RuntimeClient {
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly delayMs: number;
  constructor(delayMs: number) {
    super();
    this.delayMs = delayMs;
  }
  override async status(base: string): Promise<StatusResponse> {
    this.calls.push(base);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight--;
    return { contractVersion: 1, jobName: 'j', deploymentId: 'd-1', slot: 0, parallelism: 2, state: 'RUNNING' };
  }
}

describe('slotTargets', () => {
  it('asks the running pods of the deployed deployment with an IP, one per slot', () => {
    const pods = [
      pod(0, 'd-1', '10.0.0.1'),
      pod(1, 'd-1', undefined),
      pod(1, 'd-0', '10.0.0.9'),
      pod(2, 'd-1', '10.0.0.3', 'Pending'),
    ];
    expect(slotTargets(job('a'), pods)).toEqual([{ slot: 0, ip: '10.0.0.1' }]);
    expect(slotTargets({ ...job('a'), status: {} }, pods)).toEqual([]);
  });
});

describe('limited', () => {
  it('runs every task with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) => async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      done.push(i);
    });
    await limited(tasks, 3);
    expect(most).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('SlotSampler', () => {
  it('asks each slot once a round within the concurrency limit, and drops a deleted or recreated job', async () => {
    const runtime = new SlowRuntime(5);
    let jobs = [job('a'), job('b')];
    const pods = [pod(0, 'd-1', '10.0.0.1'), pod(1, 'd-1', '10.0.0.2')];
    const samples: [string, JobSample][] = [];
    const gone: string[] = [];
    const sampler = new SlotSampler({
      jobs: () => jobs,
      pods: () => pods,
      token: () => 't',
      runtime,
      onSample: (key, _job, s) => samples.push([key, s]),
      onGone: (key) => gone.push(key),
      concurrency: 3,
    });
    await sampler.sampleOnce();
    expect(runtime.calls).toHaveLength(4);
    expect(runtime.maxInFlight).toBe(3);
    expect(samples.map(([k, s]) => [k, [...s.slots.keys()]])).toEqual([
      ['ns/a', [0, 1]],
      ['ns/b', [0, 1]],
    ]);
    jobs = [job('a', 'u2')];
    await sampler.sampleOnce();
    expect(gone.sort()).toEqual(['ns/a', 'ns/b']);
  });

  it('skips a round while the previous one is still running: never two requests to a slot at once', async () => {
    const runtime = new SlowRuntime(120);
    const sampler = new SlotSampler({
      jobs: () => [job('a')],
      pods: () => [pod(0, 'd-1', '10.0.0.1')],
      token: () => 't',
      runtime,
      onSample: () => {},
      onGone: () => {},
      intervalMs: 20,
    });
    sampler.start();
    await new Promise((r) => setTimeout(r, 300));
    await sampler.stop();
    expect(runtime.maxInFlight).toBe(1);
    expect(sampler.skipped).toBeGreaterThan(0);
    expect(runtime.calls.length).toBeLessThanOrEqual(3);
  });
});
