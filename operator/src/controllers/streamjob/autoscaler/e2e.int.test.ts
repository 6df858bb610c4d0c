// The autoscaler end to end on the local cluster: the real runtime (slot pods run by the node
// agent), the real apiserver and Kafka, the StreamJob controller in-process. The job scores
// every click through an HTTP call with a per-slot capacity (testing/autoscaler-scenario.ts), so
// its throughput is set by its replicas, not by the machine's two cores. A producer steps its
// rate up, down, then makes it noisy:
// - up: the autoscaler scales up within two metric windows of the step, through the scale
//   subresource (field manager tributary-autoscaler), and the lag drains within catchUpDuration;
// - down: it scales down only after scaleDownDelay;
// - noisy: it never rescales more often than its budget, and says so (status, a Warning Event) when it holds back
//   (the budget set, in place, to the rescales made so far: a scale-up measured on a loaded machine may take two
//   scale-ups, both legitimate decisions, so the test does not assume how many the way up took);
// - a second job on the same input in Recommend mode reports a recommendation and changes nothing;
// - the output is exactly once across every autoscaler-driven rescale (Kafka's Java
//   read_committed consumer: every input id once, with its score).
import { describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../../../test/harness/java-topic-reader.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { Resources, type KubeObject } from '../../../kube/index.ts';
import { StreamJobs } from '../resource.ts';
import { clicksApp } from '../testing/clicks-app-image.ts';
import { getJob, harnessPerFile, inputProducer, runningWith } from '../testing/kafka-job-harness.ts';
import {
  awaitJob,
  CAPACITY,
  recordTimeline,
  scoredJobSpec,
  scoringService,
  SteppedProducer,
  type ScenarioClick,
} from '../testing/autoscaler-scenario.ts';

const PARTITIONS = 12;
const WINDOW_S = 10;
const POLICY = {
  enabled: true,
  minReplicas: 1,
  maxReplicas: 6,
  targetUtilization: 0.7,
  utilizationBoundary: 0.2,
  metricsWindow: `${WINDOW_S}s`,
  stabilization: '10s',
  scaleDownDelay: '20s',
  catchUpDuration: '60s',
};
// Half the bench's per-slot rate (its calls take 50 ms, not 25): the same decisions at half the records per
// second, so the job's CPU (Kafka, HTTP, another lane's test on the same two cores) leaves the measured capacity
// near the nominal one. Under that load at the bench's rates, the capacity measured 119-152 rec/s of 200, and the
// extra rescales it asked for left a backlog the test's drain window did not cover.
const LATENCY_MS = 50;
/** Per slot: CAPACITY calls in flight × (1000 ms / LATENCY_MS) = at most 100 scored clicks per second. */
const SLOT_RATE = (CAPACITY * 1000) / LATENCY_MS;
const LOW = 30;
// 150 / (100 × 0.7) = 2.1 → 3 slots at the nominal capacity, which hold it at 50 rec/s each; 2 or 4 slots
// where the measured capacity is a little higher or lower, both within the policy's band.
const HIGH = 150;
/** More than two slots take within the band (2 × 100 × 0.9). */
const PEAK = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const managers = (j: StreamJob) =>
  ((j.metadata as { managedFields?: { manager?: string; subresource?: string }[] }).managedFields ?? []).map(
    (f) => `${f.manager}${f.subresource ? `/${f.subresource}` : ''}`,
  );

describe('StreamJob autoscaler with the real runtime', () => {
  // The scenario's job records ~20–30 Events (5 per rescale, and some runs add slot exceptions): past
  // client-go's spam burst of 25 per object, which would hold back the budget's Event this test checks for. The
  // spam filter has its own test (kube/status-writer.int).
  const harness = harnessPerFile('sjauto', { in: PARTITIONS, out: 1, rec: 1 }, { eventSpamBurst: 100 });

  it('scales up on a rate step, drains the lag, scales down after the delay, keeps its budget: exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const scorer = await scoringService(LATENCY_MS);
    const producer = inputProducer(kafka);
    await producer.connect();
    const feed = new SteppedProducer(producer, h.topics.in!, PARTITIONS, LOW);
    const app = await clicksApp();
    const job = (name: string, output: string, autoscaler: Record<string, unknown>) =>
      h.createJob(
        name,
        scoredJobSpec({
          app,
          brokers,
          input: h.topics.in!,
          output,
          group: `g-${name}-${id}`,
          scorerUrl: scorer.url,
          autoscaler: { ...POLICY, ...autoscaler },
        }),
      );
    const timelineStart = Date.now();
    const timeline = recordTimeline(kube, ns, 'scored', feed);
    try {
      await job('scored', h.topics.out!, { mode: 'Scale', maxRescalesPerHour: 5 });
      await job('advice', h.topics.rec!, { mode: 'Recommend' });
      const first = await runningWith(kube, ns, 'scored', 1, undefined, 180_000);
      await runningWith(kube, ns, 'advice', 1, undefined, 180_000);

      // Low rate: one slot is enough; the autoscaler decides and holds.
      await awaitJob(
        kube,
        ns,
        'scored',
        'a first recommendation of 1',
        (j) => (j.status?.autoscaler?.recommendedReplicas === 1 ? j : undefined),
        60_000,
      );

      // Up: more than one slot can score. Within two metric windows (plus a decision's cadence) of the step.
      feed.rate = HIGH;
      const stepAt = Date.now();
      const up = await awaitJob(
        kube,
        ns,
        'scored',
        'a scale-up',
        (j) => (j.spec.replicas > 1 ? j : undefined),
        (2 * WINDOW_S + 10) * 1000,
      );
      const upAfterS = (Date.now() - stepAt) / 1000;
      const upTo = up.spec.replicas;
      console.log(`scale-up after ${upAfterS.toFixed(1)} s: ${JSON.stringify(up.status?.autoscaler)}`);
      // The policy's promise: the slots take the rate within the utilization band (target + boundary). Not at
      // the target itself: the rate is measured (the producer in this process falls short of HIGH under another
      // lane's load, the window straddles the step), and 2 slots at 75 % busy are a scale-up the band holds.
      const band = POLICY.targetUtilization + POLICY.utilizationBoundary;
      expect(upTo * SLOT_RATE * band, 'enough slots for the rate within the utilization band').toBeGreaterThanOrEqual(
        HIGH,
      );
      expect(upTo).toBeLessThanOrEqual(6);
      expect(PARTITIONS % upTo, 'a replica count that divides the partitions').toBe(0);
      expect(managers(up)).toContain('tributary-autoscaler/scale');
      const decisionUp = up.status?.autoscaler?.decisions?.at(-1);
      expect(decisionUp?.action).toBe('ScaleUp');
      expect(decisionUp?.reason).toMatch(/rec\/s/);
      const scaled = await runningWith(kube, ns, 'scored', upTo, first.status?.deployed?.id, 180_000);
      const scaledAt = Date.now();

      // Recommend mode: the same need, reported, nothing changed. The same rules at the same replicas
      // and input come to at least what the Scale job scaled to (its lag grows on); its first
      // recommendation may come a window earlier, with less lag, so it is awaited, not read once.
      const advice = await awaitJob(
        kube,
        ns,
        'advice',
        `a recommendation of at least ${upTo}`,
        (j) => ((j.status?.autoscaler?.recommendedReplicas ?? 0) >= upTo ? j : undefined),
        60_000,
      );
      expect(advice.spec.replicas).toBe(1);
      const adviceTo = advice.status?.autoscaler?.decisions?.filter((d) => d.action === 'Recommend').at(-1)?.to;
      expect(adviceTo).toBeGreaterThanOrEqual(upTo);
      expect(advice.status?.autoscaler?.decisions?.at(-1)?.action).toBe('Recommend');
      expect(managers(advice)).not.toContain('tributary-autoscaler/scale');

      // The backlog built up meanwhile drains within catchUpDuration (60 s) of the rescale.
      await awaitJob(
        kube,
        ns,
        'scored',
        'the lag drained',
        (j) => {
          const a = j.status?.autoscaler;
          return a?.inputs && a.inputs.windowSeconds > 0 && a.inputs.lag < HIGH ? j : undefined;
        },
        60_000 + WINDOW_S * 1000,
      );
      const drainedS = (Date.now() - scaledAt) / 1000;

      // Down: only after scaleDownDelay (20 s) of decisions for fewer.
      feed.rate = LOW;
      const dropAt = Date.now();
      const scaleDown = (j: StreamJob) =>
        j.status?.autoscaler?.decisions?.find((d) => d.action === 'ScaleDown' && Date.parse(d.time) >= dropAt);
      // The decision is recorded, then carried out through the scale subresource: wait for both.
      const down = await awaitJob(
        kube,
        ns,
        'scored',
        'a scale-down',
        (j) => (scaleDown(j) !== undefined && j.spec.replicas === scaleDown(j)?.to ? j : undefined),
        120_000,
      );
      const downAfterS = (Date.now() - dropAt) / 1000;
      expect(downAfterS, 'not before the scale-down delay').toBeGreaterThanOrEqual(20);
      // Fewer than it ran with before (the way up may have taken a second scale-up: not fewer than upTo).
      expect(down.spec.replicas).toBeLessThan(scaleDown(down)!.from);
      const settled = await runningWith(kube, ns, 'scored', down.spec.replicas, scaled.status?.deployed?.id, 180_000);

      // The budget: the rescales made so far, set in place (no pod replaced); every further one is one too many.
      const before = await getJob(kube, ns, 'scored');
      const budget = before.status?.autoscaler?.rescaleTimes?.length ?? 0;
      expect(budget).toBeGreaterThanOrEqual(2);
      await kube.patch(StreamJobs, ns, 'scored', { spec: { autoscaler: { maxRescalesPerHour: budget } } });

      // Noisy, then more than the slots can take: the rate flips between LOW and PEAK every 5 s, then stays at
      // PEAK. The budget (all spent) holds: the autoscaler says it would scale up, and does not.
      const noisyFrom = Date.now();
      let budgetHeld: string | undefined;
      for (let i = 0; budgetHeld === undefined && Date.now() - noisyFrom < 90_000; i++) {
        feed.rate = i < 4 && i % 2 === 1 ? LOW : PEAK;
        const until = Date.now() + 5_000;
        while (budgetHeld === undefined && Date.now() < until) {
          const j = await getJob(kube, ns, 'scored');
          budgetHeld = j.status?.autoscaler?.decisions?.find((d) =>
            d.reason.includes(`maxRescalesPerHour ${budget}`),
          )?.reason;
          await sleep(500);
        }
      }
      feed.rate = LOW;
      expect(budgetHeld, 'a decision held back by the budget').toBeDefined();
      const end = await getJob(kube, ns, 'scored');
      const rescales = end.status?.autoscaler?.rescaleTimes ?? [];
      expect(rescales).toHaveLength(budget);
      expect(end.spec.replicas).toBe(before.spec.replicas);
      expect(timeline.points.filter((p) => p.t * 1000 >= noisyFrom - timelineStart).map((p) => p.replicas)).toEqual(
        timeline.points.filter((p) => p.t * 1000 >= noisyFrom - timelineStart).map(() => before.spec.replicas),
      );
      const events = (await kube.list<KubeObject & { reason?: string }>(Resources.Event, ns)).items;
      expect(events.map((e) => e.reason)).toEqual(
        expect.arrayContaining(['AutoscalerScaleUp', 'AutoscalerScaleDown', 'AutoscalerBudgetExhausted']),
      );
      const deployments = new Set(timeline.points.map((p) => p.deployed).filter((d) => d !== undefined));
      console.log(
        `autoscaler: up to ${upTo} ${upAfterS.toFixed(1)} s after the step; lag drained ${drainedS.toFixed(1)} s ` +
          `after the rescale; down to ${down.spec.replicas} ${downAfterS.toFixed(1)} s after the drop; ` +
          `Recommend job: ${JSON.stringify(advice.status?.autoscaler?.decisions?.map((d) => `${d.action} ${d.from}→${d.to}`))}; ` +
          `${rescales.length} rescales in all (budget ${budget}; held: ${budgetHeld}); parallelisms seen ${[...deployments].join(', ')}; ` +
          `decisions: ${JSON.stringify(end.status?.autoscaler?.decisions?.map((d) => `${d.action} ${d.from}→${d.to}`))}`,
      );
      void settled;

      // Exactly once across every rescale: every id produced is in the output once, scored.
      const sent = await feed.stop();
      await awaitJob(
        kube,
        ns,
        'scored',
        'the backlog processed',
        (j) => ((j.status?.autoscaler?.inputs?.lag ?? Infinity) === 0 ? j : undefined),
        90_000,
      ).catch(() => undefined);
      const out = await waitForIds(brokers, h.topics.out!, sent, 90_000);
      const ids = out.map((r) => String(r.id));
      const diff = deliveryDiff(
        Array.from({ length: sent }, (_, i) => String(i)),
        ids,
      );
      expect({
        missing: diff.missing.length,
        duplicated: diff.duplicated.length,
        unexpected: diff.unexpected.length,
      }).toEqual({ missing: 0, duplicated: 0, unexpected: 0 });
      expect(out.filter((r) => r.score !== r.user.length)).toEqual([]);
      expect(scorer.maxInFlight).toBeLessThanOrEqual(CAPACITY * 6 + CAPACITY);
    } finally {
      await timeline.stop();
      await feed.stop();
      await producer.disconnect();
      await scorer.close();
      for (const n of ['scored', 'advice']) await kube.delete(StreamJobs, ns, n).catch(() => undefined);
    }
  }, 900_000);
});

/** The output topic read by Kafka's Java read_committed consumer, once it holds `n` records (or the timeout). */
async function waitForIds(
  brokers: string,
  topic: string,
  n: number,
  timeoutMs: number,
): Promise<(ScenarioClick & { score: number })[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = (await readTopicWithJava(brokers, topic, 'read_committed')).map(
      (r) => JSON.parse(r.value) as ScenarioClick & { score: number },
    );
    if (got.length >= n || Date.now() > deadline) return got;
    await sleep(2_000);
  }
}
