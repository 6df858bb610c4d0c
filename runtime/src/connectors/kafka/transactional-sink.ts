// Exactly-once Kafka sink: two-phase commit driven by checkpoints (Flink's KafkaSink with
// DeliveryGuarantee.EXACTLY_ONCE, on kafkajs 2.2.4).
//
// Transactions. Records between barrier N−1 and barrier N of a slot go into one Kafka
// transaction ("epoch N"). kafkajs allows one open transaction per producer, and epoch N
// stays open until checkpoint N completes while epoch N+1 is already being written, so each
// slot keeps a pool of transactional producers with deterministic ids
//     <prefix>-<slot>-<k>           k = 0, 1, 2, … (normally 2 are in use)
//   * preCommit (at the barrier): the epoch's sends are awaited (flushed into the open
//     transaction) and the epoch becomes a committable {transactionalId, producerId,
//     producerEpoch, checkpointId}, stored in the checkpoint metadata. Every pre-committed,
//     uncommitted transaction is reported again at later barriers (an aborted checkpoint's
//     data is committed with the next completed one, as in Flink).
//   * notifyCheckpointComplete(N): commits every transaction of checkpoints ≤ N
//     (producer.transaction().commit(), public API). The id then gets a NEW producer session
//     (a new kafkajs producer: InitProducerId bumps the epoch) before it carries another
//     transaction. Invariant: a (transactionalId, producerId, epoch) triple names exactly one
//     transaction, so the recovery commit below can never commit a later transaction that
//     reused the id (kafkajs keeps pid and epoch across transactions of one producer).
//   * Records after the last barrier are aborted at close 'stopped' (a stop-with-savepoint or a
//     plain stop); pre-committed transactions are left to the recovery (close()); at the end of a
//     bounded input (close 'finished') everything left is committed — with checkpointing
//     nothing is left: the job's final checkpoint pre-committed and committed the last
//     records before the sinks close (docs/runtime/checkpoint-format.md); after a failure or a
//     simulated crash (close 'failed') nothing is committed or aborted.
//
// Recovery (open with restored committables): the transactions recorded in the restored
// checkpoint were prepared; whether their commit happened before the crash is unknown, and
// the checkpoint completed, so they must be committed: EndTxn(COMMIT) with the recorded
// producer id and epoch. kafkajs has no public "resume transaction" and does not expose a
// producer's id and epoch, so this uses two kafkajs internals, both checked at run time (the
// transaction coordinator's `endTxn` through kafkajs's private Cluster, as Flink's
// resumeTransaction does by reflection; the id and epoch from kafkajs's own debug line after
// InitProducerId, through a per-producer logCreator): docs/runtime/checkpoint-format.md,
// "Exactly-once Kafka sink".
// PRODUCER_FENCED counts as committed only for no fenced deployment's orphan (restored-orphan.ts),
// else TRIB_SINK_TXN_FENCED; INVALID_TXN_STATE (committed, or aborted by the transaction timeout)
// is logged as an error (docs/guarantees.md). Then every id an earlier run may have left open is fenced.
//
// Metrics (transaction-metrics.ts): a transaction counts as begun when its first records are
// flushed into it, committed or aborted when that happens (a recovery that fences a dead
// run's open transaction counts the abort, with the bytes that run's open-transactions file
// last recorded); a job that fails leaves its transactions to the recovery and counts nothing.
import { scopedKafkaId } from './id-scope.ts';
import { BROKERS_UNREACHABLE_FAIL_MS } from './broker-reachability.ts';
import { brokerList, clientBounds, namingBounds, type ClientBounds } from './client.ts';
import { untilBrokersAnswer } from './broker-wait.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { Message, Transaction } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import { compileExpr, type CompiledExpr } from '../../expr/cel.ts';
import type { KafkaSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../api.ts';
import { OpenTransactionsFile, type OpenTxn } from './open-transactions-file.ts';
import { appendMessages, describeSendFailure, payloadBytes, splitForSend } from './record-messages.ts';
import { RegistryEncoding } from './registry-encoding.ts';
import { commitRestored, transactionalClient, type KafkaCommittable } from './transactional-client.ts';
import { restoredOrphan } from './restored-orphan.ts';
import { TransactionMetrics, type TxnContent } from './transaction-metrics.ts';
import { intentDirs, TransactionalProducers, type TxnProducer } from './transactional-producers.ts';
import { sinkRequests, type UnansweredRequests } from './unanswered-requests.ts';

export type { KafkaCommittable } from './transactional-client.ts';

const FLUSH_RECORDS = 2000;
const LINGER_MS = 20;
const MAX_QUEUED_SENDS = 4;
/** Broker default transaction.max.timeout.ms; a transaction must outlive a checkpoint interval plus recovery. */
const DEFAULT_TXN_TIMEOUT_MS = 900_000;

interface Epoch extends TxnContent {
  ready: Promise<{ p: TxnProducer; txn: Transaction }>;
  /** Serial chain of sends (one producer, ordered). */
  chain: Promise<void>;
  queued: number;
  /** When the transaction began (epoch ms). */
  began: number;
  /** Its producer's id, once acquired (before that nothing of it reached Kafka). */
  transactionalId?: string;
}

interface Prepared {
  checkpointId: number;
  p: TxnProducer;
  txn: Transaction;
  committable: KafkaCommittable;
  content: Epoch;
}

export class TransactionalKafkaSink implements SinkWriter {
  private readonly spec: KafkaSinkSpec;
  /** kafkajs's request timeout and retries (`requestTimeout`, `retries`) of every client of this sink. */
  private readonly bounds: ClientBounds;
  private readonly key: CompiledExpr | undefined;
  private readonly encoding: RegistryEncoding; // the value's format (registry formats: the codec)
  readonly checkRecord: RegistryEncoding['check'];
  private ctx!: SinkWriterContext;
  private producers!: TransactionalProducers;
  private pendingMsgs: Message[] = [];
  /** Arrival groups of pendingMsgs (TxnContent.arrivals). */
  private pendingArrivals: number[] = [];
  private metrics!: TransactionMetrics;
  private openFile: OpenTransactionsFile | undefined;
  private epoch: Epoch | undefined;
  private prepared: Prepared[] = [];
  private linger: NodeJS.Timeout | undefined;
  private failure: unknown;
  /** After close nothing may touch Kafka again (an in-process crash must leave no zombie work behind). */
  private closed = false;
  private committing: Promise<void> = Promise.resolve();
  /** The last pre-commit (they complete in order). */
  private preCommits: Promise<void> = Promise.resolve();
  /** Warns and reports an outage while sends, producer starts and commits wait for brokers that do not answer. */
  private waits!: UnansweredRequests;

  constructor(spec: KafkaSinkSpec) {
    this.spec = spec;
    this.bounds = clientBounds(spec);
    this.key = spec.key ? compileExpr(spec.key) : undefined;
    this.checkRecord = (this.encoding = new RegistryEncoding(spec)).check;
  }

  private get timeoutMs(): number {
    return this.spec.transactionTimeoutMs ?? DEFAULT_TXN_TIMEOUT_MS;
  }

  async open(ctx: SinkWriterContext): Promise<void> {
    this.ctx = ctx;
    if (!ctx.checkpointing)
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${ctx.sinkName}": exactly-once delivery needs checkpointing (or set delivery: at-least-once)`,
      );
    const prefix = scopedKafkaId(
      ctx.kafkaIdScope,
      this.spec.transactionalIdPrefix ?? `tributary-${ctx.jobName ?? 'job'}-${ctx.sinkName}`,
    );
    await this.encoding.open(ctx); // the writer schema's id, before any transaction
    this.metrics = new TransactionMetrics(ctx.registry, ctx.sinkName, ctx.slot, () => this.oldestOpenSince());
    this.waits = sinkRequests(ctx, this.spec.brokers, this.bounds);
    this.producers = new TransactionalProducers({
      brokers: this.spec.brokers,
      prefix,
      ...intentDirs(ctx.checkpointing, prefix),
      timeoutMs: this.timeoutMs,
      bounds: this.bounds,
      ctx,
      isClosed: () => this.closed,
      waits: this.waits,
    });
    await this.producers.init();
    try {
      // Idempotent (a restart runs it again): brokers away at start are waited for, within the bound.
      await untilBrokersAnswer(() => this.recover(ctx.restoredCommittables ?? []), {
        component: `sink "${ctx.sinkName}"`,
        brokers: brokerList(this.spec.brokers).join(','),
        what: 'recovering its Kafka transactions',
        boundMs: parseDuration(this.spec.brokerUnreachableTimeout) ?? BROKERS_UNREACHABLE_FAIL_MS,
        boundName: 'brokerUnreachableTimeout',
        logger: ctx.logger,
        ...(ctx.reportOutage ? { report: ctx.reportOutage } : {}),
      });
    } catch (e) {
      if (e instanceof TributaryError) throw e;
      throw new TributaryError(
        'TRIB_SINK_COMMIT_FAILED',
        `sink "${ctx.sinkName}": recovery of Kafka transactions failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /**
   * Commit the restored committables, then fence every id an earlier run of the slots mapped to this one may have left
   * open.
   */
  private async recover(committables: readonly unknown[]): Promise<void> {
    const log = this.ctx.logger;
    let committed = new Set<string>();
    if (committables.length > 0) {
      const kafka = transactionalClient(
        this.spec.brokers,
        `tributary-${this.ctx.sinkName}-${this.ctx.slot}-recovery`,
        log,
        {},
        this.bounds,
      );
      committed = await commitRestored(
        kafka,
        committables as KafkaCommittable[],
        log,
        { sink: this.ctx.sinkName, slot: this.ctx.slot },
        this.timeoutMs,
        () => restoredOrphan(this.ctx.checkpointing?.restoredFrom),
      );
      for (let i = 0; i < committed.size; i++) this.metrics.committedRestored();
    }
    // Commit-before-fence holds: the same slot fences, after the commits above.
    await this.producers.fenceEarlierRuns(committed, (bytes) => this.metrics.aborted('recovery', bytes));
    this.openFile = new OpenTransactionsFile(
      this.producers.intentDir,
      this.ctx.slot,
      () => this.openTransactions(),
      log,
    );
  }

  get backpressured(): boolean {
    return (this.epoch?.queued ?? 0) >= MAX_QUEUED_SENDS;
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `sink "${this.ctx.sinkName}": transactional send to ${this.spec.topic} failed: ${(this.failure as Error).message}`,
        { cause: this.failure },
      );
    }
  }

  write(b: Batch): void {
    this.check();
    if (b.n > 0) {
      const now = Date.now();
      const a = this.pendingArrivals;
      if (a.length > 0 && a[a.length - 2] === now) a[a.length - 1] = (a[a.length - 1] as number) + b.n;
      else a.push(now, b.n);
    }
    appendMessages(b, this.pendingMsgs, this.encoding.value, this.key, this.encoding.key);
    if (this.pendingMsgs.length >= FLUSH_RECORDS) this.flush();
    else if (!this.linger && this.pendingMsgs.length > 0) this.linger = setTimeout(() => this.flush(), LINGER_MS);
  }

  private flush(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    if (this.pendingMsgs.length === 0) return;
    const messages = this.pendingMsgs;
    this.pendingMsgs = [];
    if (!this.epoch) {
      const ready = this.producers.acquire().then(async (p) => ({ p, txn: await p.producer.transaction() }));
      const epoch: Epoch = {
        ready,
        chain: ready.then(() => undefined),
        queued: 0,
        records: 0,
        bytes: 0,
        arrivals: [],
        began: Date.now(),
      };
      ready.then(
        ({ p }) => (epoch.transactionalId = p.id),
        () => undefined,
      );
      this.epoch = epoch;
      this.metrics.begun();
    }
    const e = this.epoch;
    e.records += messages.length;
    for (const m of messages) e.bytes += payloadBytes(m);
    for (const x of this.pendingArrivals) e.arrivals.push(x);
    this.pendingArrivals = [];
    this.openFile?.changed();
    for (const chunk of splitForSend(messages, FLUSH_RECORDS)) {
      e.queued++;
      e.chain = e.chain
        .then(() => e.ready)
        .then(({ txn }) => this.waits.send(txn, this.spec.topic, chunk))
        .then(
          () => undefined,
          (err: unknown) => {
            this.failure ??= namingBounds(describeSendFailure(err, chunk), this.bounds, this.spec.brokers);
          },
        )
        .finally(() => {
          e.queued--;
          this.ctx.wake();
        });
    }
  }

  async preCommit(checkpointId: number): Promise<readonly unknown[]> {
    this.flush();
    const e = this.epoch;
    this.epoch = undefined;
    // Pre-commits complete in barrier order: checkpoint N+1 (e.g. a finished task's final
    // snapshot, with no epoch of its own) must not report its list before N's transaction
    // is in it, or N+1 could complete without recording a transaction it then commits.
    const prev = this.preCommits;
    const mine = (async (): Promise<void> => {
      await prev;
      if (!e) return;
      await e.chain;
      this.check();
      const { p, txn } = await e.ready;
      this.prepared.push({
        checkpointId,
        p,
        txn,
        committable: { transactionalId: p.id, producerId: p.producerId, producerEpoch: p.producerEpoch, checkpointId },
        content: e,
      });
      this.ctx.logger.debug(
        {
          sink: this.ctx.sinkName,
          slot: this.ctx.slot,
          checkpointId,
          transactionalId: p.id,
          producerId: p.producerId,
          producerEpoch: p.producerEpoch,
          records: e.records,
        },
        'transaction pre-committed',
      );
    })();
    this.preCommits = mine.catch(() => undefined);
    await mine;
    this.check();
    // Only transactions of this checkpoint or earlier: a later one holds records after this barrier.
    return this.prepared.filter((x) => x.checkpointId <= checkpointId).map((x) => x.committable);
  }

  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const run = this.committing.then(() => this.commitUpTo(checkpointId));
    this.committing = run.catch(() => undefined);
    return run;
  }

  private async commitUpTo(checkpointId: number): Promise<void> {
    while (!this.closed && this.prepared.length > 0 && (this.prepared[0] as Prepared).checkpointId <= checkpointId) {
      const x = this.prepared[0] as Prepared;
      try {
        await this.waits.commit(x.txn, `committing transaction ${x.p.id} of checkpoint ${x.checkpointId}`);
        this.metrics.committed(x.content);
        this.ctx.logger.debug(
          { sink: this.ctx.sinkName, slot: this.ctx.slot, upTo: checkpointId, ...x.committable },
          'transaction committed',
        );
      } catch (e) {
        throw new TributaryError(
          'TRIB_SINK_COMMIT_FAILED',
          `sink "${this.ctx.sinkName}": commit of ${x.p.id} (checkpoint ${x.checkpointId}) failed: ` +
            (namingBounds(e, this.bounds, this.spec.brokers) as Error).message,
          { cause: e },
        );
      }
      this.prepared.shift();
      this.openFile?.changed();
      // A renewal that fails (e.g. CONCURRENT_TRANSACTIONS while the commit markers are still
      // being written) is retried once; if it fails again, the error surfaces only when the
      // producer is needed for a new transaction (acquire → send), not in a sink that has
      // nothing more to write (a finished task still answering checkpoints).
      const next = this.producers.renew(x.p).catch(async (e: unknown) => {
        if (this.closed) throw e;
        this.ctx.logger.warn(
          { sink: this.ctx.sinkName, slot: this.ctx.slot, transactionalId: x.p.id, err: (e as Error).message },
          'new producer session failed; retrying',
        );
        await new Promise((r) => setTimeout(r, 500));
        if (this.closed) throw e;
        return this.producers.create(x.p.id);
      });
      next.catch(() => undefined);
      this.producers.release(next);
    }
  }

  /**
   * Start of the oldest open transaction (prepared ones began before the current epoch); undefined when none or closed.
   */
  private oldestOpenSince(): number | undefined {
    if (this.closed) return undefined;
    return this.prepared[0]?.content.began ?? this.epoch?.began;
  }

  private openTransactions(): OpenTxn[] {
    const out: OpenTxn[] = this.prepared.map((x) => ({
      transactionalId: x.p.id,
      records: x.content.records,
      bytes: x.content.bytes,
    }));
    const e = this.epoch;
    if (e?.transactionalId !== undefined)
      out.push({ transactionalId: e.transactionalId, records: e.records, bytes: e.bytes });
    return out;
  }

  async close(outcome: CloseOutcome = 'finished'): Promise<void> {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    await this.committing;
    try {
      if (outcome === 'finished') {
        // End of input: no replay can follow, so what is left is committed.
        this.flush();
        const e = this.epoch;
        this.epoch = undefined;
        if (e) {
          await e.chain;
          this.check();
        }
        for (const x of this.prepared) {
          await this.waits.commit(x.txn, `committing transaction ${x.p.id} of checkpoint ${x.checkpointId}`);
          this.metrics.committed(x.content);
        }
        this.prepared = [];
        if (e) {
          await this.waits.commit((await e.ready).txn, 'committing the last transaction at the end of the input');
          this.metrics.committed(e);
        }
      } else if (outcome === 'stopped') {
        // The open epoch was never reported at a barrier, so no checkpoint records it: a restart
        // replays it; abort rather than leave it open. Pre-committed transactions stay open: they
        // were acknowledged in a checkpoint whose completion may not have reached this slot (slot 0
        // writes the metadata after this slot acknowledged and stopped) — the recovery commits them
        // when it restores that checkpoint, and fences (aborts) them otherwise.
        const e = this.epoch;
        this.epoch = undefined;
        this.pendingMsgs = [];
        this.pendingArrivals = [];
        const open: { txn: Transaction; content: TxnContent }[] = [];
        if (e) {
          await e.chain;
          open.push({ txn: (await e.ready).txn, content: e });
        }
        for (const t of open) {
          if (!t.txn.isActive()) continue;
          const aborted = await t.txn.abort().then(
            () => true,
            () => false,
          );
          if (aborted) this.metrics.aborted('stopped', t.content.bytes);
        }
        this.prepared = [];
      }
      // 'failed': leave transactions as they are (a crash); recovery commits or fences them.
    } finally {
      this.closed = true;
      this.waits.stop();
      this.metrics?.close();
      await this.openFile?.end(outcome === 'failed');
      await Promise.all([this.producers.closeAll(), this.encoding.close()]);
    }
  }
}
