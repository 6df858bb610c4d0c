// Slot 0's orchestration of a hosted live rescale (rescale-driver.ts): what it asks the host and
// the job, in which order, and what the tracker sees. The host is a real SlotHost over an in-memory
// transport that answers like a supervisor; the job a recorder (the real ones: cli/rescale-cli.int).
// hostedJob: where new Kafka partitions go around each part (placement.ts; the real ones:
// cli/rescale-discovery-cli.int).
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import type { MigrationProgress } from '../control/migration-tracker.ts';
import type { RescaleOptions } from '../rescale/rescale-local.ts';
import type { RescaleReport } from '../rescale/rescale-progress.ts';
import { hostedJob, hostedRescalable, type HostedJob } from './rescale-driver.ts';
import type { SlotProcess } from './slot-process.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { HOST_KIND, SlotHost, type ToHost } from './slot-host.ts';
import { MigrationTracker } from '../control/migration-tracker.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { PodRescaleHost } from '../rescale/rescale-host-pods.ts';

function setUp(refuse?: string) {
  const calls: string[] = [];
  let deliver: (m: unknown) => void = () => undefined;
  const host = new SlotHost({
    post: (m: ToHost) => {
      if (m.op !== 'rescale') return;
      calls.push(`host ${m.to} g${m.generation}${m.restartAt !== m.to ? ` restart at ${String(m.restartAt)}` : ''}`);
      queueMicrotask(() => deliver({ kind: HOST_KIND, op: 'reply', id: m.id }));
    },
    listen: (on) => (deliver = on),
  });
  const job: HostedJob & { parallelism: number; failed: unknown[] } = {
    parallelism: 2,
    failed: [],
    fail: (e) => job.failed.push(e),
    checkRescale: (to) => {
      if (refuse && to === 9) throw new TributaryError('TRIB_RESCALE_PLAN_INVALID', refuse);
    },
    rescale: (to: number, o?: RescaleOptions): Promise<RescaleReport> => {
      calls.push(`job ${job.parallelism} → ${to}`);
      const p: RescaleReport = {
        id: `part-${to}`,
        from: job.parallelism,
        to,
        phase: 'done',
        stepsDone: 2,
        steps: 2,
        keyGroupsMoved: 10,
        keyGroups: 10,
        bytesMoved: 100,
        bytes: 100,
        startedAt: `t${to}`,
        finishedAt: `f${to}`,
      };
      o?.onProgress?.({ ...p, phase: 'moving', stepsDone: 1 });
      o?.onProgress?.(p);
      job.parallelism = to;
      return Promise.resolve(p);
    },
  };
  return { calls, host, job };
}

describe('hosted live rescale (slot 0)', () => {
  it('scales out one slot at a time, the host first each time; the tracker sees one migration 2 → 4', async () => {
    const { calls, host, job } = setUp();
    const seen: MigrationProgress[] = [];
    await hostedRescalable(host, () => job).rescale(4, { onProgress: (p) => seen.push(p) });
    // Each part records the whole target: a restart after the first part's failure starts 4 slots.
    expect(calls).toEqual(['host 3 g1 restart at 4', 'job 2 → 3', 'host 4 g2', 'job 3 → 4']);
    expect(new Set(seen.map((p) => `${p.id} ${p.from}→${p.to} ${p.startedAt}`))).toEqual(new Set(['part-3 2→4 t3']));
    // The first part's end is not the migration's; steps and key groups add up.
    expect(seen.map((p) => [p.phase, p.stepsDone, p.steps])).toEqual([
      ['moving', 1, 2],
      ['moving', 2, 2],
      ['moving', 3, 4],
      ['done', 4, 4],
    ]);
    expect(seen.at(-1)).toMatchObject({ keyGroupsMoved: 20, bytes: 200, finishedAt: 'f4' });
  });

  it('scales in in one part: the host records the target, then the job moves and drains', async () => {
    const { calls, host, job } = setUp();
    job.parallelism = 3;
    await hostedRescalable(host, () => job).rescale(1, { onProgress: () => undefined });
    expect(calls).toEqual(['host 1 g1', 'job 3 → 1']);
  });

  it('a rescale the job cannot do asks nothing of the host', async () => {
    const { calls, host, job } = setUp('parallelism 9 is not in 1..8');
    await expect(hostedRescalable(host, () => job).rescale(9, { onProgress: () => undefined })).rejects.toMatchObject({
      code: 'TRIB_RESCALE_PLAN_INVALID',
      message: expect.stringMatching(/parallelism 9 is not in 1\.\.8/),
    });
    await expect(
      hostedRescalable(host, () => undefined).rescale(3, { onProgress: () => undefined }),
    ).rejects.toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
    expect(calls).toEqual([]);
    expect(job.failed).toEqual([]);
  });

  it('a part that fails once the host started its slot fails the job (the host restarts it)', async () => {
    const { calls, host, job } = setUp();
    job.rescale = () => Promise.reject(new TributaryError('TRIB_RESCALE_STEP_FAILED', 'no join-built from slot 2'));
    await expect(hostedRescalable(host, () => job).rescale(3, { onProgress: () => undefined })).rejects.toThrow(
      /no join-built/,
    );
    expect(calls).toEqual(['host 3 g1']);
    expect(job.failed.map(String)).toEqual([expect.stringMatching(/no join-built/)]);
  });

  it('slot pods: accepted while it waits for the joining pod, its status naming it; cleared once linked', async () => {
    const { calls, job } = setUp();
    let linked: () => void = () => undefined;
    const host = new PodRescaleHost({
      parallelism: () => job.parallelism,
      send: () => true,
      followHere: () => new Promise<void>((r) => (linked = r)),
      timeoutMs: 60_000,
      logger: silentLogger(),
    });
    const tracker = new MigrationTracker(hostedRescalable(host, () => job));
    // The POST's answer comes while slot 0 waits (the operator needs the id to poll, then creates the pod).
    const accepted = await tracker.request({ to: 3 });
    expect(accepted).toMatchObject({
      state: 'IN_PROGRESS',
      from: 2,
      to: 3,
      phase: 'joining',
      awaiting: { slot: 2, generation: 1, parallelism: 3 },
    });
    expect(calls).toEqual([]);
    // Slot 1's answer (its link order's id is 1), then slot 0's own link.
    host.receive({ m: 'link-answer', id: 1 });
    linked();
    await expect.poll(() => tracker.get(accepted.id)?.state).toBe('COMPLETED');
    expect(calls).toEqual(['job 2 → 3']);
    expect(tracker.get(accepted.id)).not.toHaveProperty('awaiting');
    expect(tracker.get(accepted.id)).toMatchObject({ id: accepted.id, phase: 'done', stepsDone: 2, steps: 2 });
  });

  it('slot pods, 2 → 4: one joining pod at a time, each awaited with its own generation and parallelism', async () => {
    const { calls, job } = setUp();
    const host = podHost(job);
    const seen: MigrationProgress[] = [];
    await hostedRescalable(host, () => job).rescale(4, { onProgress: (p) => seen.push(p) });
    expect(calls).toEqual(['job 2 → 3', 'job 3 → 4']);
    expect(seen.map((p) => `${p.phase} ${p.awaiting ? JSON.stringify(p.awaiting) : '-'}`)).toEqual([
      'joining {"slot":2,"generation":1,"parallelism":3}',
      'joining -',
      'moving -',
      'moving -',
      'joining {"slot":3,"generation":2,"parallelism":4}',
      'joining -',
      'moving -',
      'done -',
    ]);
    // One migration: the first part's id and start once the job reported it.
    expect(seen.at(-1)).toMatchObject({ from: 2, to: 4, stepsDone: 4, steps: 4 });
  });

  it('slot pods, 2 → 4: every running slot holds new partitions before each part, every slot places them after', async () => {
    const { calls, job, slot } = placing();
    const host = podHost(job);
    await hostedRescalable(host, () => hostedJob(slot, graph)).rescale(4, { onProgress: () => undefined });
    expect(calls).toEqual([
      'hold 0,1',
      'job 2 → 3',
      'place 0,1,2 at 3',
      'hold 0,1,2',
      'job 3 → 4',
      'place 0,1,2,3 at 4',
    ]);
  });

  it('a part that fails places new partitions at the parallelism the job has then', async () => {
    const { calls, job, slot } = placing(new TributaryError('TRIB_RESCALE_STEP_FAILED', 'a step failed'));
    const rescaled = hostedRescalable(podHost(job), () => hostedJob(slot, graph)).rescale(3, {
      onProgress: () => undefined,
    });
    await expect(rescaled).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
    expect(calls).toEqual(['hold 0,1', 'job 2 → 3', 'place 0,1 at 2']);
  });
});

const graph = { spec: { sources: [] } } as unknown as ValidatedGraph;

/** Slot 0's SlotProcess as hostedJob reads it: its job (setUp's, rescaling or failing), its placement recorded. */
function placing(failure?: TributaryError) {
  const { calls, job } = setUp();
  const executor = {
    get parallelism() {
      return job.parallelism;
    },
    checkRescaleAcross: (to: number) => job.checkRescale(to),
    fail: (e: unknown) => job.fail(e),
    rescale: (to: number, o?: RescaleOptions) => {
      if (!failure) return job.rescale(to, o);
      calls.push(`job ${job.parallelism} → ${to}`);
      return Promise.reject(failure);
    },
  };
  const placement = {
    hold: (slots: readonly number[]) => {
      calls.push(`hold ${slots.join(',')}`);
      return Promise.resolve();
    },
    place: (slots: readonly number[], n: number) => void calls.push(`place ${slots.join(',')} at ${n}`),
  };
  const slot = { executor, placement, opts: { logger: silentLogger() } } as unknown as SlotProcess;
  return { calls, job, slot };
}

/** Slot pods' host: link orders answered at once. */
function podHost(job: { parallelism: number }): PodRescaleHost {
  const host: PodRescaleHost = new PodRescaleHost({
    parallelism: () => job.parallelism,
    send: (_slot, msg) => {
      if (msg.m === 'link-order') queueMicrotask(() => host.receive({ m: 'link-answer', id: msg.id }));
      return true;
    },
    followHere: () => Promise.resolve(),
    timeoutMs: 60_000,
    logger: silentLogger(),
  });
  return host;
}
