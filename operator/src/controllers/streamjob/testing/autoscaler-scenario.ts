// TEST/BENCH-ONLY: the autoscaler's scenario on the local cluster, shared by its end-to-end test
// and its bench. Its capacity is not the CPU (two cores could not show CPU scaling): the job
// (examples/clicks-app/src/clicks-scored.ts) scores every click through an HTTP call with an
// async graph step of fixed per-slot capacity, against a scoring service here that answers after a
// fixed latency — so one slot scores at most capacity ÷ latency clicks per second. A producer
// whose rate the scenario steps feeds it, and a timeline records what the autoscaler saw and did.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Producer } from 'kafkajs';
import { parse } from 'yaml';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { ErrorCodes, OperatorError } from '../../../kube/errors.ts';
import type { KubeClient } from '../../../kube/index.ts';
import type { ClicksApp } from './clicks-app-image.ts';
import { waitFor } from '../../../kube/testing/cluster.ts';
import { getJob } from './kafka-job-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A scoring service on loopback: answers `{score}` after `latencyMs`; counts the calls it had in flight at most. */
export interface ScoringService {
  readonly url: string;
  readonly maxInFlight: number;
  readonly calls: number;
  close(): Promise<void>;
}

export async function scoringService(latencyMs: number): Promise<ScoringService> {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    calls++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '';
    setTimeout(() => {
      inFlight--;
      res.setHeader('content-type', 'application/json');
      // A deterministic score, so the output can be checked record by record.
      res.end(JSON.stringify({ score: user.length }));
    }, latencyMs);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/score`,
    get maxInFlight() {
      return maxInFlight;
    },
    get calls() {
      return calls;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Per slot: CAPACITY calls in flight × (1000 ms / LATENCY_MS) = at most 200 scored clicks per second. */
export const LATENCY_MS = 25;
export const CAPACITY = 5;
export const SLOT_RATE = (CAPACITY * 1000) / LATENCY_MS;

/** The shipped example the scenario runs: examples/clicks-app/streamjob-scored.yaml. */
const EXAMPLE = resolve(import.meta.dirname, '../../../../../examples/clicks-app/streamjob-scored.yaml');

/**
 * The shipped example's spec, as a user adapts it: its env values pointed at this cluster's Kafka, topics and
 * scoring service, the app image and module path of this cluster (clicks-app-image.ts), checkpoints every second,
 * and the autoscaler's fields overridden by `autoscaler` (short windows for a test). Every other field, and every
 * env variable the example sets, is the example's: one it lacks, or a new one it sets, fails here.
 */
export function scoredJobSpec(o: {
  app: ClicksApp;
  brokers: string;
  input: string;
  output: string;
  group: string;
  scorerUrl: string;
  autoscaler: Record<string, unknown>;
}): Record<string, unknown> {
  const example = parse(readFileSync(EXAMPLE, 'utf8')) as { spec: Record<string, unknown> };
  const spec = example.spec as {
    podTemplate: { env: { name: string; value: string }[] };
    autoscaler: Record<string, unknown>;
  } & Record<string, unknown>;
  const values: Record<string, string> = {
    CLICKS_BROKERS: o.brokers,
    CLICKS_INPUT: o.input,
    CLICKS_OUTPUT: o.output,
    CLICKS_GROUP: o.group,
    CLICKS_SCORE_URL: o.scorerUrl,
    CLICKS_SCORE_CAPACITY: String(CAPACITY),
  };
  const names = spec.podTemplate.env.map((e) => e.name).sort();
  if (JSON.stringify(names) !== JSON.stringify(Object.keys(values).sort()))
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      `${EXAMPLE} sets env ${names.join(', ')}; the scenario knows ${Object.keys(values).join(', ')}`,
    );
  const { image: _image, ...rest } = spec;
  return {
    ...rest,
    ...(o.app.image ? { image: o.app.image } : {}),
    checkpointing: { interval: '1s', retained: 2 },
    savepoints: { timeout: '60s' },
    job: { module: o.app.module('clicks-scored.ts') },
    podTemplate: {
      ...spec.podTemplate,
      env: spec.podTemplate.env.map((e) => ({ name: e.name, value: values[e.name] })),
    },
    autoscaler: { ...spec.autoscaler, ...o.autoscaler },
  };
}

/** A click of the scenario; `id` makes every input record unique, so loss and duplicates can be counted. */
export interface ScenarioClick {
  id: number;
  user: string;
  amount: number;
  ts: number;
}

/** Produces clicks at a rate the scenario changes (records per second, sent every 100 ms); ids 0, 1, 2, … */
export class SteppedProducer {
  rate: number;
  private next = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(producer: Producer, topic: string, partitions: number, rate: number) {
    this.rate = rate;
    this.loop = this.produce(producer, topic, partitions);
  }

  private async produce(producer: Producer, topic: string, partitions: number): Promise<void> {
    const t0 = Date.now();
    let owed = 0;
    for (let tick = 1; this.running; tick++) {
      owed += this.rate / 10;
      const n = Math.floor(owed);
      owed -= n;
      if (n > 0) {
        const messages = Array.from({ length: n }, (_, k) => {
          const id = this.next + k;
          const c: ScenarioClick = { id, user: `u${id % 97}`, amount: (id % 7) + 1, ts: Date.now() };
          return { key: c.user, partition: id % partitions, value: JSON.stringify(c) };
        });
        await producer.send({ topic, messages });
        this.next += n;
      }
      // Keep to the schedule (a slow send is caught up, not lost).
      const wait = t0 + tick * 100 - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }

  /** Records sent so far (ids 0 … sent-1). */
  get sent(): number {
    return this.next;
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.loop;
    return this.next;
  }
}

/** One second of the scenario: what was fed, what the autoscaler saw, what runs. */
export interface TimelinePoint {
  /** Seconds since the scenario started. */
  t: number;
  /** Records per second the producer was set to. */
  rate: number;
  /** Lag the autoscaler last reported (status.autoscaler.inputs.lag). */
  lag?: number;
  /** Its last recommendation. */
  recommended?: number;
  /** spec.replicas and the parallelism deployed. */
  replicas: number;
  deployed?: number;
}

/** Samples the job once per second until stopped; `points` grows as it goes. */
export function recordTimeline(kube: KubeClient, ns: string, name: string, feed: SteppedProducer) {
  const points: TimelinePoint[] = [];
  const t0 = Date.now();
  let running = true;
  let last: StreamJob | undefined;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const j = await getJob(kube, ns, name).catch(() => undefined);
      if (j) last = j;
      const a = j?.status?.autoscaler;
      points.push({
        t: Math.round((at - t0) / 100) / 10,
        rate: feed.rate,
        ...(a?.inputs ? { lag: a.inputs.lag } : {}),
        ...(a?.recommendedReplicas !== undefined ? { recommended: a.recommendedReplicas } : {}),
        replicas: j?.spec.replicas ?? NaN,
        ...(j?.status?.deployed?.parallelism !== undefined ? { deployed: j.status.deployed.parallelism } : {}),
      });
      await sleep(Math.max(0, at + 1000 - Date.now()));
    }
  })();
  return {
    points,
    get last() {
      return last;
    },
    async stop(): Promise<TimelinePoint[]> {
      running = false;
      await loop;
      return points;
    },
  };
}

/** Waits for `pred` on the job, polling every 500 ms; the error names what was awaited and the autoscaler status. */
export async function awaitJob<T>(
  kube: KubeClient,
  ns: string,
  name: string,
  what: string,
  pred: (j: StreamJob) => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  let j: StreamJob | undefined;
  try {
    return await waitFor(
      `${name}: ${what}`,
      async () => {
        j = await getJob(kube, ns, name);
        return pred(j);
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      `${name}: ${what} not within ${timeoutMs / 1000} s; replicas ${j?.spec.replicas}, autoscaler ` +
        JSON.stringify(j?.status?.autoscaler ?? null),
      { cause: err },
    );
  }
}
