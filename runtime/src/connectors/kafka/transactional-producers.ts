// The transactional producers of one slot of the exactly-once Kafka sink: a pool of kafkajs
// producers with deterministic ids `<prefix>-<slot>-<k>`, each used for one transaction per
// session, and the fencing of every id an earlier run may have left open.
//
// Fencing: InitProducerId on the same id bumps the epoch and aborts its open transaction, so
// a zombie producer can never commit later and read_committed readers are not blocked. Which
// ids to fence comes from a small intent file per slot under <stateDir>/kafka-txn/<prefix>/,
// written before a new id is first used (a crash after that point finds and fences it); old
// slot s is fenced by new slot s mod p, the same slot that commits its committables (the
// sink commits first, then fences). A restore from a checkpoint of another stateDir (`tributary
// run --restore <other>/checkpoints/chk-<n> --state-dir <mine>`) fences the ids of that folder's
// intent files too, read only: else a transaction the earlier run left open would block every
// read_committed reader of the topic until the broker's transaction timeout.
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { stateStoreFor } from '../../checkpoint/storage/state-store-for.ts';
import { childOf } from '../../checkpoint/storage/state-uri.ts';
import { TributaryError } from '../../errors.ts';
import type { SinkWriterContext } from '../api.ts';
import { keyPartitioner, type ClientBounds } from './client.ts';
import { readOpenTransactions, removeOpenTransactions } from './open-transactions-file.ts';
import { transactionalClient } from './transactional-client.ts';
import type { UnansweredRequests } from './unanswered-requests.ts';

export interface TxnProducer {
  id: string;
  kafka: KafkaClient;
  producer: Producer;
  producerId: string;
  producerEpoch: number;
  /** Its InitProducerId found an open transaction of this id, which the broker aborted (fenced). */
  fencedOpen: boolean;
}

export interface TransactionalProducersOptions {
  brokers: string[] | string;
  prefix: string;
  /** <stateDir>/kafka-txn/<prefix>: intent files (and the sink's open-transactions files). */
  intentDir: string;
  /** The same folder under the restored checkpoint's stateDir, when that is another one (only read). */
  restoredIntentDir?: string;
  timeoutMs: number;
  /** kafkajs's request timeout and retries of each producer's client. */
  bounds: ClientBounds;
  ctx: SinkWriterContext;
  /** After the sink closed nothing may touch Kafka again. */
  isClosed: () => boolean;
  /** Watches each producer's start (connect, InitProducerId) while it waits for the brokers. */
  waits?: UnansweredRequests;
}

/** The sink's intent folders: `<stateDir>/kafka-txn/<prefix>`, and the restored run's when that is another stateDir. */
export function intentDirs(
  c: { readonly stateDir: string; readonly restoredStateDir?: string },
  prefix: string,
): { intentDir: string; restoredIntentDir?: string } {
  const under = (dir: string): string => childOf(dir, 'kafka-txn', encodeURIComponent(prefix));
  return c.restoredStateDir
    ? { intentDir: under(c.stateDir), restoredIntentDir: under(c.restoredStateDir) }
    : { intentDir: under(c.stateDir) };
}

export class TransactionalProducers {
  readonly intentDir: string;
  private readonly o: TransactionalProducersOptions;
  /** Producers ready for a new transaction (fresh sessions), possibly still initializing. */
  private readonly pool: Promise<TxnProducer>[] = [];
  private readonly all: TxnProducer[] = [];
  private nextIndex = 0;
  /** Highest index recorded in this slot's intent file. */
  private intentMax = -1;
  /** The last intent-file write: the next one starts after it. */
  private intentWrite: Promise<void> = Promise.resolve();
  /** Producers being created (connect, InitProducerId): closeAll waits for them too. */
  private readonly creating = new Set<Promise<unknown>>();
  private closed = false;

  constructor(o: TransactionalProducersOptions) {
    this.o = o;
    this.intentDir = o.intentDir;
  }

  /** Nothing to prepare: the store creates folders as files are written; kept for the sink's lifecycle. */
  async init(): Promise<void> {
    await Promise.resolve();
  }

  /**
   * Fences every id of the earlier runs' slots mapped to this one. `committed` are ids the
   * recovery just committed (their InitProducerId may still meet the commit in progress,
   * which is not an abort); `onAborted` gets the bytes of each open transaction fenced.
   */
  async fenceEarlierRuns(committed: ReadonlySet<string>, onAborted: (bytes: number) => void): Promise<void> {
    // The restored run's ids first: fencing one of them again later would fence a producer pooled below.
    if (this.o.restoredIntentDir) await this.fenceIn(this.o.restoredIntentDir, false, committed, onAborted);
    await this.fenceIn(this.intentDir, true, committed, onAborted);
    if (this.intentMax >= 0)
      this.o.ctx.logger.info(
        { sink: this.o.ctx.sinkName, slot: this.o.ctx.slot, fenced: this.intentMax + 1 },
        'fenced earlier transactional producers',
      );
  }

  /**
   * Fences the ids of every intent file in `dir` of an old slot mapped to this one. Only this run's
   * own folder (`own`) is changed: its fenced producers are kept for use and the other slots' files removed.
   */
  private async fenceIn(
    dir: string,
    own: boolean,
    committed: ReadonlySet<string>,
    onAborted: (bytes: number) => void,
  ): Promise<void> {
    const { ctx, prefix } = this.o;
    const me = ctx.slot;
    const store = stateStoreFor(dir);
    // Fails closed: an intent folder that cannot be listed would leave zombie transactions unfenced.
    for (const f of await store.list(dir)) {
      const m = /^slot-(\d+)\.json$/.exec(f);
      if (!m) continue;
      const old = Number(m[1]);
      if (old % ctx.parallelism !== me) continue;
      const lastOpen = await readOpenTransactions(dir, old);
      // Fails closed too: an unreadable intent would leave the ids it names unfenced.
      const intentPath = childOf(dir, f);
      const intent = await store.read(intentPath);
      let maxIndex = -1;
      try {
        maxIndex = intent ? (JSON.parse(new TextDecoder().decode(intent)) as { maxIndex: number }).maxIndex : -1;
      } catch (e) {
        throw new TributaryError(
          'TRIB_CONNECTOR_FAILED',
          `sink "${ctx.sinkName}": transactional-id intent file ${intentPath} is unreadable; its ids cannot be fenced`,
          { cause: e },
        );
      }
      if (!Number.isInteger(maxIndex))
        throw new TributaryError(
          'TRIB_CONNECTOR_FAILED',
          `sink "${ctx.sinkName}": transactional-id intent file ${intentPath} has no integer maxIndex`,
        );
      // The ids are independent: fenced at once (each is a connect + InitProducerId, on the restart's critical path).
      const made = await Promise.allSettled(
        Array.from({ length: maxIndex + 1 }, (_, k) => this.create(`${prefix}-${old}-${k}`)),
      );
      const failed = made.find((m) => m.status === 'rejected');
      if (failed) {
        await Promise.allSettled(made.map((m) => (m.status === 'fulfilled' ? this.dispose(m.value) : undefined)));
        throw failed.reason;
      }
      for (const [k, m] of made.entries()) {
        const tp = (m as PromiseFulfilledResult<TxnProducer>).value;
        if (tp.fencedOpen && !committed.has(tp.id)) onAborted(lastOpen.get(tp.id)?.bytes ?? 0);
        if (own && old === me) {
          this.pool.push(Promise.resolve(tp));
          this.nextIndex = Math.max(this.nextIndex, k + 1);
        } else await this.dispose(tp);
      }
      if (!own) {
        ctx.logger.info(
          { sink: ctx.sinkName, slot: me, restoredSlot: old, fenced: maxIndex + 1, intentDir: dir },
          'fenced the transactional producers of the restored run',
        );
        continue;
      }
      if (old !== me) await store.remove(childOf(dir, f));
      else this.intentMax = Math.max(this.intentMax, maxIndex);
      await removeOpenTransactions(dir, old);
    }
  }

  /**
   * Connects a transactional producer and initializes it (InitProducerId: fences and aborts that id's open
   * transaction).
   */
  create(id: string): Promise<TxnProducer> {
    if (this.closed) return Promise.reject(this.closedError());
    const made = this.createNow(id);
    this.creating.add(made);
    const forget = (): void => void this.creating.delete(made);
    made.then(forget, forget);
    return made;
  }

  private closedError(): TributaryError {
    return new TributaryError('TRIB_CONNECTOR_FAILED', `sink "${this.o.ctx.sinkName}": its producers are closed`);
  }

  private async createNow(id: string): Promise<TxnProducer> {
    const { ctx } = this.o;
    let captured: { pid: string; epoch: number } | undefined;
    let fencedOpen = false;
    const kafka = transactionalClient(
      this.o.brokers,
      id,
      ctx.logger,
      {
        producerId: (pid, epoch) => {
          captured = { pid, epoch };
        },
        ongoingTransaction: () => {
          fencedOpen = true;
        },
      },
      this.o.bounds,
    );
    const producer = kafka.producer({
      transactionalId: id,
      maxInFlightRequests: 1,
      idempotent: true,
      transactionTimeout: this.o.timeoutMs,
      allowAutoTopicCreation: true,
      createPartitioner: keyPartitioner,
    });
    const watched = <T>(p: Promise<T>): Promise<T> =>
      this.o.waits ? this.o.waits.track(p, `starting transactional producer ${id}`) : p;
    await watched(producer.connect());
    captured = undefined;
    fencedOpen = false;
    const txn = await watched(producer.transaction()); // InitProducerId happens here, once per producer
    await txn.abort(); // nothing was sent: no EndTxn goes out
    if (!captured)
      throw new TributaryError(
        'TRIB_SINK_COMMIT_FAILED',
        `kafkajs internals changed: producer id of ${id} not observed`,
      );
    // Closed meanwhile (a renewal or acquire in flight when the sink closed): closeAll has disconnected
    // every producer it knew, so this one is disconnected here and never used.
    if (this.closed) {
      await producer.disconnect();
      throw this.closedError();
    }
    const c = captured as { pid: string; epoch: number };
    const tp: TxnProducer = { id, kafka, producer, producerId: c.pid, producerEpoch: c.epoch, fencedOpen };
    ctx.logger.debug(
      { sink: ctx.sinkName, slot: ctx.slot, transactionalId: id, producerId: c.pid, producerEpoch: c.epoch },
      'transactional producer initialized',
    );
    this.all.push(tp);
    return tp;
  }

  /** A new session for the same id (epoch bump), so the committed (id, pid, epoch) is never reused. */
  async renew(tp: TxnProducer): Promise<TxnProducer> {
    await this.dispose(tp);
    if (this.o.isClosed()) throw new TributaryError('TRIB_CONNECTOR_FAILED', `sink "${this.o.ctx.sinkName}" is closed`);
    return this.create(tp.id);
  }

  /** A producer for the next transaction: a free one, else a new id (recorded in the intent file first). */
  async acquire(): Promise<TxnProducer> {
    const free = this.pool.shift();
    if (free) return await free;
    const { ctx } = this.o;
    const k = this.nextIndex++;
    if (k > this.intentMax) {
      // Written before the id is ever used: a crash after this point finds and fences it. Writes are
      // chained and each writes the highest index handed out by then: two acquires in flight must not
      // land out of order and leave a lower maxIndex on record than an id in use (its open transaction
      // would never be fenced, and read_committed readers would stall behind it).
      this.intentMax = k;
      const write = this.intentWrite.then(() =>
        stateStoreFor(this.intentDir).write(
          childOf(this.intentDir, `slot-${ctx.slot}.json`),
          new TextEncoder().encode(
            JSON.stringify({ slot: ctx.slot, parallelism: ctx.parallelism, maxIndex: this.intentMax }),
          ),
        ),
      );
      this.intentWrite = write.catch(() => undefined);
      await write;
    }
    return this.create(`${this.o.prefix}-${ctx.slot}-${k}`);
  }

  /** Returns a (possibly still initializing) producer to the pool for a later transaction. */
  release(next: Promise<TxnProducer>): void {
    this.pool.push(next);
  }

  /** Disconnects every producer, those still being created included; none is created after it. */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pool, ...this.creating]);
    await Promise.allSettled(this.all.map((tp) => tp.producer.disconnect()));
  }

  private async dispose(tp: TxnProducer): Promise<void> {
    const i = this.all.indexOf(tp);
    if (i >= 0) this.all.splice(i, 1);
    await tp.producer.disconnect();
  }
}
