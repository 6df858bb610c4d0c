// The kafkajs consumer of a Kafka source slot, on whichever thread runs it (the slot's own, or
// its fetch thread: fetch-thread.ts). It reads exactly the partitions it is given, each sought
// to a start offset, and hands every fetch to a FetchHandler: records are never decoded here.
// Where the records go, and when there is room for more, is the handler's business; this loop
// only waits for room before it resolves a batch's offsets and fetches on, so a slow slot
// bounds what is fetched ahead.
//
// A fetch whose records were all filtered out (transaction markers, aborted records) never
// reaches eachBatch; kafkajs reports it as an empty batch (START_BATCH_PROCESS), and it is
// handed over the same way with no records, since its offsets are consumed all the same.
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import type { Consumer, Kafka as KafkaClient } from 'kafkajs';
import { BrokerReachability } from './broker-reachability.ts';
import type { FetchedRecords } from './fetched-records.ts';
import { kafkajsRecords, NO_RECORDS } from './fetched-records.ts';
import { slotAssigner } from './slot-assigner.ts';

/** What a consumer loop reads: the same on either thread (it crosses to a fetch thread as is). */
export interface ConsumerLoopOptions {
  topic: string;
  brokers: string[];
  groupId: string;
  /** Partition → the first offset to fetch. */
  seeks: [number, bigint][];
  /** Brokers unreachable this long (ms) fail the loop (BrokerReachability); default 30 s. */
  unreachableMs?: number;
  /** The group's session timeout; default kafkajs's 30 s (tests shorten it to see an eviction sooner). */
  sessionTimeoutMs?: number;
}

/**
 * How often a batch waiting for room calls kafkajs's heartbeat(), which sends one only when its
 * interval (3 s by default) is due.
 */
const HEARTBEAT_CHECK_MS = 500;

export interface FetchHandler {
  /**
   * A fetch of `partition`: its records (maybe none), the log end it reported, and the last
   * offset it covered (null for a fetch with no raw record at all, whose high watermark may lie
   * past an open transaction under read_committed: not consumed).
   */
  fetched(partition: number, highWatermark: bigint, lastOffset: bigint | null, records: FetchedRecords): void;
  /** Undefined while more may be fetched for `partition`; else resolves when that may have changed. */
  room(partition: number): Promise<void> | undefined;
  /** The consumer failed for good (kafkajs will not restart it, or its brokers stayed away). */
  failed(err: unknown): void;
  /** Its brokers refused or dropped it since `sinceMs` (epoch ms); kafkajs restarts it within the bound. */
  unreachable?(sinceMs: number, err: unknown): void;
  /** A fetch answered again after unreachable(). */
  reachable?(): void;
  /** The loop stops: resolve what room() handed out, so a waiting batch sees it and gives up. */
  stopping(): void;
}

export class ConsumerLoop {
  private readonly consumer: Consumer;
  private readonly opts: ConsumerLoopOptions;
  private readonly handler: FetchHandler;
  private stopped = false;
  /** Partitions paused by alignment, and those kafkajs has paused (applied when its group runs). */
  private paused = new Set<number>();
  private kafkaPaused = new Set<number>();
  /** Partition → the next offset to fetch: its seek offset, then past each fetch handed over. */
  private readonly next: Map<number, bigint>;

  constructor(kafka: KafkaClient, opts: ConsumerLoopOptions, handler: FetchHandler) {
    this.opts = opts;
    this.handler = handler;
    this.next = new Map(opts.seeks);
    const parts = opts.seeks.map(([p]) => p);
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      ...(opts.sessionTimeoutMs === undefined
        ? {}
        : { sessionTimeout: opts.sessionTimeoutMs, heartbeatInterval: Math.floor(opts.sessionTimeoutMs / 10) }),
      partitionAssigners: [slotAssigner(opts.topic, parts)],
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // kafkajs restarts a crashed consumer on a timer of its own after its disconnect, and a stop()
      // under way does not cancel that: a consumer stopped while its run was starting (a partition
      // handed over, a slot drained, the job stopped, all while the group rebalances) crashed with
      // the connection it lost, restarted and fetched on for ever, holding the process's event loop
      // (docs/design/live-rescale.md). A stopped loop is never restarted; kafkajs's default
      // (retries: 5) is kept.
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(!this.stopped) },
    });
  }

  async start(): Promise<void> {
    const { consumer, handler, opts } = this;
    const { topic } = opts;
    await consumer.connect();
    // A stop while connecting: kafkajs's disconnect does not cancel a connect under way, and a run
    // started after it would fetch (and hold its sockets and timers) for ever.
    if (this.stopped) return this.leaveAgain();
    await consumer.subscribe({ topic, fromBeginning: true });
    if (this.stopped) return this.leaveAgain();
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      const b = e.payload;
      if (this.stopped || b.batchSize !== 0 || b.firstOffset === null) return;
      this.handOver(b.partition, BigInt(b.highWatermark), BigInt(b.lastOffset), NO_RECORDS);
    });
    // A rejoin (the session lost to a stalled event loop, the coordinator moved, a rebalance)
    // restarts kafkajs's positions from the group's committed offsets, or from the log's start
    // when there are none (as under checkpoints). The slot would drop what it accepted before,
    // but the whole log would be read again: every join seeks to where this loop is.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (this.stopped) return;
      for (const [partition, offset] of this.next) consumer.seek({ topic, partition, offset: offset.toString() });
    });
    const reach = new BrokerReachability(opts.unreachableMs);
    consumer.on(consumer.events.FETCH, () => {
      if (reach.reached()) handler.reachable?.();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.stopped) return;
      const gone = reach.crashed(e.payload.error, opts.brokers);
      if (!e.payload.restart || gone) handler.failed(gone ?? e.payload.error);
      else if (reach.since !== undefined) handler.unreachable?.(reach.since, e.payload.error);
    });
    void consumer
      .run({
        // Never: kafkajs would commit a batch once it is queued, ahead of the sinks (offset-commits.ts).
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const first = batch.firstOffset();
          this.handOver(
            batch.partition,
            BigInt(batch.highWatermark),
            first === null ? null : BigInt(batch.lastOffset()),
            kafkajsRecords(batch.messages),
          );
          this.applyPause();
          for (
            let w = handler.room(batch.partition);
            w && isRunning() && !isStale();
            w = handler.room(batch.partition)
          ) {
            await heartbeatUntil(w, heartbeat, isRunning);
          }
          if (first !== null) resolveOffset(batch.lastOffset());
          await heartbeat();
        },
      })
      .then(
        // A stop while the run joined its group: kafkajs's disconnect does not cancel the join, whose
        // connections (and their request timers) would outlive it, nor the runner it then starts.
        () => (this.stopped ? this.leaveAfterRun() : undefined),
        (e: unknown) => (this.stopped ? this.leaveAfterRun() : handler.failed(e)),
      );
    for (const [partition, offset] of opts.seeks) consumer.seek({ topic, partition, offset: offset.toString() });
  }

  /** A fetch to the handler; the loop's position moves past what it covered. */
  private handOver(partition: number, highWatermark: bigint, lastOffset: bigint | null, records: FetchedRecords): void {
    this.handler.fetched(partition, highWatermark, lastOffset, records);
    if (lastOffset !== null) this.next.set(partition, lastOffset + 1n);
  }

  /** Fetches exactly the partitions not in `partitions` (watermark alignment). */
  setPaused(partitions: readonly number[]): void {
    this.paused = new Set(partitions);
    this.applyPause();
  }

  /** Makes kafkajs fetch exactly the partitions not paused (it refuses before its group runs: retried per batch). */
  private applyPause(): void {
    const { topic } = this.opts;
    const pause = [...this.paused].filter((p) => !this.kafkaPaused.has(p));
    const resume = [...this.kafkaPaused].filter((p) => !this.paused.has(p));
    if (pause.length === 0 && resume.length === 0) return;
    try {
      if (pause.length > 0) this.consumer.pause([{ topic, partitions: pause }]);
      if (resume.length > 0) this.consumer.resume([{ topic, partitions: resume }]);
      this.kafkaPaused = new Set(this.paused);
    } catch {
      // The consumer group is not running yet: the next batch applies it.
    }
  }

  /**
   * Stops fetching: kafkajs's run loop ends first (isRunning() turns false, so a batch waiting
   * for room gives up once its handler's room() resolves), then the group is left.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    const stopping = this.consumer.disconnect(); // isRunning() turns false at once
    this.handler.stopping();
    await stopping;
  }

  /** A start that met stop() between its steps: what the connect opened after stop()'s disconnect is closed too. */
  private async leaveAgain(): Promise<void> {
    await this.consumer.disconnect();
  }

  /** The same after the run's start settled; a disconnect that fails then has nothing left it could close. */
  private leaveAfterRun(): Promise<void> {
    return this.leaveAgain().catch(() => undefined);
  }
}

/**
 * Waits for `room`, heartbeating meanwhile. A slot withholds room for as long as its sink is
 * backpressured, and a member silent past its session timeout is evicted from its group.
 */
async function heartbeatUntil(
  room: Promise<void>,
  heartbeat: () => Promise<void>,
  isRunning: () => boolean,
): Promise<void> {
  let ready = false;
  const done = room.then(() => {
    ready = true;
  });
  while (!ready && isRunning()) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, HEARTBEAT_CHECK_MS)))]);
    clearTimeout(timer);
    if (!ready && isRunning()) await heartbeat();
  }
  // Not ready and not running: the caller's loop sees isRunning() and gives the batch up.
}
