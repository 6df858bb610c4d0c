// A slot's load counters (StatusResponse.load, tributary_busy_seconds_total): the event loop's
// busy time follows what the slot's thread does (a CPU-bound task keeps it busy, a task waiting
// on timers does not), and a job's status carries counters that only grow, with its
// backpressure and records from the same sources as its metrics and recordsIn.
import { describe, expect, it } from 'vitest';
import { HoldingSink } from '../testing/holding-sink.ts';
import { StreamEnvironment } from '../api.ts';
import { CollectingSink } from '../connectors/collection/collecting-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { jobStatusSource } from '../job/job-executor-control.ts';
import type { SlotLoad } from '../control/contract.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { JobExecutor } from '../job/job-executor.ts';
import { Slot, type Task } from './slot.ts';
import { BackpressureClock } from './backpressure-clock.ts';
import { SlotLoadCounters } from './slot-load.ts';

/** Burns CPU in 2 ms steps until `ms` of wall time passed. */
class SpinTask implements Task {
  readonly name = 'spin';
  done = false;
  private readonly until: number;
  constructor(ms: number) {
    this.until = performance.now() + ms;
  }
  step(): boolean {
    const end = performance.now() + 2;
    while (performance.now() < end);
    if (performance.now() >= this.until) this.done = true;
    return true;
  }
}

/** Does nothing but wait for its next due time, `rounds` times `gapMs` apart. */
class WaitingTask implements Task {
  readonly name = 'wait';
  done = false;
  private readonly slot: Slot;
  private readonly gapMs: number;
  private rounds: number;
  private due: number;
  constructor(slot: Slot, rounds: number, gapMs: number) {
    this.slot = slot;
    this.gapMs = gapMs;
    this.rounds = rounds;
    this.due = Date.now() + gapMs;
  }
  step(): boolean {
    if (Date.now() < this.due) {
      this.slot.schedule(this.due, () => {});
      return false;
    }
    if (--this.rounds === 0) this.done = true;
    this.due = Date.now() + this.gapMs;
    return true;
  }
}

async function busyShare(task: (slot: Slot) => Task): Promise<number> {
  const slot = new Slot(0);
  const counters = new SlotLoadCounters();
  counters.start(slot);
  slot.addTask(task(slot));
  await slot.run();
  return (slot.load.busyMs()['eventLoop'] as number) / counters.uptimeMs;
}

describe('slot load: the event loop', () => {
  it('a slot with a CPU-bound task is busy about all its wall time', async () => {
    expect(await busyShare(() => new SpinTask(400))).toBeGreaterThan(0.6);
  });

  it('a slot whose task waits for timers is busy about none of it', async () => {
    expect(await busyShare((slot) => new WaitingTask(slot, 4, 100))).toBeLessThan(0.4);
  });
});

describe('slot load: backpressure', () => {
  it('counts a blocked period while it lasts, and the same once it ended, summed over tasks', async () => {
    const counters = new SlotLoadCounters();
    let reported = 0;
    const clock = (): BackpressureClock =>
      counters.track(
        new BackpressureClock((s) => {
          reported += s;
          counters.addBackpressured(s);
        }),
      );
    const [a, b] = [clock(), clock()];
    expect(counters.backpressured).toBe(0);
    a.blocked();
    b.blocked();
    await new Promise((r) => setTimeout(r, 30));
    const during = counters.backpressured;
    expect(during).toBeGreaterThanOrEqual(2 * 25); // both tasks, still blocked
    a.running();
    b.running();
    expect(counters.backpressured).toBeGreaterThanOrEqual(during);
    expect(counters.backpressured).toBeCloseTo(reported * 1000, 6); // ended: what the metric got
  });
});

const N = 5000;
const spec: GraphSpec = {
  sources: [{ name: 'nums', collection: { records: Array.from({ length: N }, (_, i) => ({ i })) } }],
  steps: [{ name: 'odd', from: 'nums', filter: 'i >= 10.0' }],
  sinks: [{ name: 'out', from: 'odd', console: {} }],
};

function expectGrown(before: SlotLoad, after: SlotLoad): void {
  expect(after.uptimeMs).toBeGreaterThanOrEqual(before.uptimeMs);
  expect(after.backpressuredMs).toBeGreaterThanOrEqual(before.backpressuredMs);
  expect(after.recordsIn).toBeGreaterThanOrEqual(before.recordsIn);
  for (const [k, v] of Object.entries(before.busyMs)) expect(after.busyMs[k]).toBeGreaterThanOrEqual(v);
}

describe('slot load: the status and metrics of a job', () => {
  it('status has load once the job runs: counters only grow, backpressure and records match the metrics', async () => {
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(spec), {
      parallelism: 2,
      batchSize: 100,
      metrics,
      sinkWriter: () => new HoldingSink(150),
    });
    expect(job.status().load).toBeUndefined(); // before the graph runs
    const control = jobStatusSource(job, { jobName: 'j', deploymentId: 'd', slot: 0 });
    const running = job.run();
    const seen: SlotLoad[] = [];
    const timer = setInterval(() => seen.push(control.status().load as SlotLoad), 20);
    await running;
    clearInterval(timer);
    const st = job.status();
    const load = st.load as SlotLoad;
    seen.push(load);
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expectGrown(seen[i - 1] as SlotLoad, seen[i] as SlotLoad);
    // Two slots in one process answer as one: records summed as recordsIn is.
    expect(load.recordsIn).toBe(N);
    expect(load.recordsIn).toBe(st.recordsIn);
    expect(load.sources).toEqual([]); // a collection has no partitions
    // Each slot's sink held its first write 150 ms: the mean slot was backpressured, as the metric says.
    const bp = (await metrics.backpressuredSeconds.get()).values.reduce((a, v) => a + v.value, 0);
    expect(load.backpressuredMs).toBeGreaterThan(100);
    expect(load.backpressuredMs).toBeCloseTo((bp * 1000) / 2, 3);
    const busy = load.busyMs['eventLoop'] as number;
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(load.uptimeMs + 1);
    // The counter is read from the LoadMeter at the scrape: between the readings before and after it.
    const scrape = await metrics.registry.metrics();
    const after = job.status().load as SlotLoad;
    for (const slot of ['0', '1']) {
      const m = new RegExp(`tributary_busy_seconds_total\\{slot="${slot}",resource="eventLoop"\\} (\\S+)`).exec(scrape);
      const scraped = Number(m?.[1]) * 1000;
      expect(scraped).toBeGreaterThanOrEqual(busy - 1e-6);
      expect(scraped).toBeLessThanOrEqual((after.busyMs['eventLoop'] as number) + 1e-6);
    }
  });

  it('an async step at its capacity is busy all the time while the event loop waits: both in load and metrics', async () => {
    const env = new StreamEnvironment();
    const sleep = (x: number) => new Promise<number>((r) => setTimeout(() => r(x), 20));
    env
      .fromCollection(Array.from({ length: 40 }, (_, i) => i))
      .mapAsync(sleep, { name: 'enrich', capacity: 2 })
      .print('out');
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      functions: env.functions,
      sinkWriter: () => new CollectingSink(),
    });
    await job.run();
    const load = job.status().load as SlotLoad;
    const share = (r: string) => (load.busyMs[r] as number) / load.uptimeMs;
    // 20 rounds of 2 calls of 20 ms: the step's capacity is full nearly all the time, its thread idle nearly all of it.
    expect(share('enrich')).toBeGreaterThan(0.5);
    expect(share('eventLoop')).toBeLessThan(share('enrich'));
    const scrape = await job.metrics.registry.metrics();
    expect(scrape).toMatch(/tributary_busy_seconds_total\{slot="0",resource="enrich"\} [0-9.]+/);
  });
});
