// TEST-ONLY: the jobs the slot pod kill matrix (live-rescale-slot-kill.chaos.int) rescales, each with
// its input and its exactly-once verdict. rolling: Kafka → keyBy → rolling count → exactly-once Kafka
// (rescale-kill.ts's job and reference; input in chunks, the last ones held back until the job runs
// again at the target). window: Kafka with event times → keyBy → 1 s tumbling window → exactly-once
// Kafka (window-job.ts, as live-rescale-e2e.int's window case; input produced throughout), its verdict
// every window's count by Kafka's Java read_committed reader, after event time moved on at the target.
// growth: the rolling job while its topic gains partitions mid-rescale (growthRun).
import type { Kafka } from 'kafkajs';
import { waitFor } from '../../../kube/testing/cluster.ts';
import {
  BEFORE,
  CHUNKS,
  committedDiff,
  counts,
  killManifest,
  lastPerKey,
  watchOutput,
  writeChunks,
} from '../../../../../runtime/src/testing/rescale-kill.ts';
import { javaExactlyOnce, startWindowInput, windowGraph } from './window-job.ts';
import { GrowthInput } from '../../../../../runtime/src/testing/growth-input.ts';
import { growTopic } from '../../../../../runtime/src/testing/kafka-topics.ts';
import { deliveryDiff, readTopicWithJava } from '../../../../../test/harness/java-topic-reader.ts';

export type KillJobKind = 'rolling' | 'window' | 'growth';

/** One case's job: its graph, its input and, once it runs again at the target, its verdict. */
export interface KillJobRun {
  graph: unknown;
  /** Called once the job runs at the case's start: resolves when output shows (state before the rescale). */
  started(): Promise<void>;
  /** Called once the job runs again at the target: ends the input; `got` must equal `want`. */
  verdict(): Promise<{ got: unknown; want: unknown; detail: string }>;
  /**
   * Window job, logged at the kill (a diagnostic, not asserted): how far the output's event time is behind
   * the input's (ms: the newest input record's time minus the end of the newest committed window read).
   */
  eventTimeLagMs?(): number;
  /** Called right after `kubectl scale` (not awaited: the kill point must not be missed). */
  rescaling?(): Promise<void>;
  /** Releases the input and the readers (idempotent, in `finally`). */
  stop(): Promise<void>;
}

/** Chunks written while the job rescales; the rest once it runs again at the target. */
const GATE = CHUNKS - 4;
const WINDOW_KEYS = 40;
/** Partitions the growth job's topic gains as the rescale starts. */
const GROWN_BY = 4;

async function rollingRun(kafka: Kafka, brokers: string[], input: string, output: string): Promise<KillJobRun> {
  // State in every key group that moves before the job starts; then input throughout the rescale.
  await writeChunks(kafka, input, 0, BEFORE, 0);
  const watch = await watchOutput(kafka, output);
  let recovered: () => void = () => undefined;
  const gate = new Promise<void>((r) => (recovered = r));
  let writing: Promise<void> = Promise.resolve();
  let stopped = false;
  return {
    graph: killManifest(brokers, 'job', 1, input, output).spec.graph,
    async started() {
      writing = writeChunks(kafka, input, BEFORE, CHUNKS, 700, [GATE, gate]);
      writing.catch(() => undefined);
      await waitFor('output before the rescale', () => watch.size() > 0, 60_000, 100);
    },
    async verdict() {
      recovered();
      await writing;
      // Kafka's Java reader is the verdict: a record lost or counted twice never completes the output.
      await waitFor('every key at its last record', () => watch.has(lastPerKey), 60_000, 250).catch(() => undefined);
      const diff = await committedDiff(brokers, output);
      return {
        got: counts(diff),
        want: { missing: 0, duplicated: 0, unexpected: 0 },
        detail: JSON.stringify(diff).slice(0, 600),
      };
    },
    async stop() {
      recovered();
      if (stopped) return;
      stopped = true;
      await watch.stop();
    },
  };
}

async function windowRun(
  kafka: Kafka,
  brokers: string[],
  input: string,
  output: string,
  partitions: number,
  tag: string,
): Promise<KillJobRun> {
  const win = await startWindowInput({ kafka, input, output, partitions, readerGroup: `${tag}-r`, keys: WINDOW_KEYS });
  let finished = false;
  return {
    graph: windowGraph({ brokers: brokers.join(','), input, output, groupId: `${tag}-g` }),
    async started() {
      await waitFor('first windows', () => win.reader.arrivals.length > 0, 60_000, 100);
    },
    eventTimeLagMs() {
      const newest = Math.max(...win.reader.arrivals.map((a) => a.v.window_start));
      return win.rec(win.loop.sent - 1).ts - (newest + 1000);
    },
    async verdict() {
      // Event time moves on at the target: a watermark stuck (a floor never released, a restored
      // partition's watermark lost) would hold every later window back.
      const last = Math.max(...win.reader.arrivals.map((a) => a.v.window_start));
      const later = () => win.reader.arrivals.some((a) => a.v.window_start >= last + 2000);
      await waitFor('windows fire at the target', later, 60_000, 100);
      finished = true;
      const { want, check } = await win.finish();
      const { javaCheck } = await javaExactlyOnce(brokers.join(','), output, want);
      const exact = { missing: [], unexpected: [], dups: 0, count: want.length };
      return {
        got: { kafkajs: check, java: javaCheck },
        want: { kafkajs: exact, java: exact },
        detail: `${want.length} windows`,
      };
    },
    async stop() {
      if (finished) return;
      finished = true;
      await win.loop.stop().catch(() => undefined);
      await win.producer.disconnect().catch(() => undefined);
      await win.reader.close().catch(() => undefined);
    },
  };
}

/**
 * growth: the rolling job with partition discovery every 300 ms over GrowthInput (every key in one partition),
 * its topic gaining GROWN_BY partitions as the rescale starts, so they are found while slots hold, move and leave;
 * input keeps coming to every partition the topic has. A partition read by no slot shows as its keys' missing
 * counts; one read by a leaving slot and again after the restart, as duplicated ones.
 */
async function growthRun(kafka: Kafka, brokers: string[], input: string, output: string, partitions: number) {
  const data = new GrowthInput(kafka, input);
  await data.write(4, 0);
  const watch = await watchOutput(kafka, output);
  const graph = killManifest(brokers, 'job', 1, input, output).spec.graph;
  Object.assign(graph.sources[0]!.kafka, { partitionDiscoveryInterval: '300ms' });
  let stopped = false;
  let writing: Promise<void> = Promise.resolve();
  let grown: Promise<void> = Promise.resolve();
  const run: KillJobRun = {
    graph,
    async started() {
      writing = (async () => {
        while (!stopped) await data.write(1, 150);
      })();
      writing.catch(() => undefined);
      await waitFor('output before the rescale', () => watch.size() > 0, 60_000, 100);
    },
    rescaling() {
      grown = growTopic(kafka, input, partitions + GROWN_BY);
      grown.catch(() => undefined);
      return grown;
    },
    async verdict() {
      stopped = true;
      await writing;
      await grown;
      await data.write(4, 50); // the last chunks reach every partition the topic has
      await waitFor('every key at its last record', () => watch.has(data.lastPerKey()), 90_000, 250).catch(
        () => undefined,
      );
      const got = (await readTopicWithJava(brokers.join(','), output, 'read_committed')).map((r) => {
        const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
        return `${v.k}:${v.n}:${v.maxId}`;
      });
      const diff = deliveryDiff(data.expected, got);
      return {
        got: counts(diff),
        want: { missing: 0, duplicated: 0, unexpected: 0 },
        detail: JSON.stringify(diff).slice(0, 600),
      };
    },
    async stop() {
      stopped = true;
      await writing.catch(() => undefined);
      await watch.stop().catch(() => undefined);
    },
  };
  return run;
}

/** Starts the input of job `kind` on `input` (`partitions` partitions) and returns the run. */
export function startKillJob(
  kind: KillJobKind,
  o: { kafka: Kafka; brokers: string[]; input: string; output: string; partitions: number; tag: string },
): Promise<KillJobRun> {
  if (kind === 'growth') return growthRun(o.kafka, o.brokers, o.input, o.output, o.partitions);
  return kind === 'window'
    ? windowRun(o.kafka, o.brokers, o.input, o.output, o.partitions, o.tag)
    : rollingRun(o.kafka, o.brokers, o.input, o.output);
}
