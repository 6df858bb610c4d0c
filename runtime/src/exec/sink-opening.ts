// The sink writers of the slots this process runs, and their opening. A job opens its sinks
// before its lookup tables and sources (job-run.ts: nothing is read before it can be
// written). Opening is where a sink recovers: the exactly-once Kafka sink commits the
// restored checkpoint's transactions of the old slots mapped to its slot and fences every id
// an earlier run may have left open (connectors/kafka/transactional-sink.ts). All of that
// needs only the restored metadata's committables, none of the job's keyed state and no
// peer, so a slot process starts the opening as soon as the metadata is read and checked,
// while it waits for its peers and reads its share of the keyed state (slot-process.ts); a
// local job opens when it runs.
//
// Why the earlier start is safe: the restored checkpoint is complete (its metadata exists),
// so committing its transactions is what every restore from it must do and what the job that
// completed it does anyway; the fencing only aborts transactions of no completed checkpoint,
// and it still precedes every new transaction, because the writers are handed to the job's
// tasks only after their opening resolved (runTasks awaits it before any source opens). The
// earlier run's processes are gone by then in every deployment (the operator starts the new
// pods once the old ones are gone; the supervisor restarts once every slot exited), so no
// zombie writes after the fence because the opening moved earlier; those that might exist are
// fenced as before.
import { OutageBoard } from '../core/outage-board.ts';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { stateDirOf } from '../checkpoint/checkpoint-storage.ts';
import { committablesForSlot } from '../checkpoint/restore-plan.ts';
import { normalizeLocation } from '../checkpoint/storage/state-uri.ts';
import type { CloseOutcome, SinkWriter } from '../connectors/api.ts';
import { checkExecutable, createSinkWriter } from '../connectors/registry.ts';
import { checkSinkDeliveries } from '../connectors/sink-delivery.ts';
import { TributaryError } from '../errors.ts';
import type { SinkSpec } from '../graph/spec.ts';

export interface SinkOpeningOptions {
  sinks: readonly SinkSpec[];
  /** The slots this process runs. */
  slots: readonly number[];
  parallelism: number;
  /** What the job's options say about its sinks (JobExecutorOptions). */
  job: {
    sinkWriter?: (spec: SinkSpec, slot: number) => SinkWriter | undefined;
    checkpointing?: { stateDir: string; intervalMs?: number };
    jobName?: string;
    kafkaIdScope?: string;
  };
  logger: Logger;
  /** The job's metrics registry (sinks register their own metrics in it). */
  registry: Registry;
  /** Where writers report their external systems' outages (absent: a board of its own, `outages`). */
  outages?: OutageBoard;
  /** Committables of all old slots per sink name, when the job restores. */
  restoredSinks?: ReadonlyMap<string, readonly { slot: number; committables: unknown[] }[]>;
  /** The checkpoint or savepoint folder the job restores from. */
  restoredFrom?: string;
}

interface Entry {
  spec: SinkSpec;
  slot: number;
  writer: SinkWriter;
}

export class SinkOpening {
  private readonly o: SinkOpeningOptions;
  private readonly entries = new Map<string, Entry>();
  /** Each slot's wake-up, bound once the slot exists (a writer opened earlier calls it through here). */
  private readonly wakes = new Map<number, () => void>();
  private opening: Promise<void> | undefined;
  private closed = false;
  /**
   * Where the writers report outages: a slot process opens its sinks before its job executor
   * exists, and the executor then adopts this board (so /v1/status and /metrics show them).
   */
  readonly outages: OutageBoard;

  /** Checks the sinks as the job would (before anything opens), and makes their writers. */
  constructor(o: SinkOpeningOptions) {
    this.o = o;
    this.outages = o.outages ?? new OutageBoard();
    checkExecutable({ sources: [], sinks: [...o.sinks] });
    checkSinkDeliveries(o.sinks, {
      checkpointing: o.job.checkpointing !== undefined,
      intervalMs: o.job.checkpointing?.intervalMs,
    });
    for (const slot of o.slots)
      for (const spec of o.sinks) {
        const writer =
          o.job.sinkWriter?.(spec, slot) ??
          createSinkWriter(spec, { checkpointing: o.job.checkpointing !== undefined });
        this.entries.set(key(spec.name, slot), { spec, slot, writer });
      }
  }

  /** The writer of sink `name` in `slot`; `wake` wakes that slot's loop. */
  writer(name: string, slot: number, wake: () => void): SinkWriter {
    const e = this.entries.get(key(name, slot));
    if (!e) throw new TributaryError('TRIB_INVARIANT', `no writer for sink "${name}" in slot ${slot}`);
    this.wakes.set(slot, wake);
    return e.writer;
  }

  /** Every writer (each sink in each slot), in the order they were made. */
  get writers(): SinkWriter[] {
    return [...this.entries.values()].map((e) => e.writer);
  }

  /** Starts opening every writer (once); resolves when all are open, rejects with the first failure. */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(new TributaryError('TRIB_INVARIANT', 'the sinks were closed'));
    this.opening ??= this.openAll();
    return this.opening;
  }

  private async openAll(): Promise<void> {
    const { o } = this;
    const started = performance.now();
    const opens = [...this.entries.values()].map((e) => this.openEntry(e, o.parallelism, true));
    // Every open settles before this one does: a failed start closes writers whose opening is over.
    const results = await Promise.allSettled(opens);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    o.logger.info({ sinks: opens.length, ms: Math.round(performance.now() - started) }, 'sinks open');
  }

  private openEntry({ spec, slot, writer }: Entry, parallelism: number, restores: boolean): Promise<void> {
    const { o } = this;
    return writer.open({
      sinkName: spec.name,
      slot,
      parallelism,
      logger: o.logger,
      wake: () => this.wakes.get(slot)?.(),
      jobName: o.job.jobName ?? 'job',
      ...(o.job.kafkaIdScope ? { kafkaIdScope: o.job.kafkaIdScope } : {}),
      registry: o.registry,
      reportOutage: this.outages.reporter(`sink:${spec.name}:${slot}`),
      ...(o.job.checkpointing ? { checkpointing: this.checkpointingOf(o.job.checkpointing.stateDir, restores) } : {}),
      ...(o.restoredSinks && restores
        ? { restoredCommittables: committablesForSlot(o.restoredSinks.get(spec.name), slot, o.parallelism) }
        : {}),
    });
  }

  /** A restoring writer learns the restored run's stateDir when it is another one (SinkWriterContext.checkpointing). */
  private checkpointingOf(
    stateDir: string,
    restores: boolean,
  ): { stateDir: string; restoredStateDir?: string; restoredFrom?: string } {
    const restoredFrom = restores ? this.o.restoredFrom : undefined;
    if (!restoredFrom) return { stateDir };
    const from = stateDirOf(restoredFrom);
    return from !== normalizeLocation(stateDir)
      ? { stateDir, restoredStateDir: from, restoredFrom }
      : { stateDir, restoredFrom };
  }

  /** Makes the writers of `slot`, which joins the running job (live rescale: join-local.ts); openSlot opens them. */
  addSlot(slot: number): void {
    for (const spec of this.o.sinks) {
      if (this.entries.has(key(spec.name, slot)))
        throw new TributaryError('TRIB_INVARIANT', `sink "${spec.name}" has a writer in slot ${slot} already`);
      const writer =
        this.o.job.sinkWriter?.(spec, slot) ??
        createSinkWriter(spec, { checkpointing: this.o.job.checkpointing !== undefined });
      this.entries.set(key(spec.name, slot), { spec, slot, writer });
    }
  }

  /**
   * Opens the writers of a joined slot, at `parallelism` (the job's after the rescale). They commit no restored
   * transaction: the job's start-up recovery committed those (the slots that were there opened first) and must be
   * over before this runs — the caller opens a joined slot only while the job is RUNNING — because fencing an id
   * whose restored transaction is still being committed would abort it. Its ids `<prefix>-<slot>-<k>` belong to
   * no other running slot.
   */
  async openSlot(slot: number, parallelism: number): Promise<void> {
    const mine = [...this.entries.values()].filter((e) => e.slot === slot);
    const results = await Promise.allSettled(mine.map((e) => this.openEntry(e, parallelism, false)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The writers of a drained slot, no longer the job's (the drain closed them: leave-local.ts). */
  removeSlot(slot: number): SinkWriter[] {
    const gone = [...this.entries.entries()].filter(([, e]) => e.slot === slot);
    for (const [k] of gone) this.entries.delete(k);
    this.wakes.delete(slot);
    return gone.map(([, e]) => e.writer);
  }

  /**
   * For a start that fails before the job ran (the job closes its sinks itself once it runs): waits for the opening,
   * then closes every writer with `outcome` ('failed' leaves transactions to the next recovery).
   */
  async close(outcome: CloseOutcome): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.opening) return;
    await this.opening.catch(() => undefined);
    await Promise.allSettled(this.writers.map((w) => w.close(outcome)));
  }
}

function key(name: string, slot: number): string {
  return `${slot}|${name}`;
}
