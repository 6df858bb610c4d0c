// The checkpoint coordinator (Flink's CheckpointCoordinator, reduced): lives with slot 0,
// talks to the slots only through messages (messages.ts), so the same object drives an
// in-process job and a deployment of one process per slot.
//
//   trigger   next id (monotonic: above every id ever used in stateDir and the restored one),
//             prepare chk-<id>/ (or sp-<id>/), send TriggerCheckpoint to every slot. With an
//             interval, the first periodic checkpoint is triggered at start(), i.e. once the
//             sources are open (slot 0's here; other slots take the barrier once theirs are, as
//             their loops only then read the mailbox), not one interval later: a job restarted
//             again and again still completes checkpoints (docs/runtime/checkpoint-format.md)
//   ack       one per slot with its state handles; a late/unknown ack is discarded
//   complete  all slots acked → `_metadata.json` written last (the commit point: atomic rename,
//             or a conditional PUT on S3) → fence read → notifyComplete to every slot (sinks commit;
//             each slot reports `committed`, for the commit phase's timing: checkpoint-phases.ts)
//             → prune to `retained` in the background (a slow store never delays the next one)
//   abort     decline from any slot, timeout or fence → notifyAborted, directory discarded
// At most one checkpoint is pending: a periodic trigger meanwhile is skipped (periodic-trigger.ts), a savepoint
// request waits. Savepoints make sinks commit only when they stop the job (Flink's synchronous savepoint): a
// restart from the latest checkpoint would otherwise replay output a savepoint had already committed.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import type { SavepointStatus } from '../core/savepoint.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import { BackgroundPruner } from './background-pruner.ts';
import { pinnedByAcks, removedReference } from './shared-file-guard.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from './defaults.ts';
import { writeIdMark } from './checkpoint-id-mark.ts';
import { CommitTimer, slowestSlotPhases, type CheckpointPhaseTimes } from './checkpoint-phases.ts';
import { failedCheckpointsFor, type FailedCheckpoints } from './failed-checkpoints.ts';
import { reportCompletion } from './completion-report.ts';
import { CompletionHistory, type CompletedCheckpoint } from './completion-history.ts';
import { fenceVerdict } from './deployment-fence.ts';
import { metadataFromAcks, type CheckpointMetadata } from './metadata.ts';
import { startingPoint } from './starting-point.ts';
import { PendingWrites } from './pending-writes.ts';
import { PeriodicTrigger } from './periodic-trigger.ts';
import type { ReportOutage } from '../core/outage.ts';
import { SavepointRequests } from './savepoint-requests.ts';
import { CheckpointMembership } from './membership.ts';
import type { AbortHow, Pending } from './pending-checkpoint.ts';
import type {
  CheckpointAck,
  TriggerCheckpoint,
  CheckpointCommitted,
  CheckpointDecline,
  CheckpointKind,
  CoordinatorPort,
  SlotCheckpointPort,
} from './messages.ts';

export interface CoordinatorOptions {
  stateDir: string;
  /** Port of slot i at index i. */
  slots: SlotCheckpointPort[];
  maxParallelism: number;
  graphHash: string;
  /** Periodic checkpoints; undefined or 0 = only on request (savepoints, triggerCheckpoint). */
  intervalMs?: number;
  timeoutMs?: number;
  retained?: number;
  /** Never remove checkpoints beyond `retained` (the job's retention is Retain: nothing it wrote is deleted). */
  keepAll?: boolean;
  /** Checkpoints name the newest completed one as their base: slots may write deltas on it (incremental-chains.ts). */
  incremental?: boolean;
  /** The deployment this coordinator runs in, recorded in every `_metadata.json` (restore-latest's lineage). */
  deployment?: string;
  /** Id of the checkpoint the job restored from (new ids go above it). */
  restoredCheckpointId?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Failed checkpoints in a row: how many are tolerated, the job's failure past them, the storage's outage. */
  tolerableFailedCheckpoints?: number;
  onTooManyFailures?: (e: TributaryError) => void;
  /** A successor fenced this deployment (TRIB_DEPLOYMENT_FENCED): the job must stop. */
  onFenced?: (e: TributaryError) => void;
  reportOutage?: ReportOutage;
  onCompleted?: (meta: CheckpointMetadata) => void; // each completed one's (exec/unowned-partitions.ts)
}

export type { CompletedCheckpoint } from './completion-history.ts';
export { latestCheckpointPath } from './checkpoint-storage.ts';

export class CheckpointCoordinator implements CoordinatorPort {
  private readonly o: CoordinatorOptions;
  readonly storage: CheckpointStorage;
  private readonly logger: Logger;
  private nextId = 1;
  private pending: Pending | undefined;
  /** Serializes triggers: the promise of the checkpoint in progress (or its preparation). */
  private busy: Promise<unknown> = Promise.resolve();
  private readonly pruner: BackgroundPruner;
  private readonly periodic: PeriodicTrigger;
  /** Every caller awaits the one start: a trigger during it must not take an id it then issues again. */
  private started: Promise<void> | undefined;
  private startedAt = 0;
  private firstCompleted = false;
  private stopped = false;
  /** The job's final checkpoint completed (every task finished): nothing is left to checkpoint. */
  private ended = false;
  private readonly commits: CommitTimer;
  lastCompleted: CompletedCheckpoint | undefined;
  /** What completed in this run (the restored-from checkpoint is not among them). */
  readonly history = new CompletionHistory();
  private readonly savepoints = new SavepointRequests((stop) => this.trigger('savepoint', stop));
  /** Called once a stop-with-savepoint completed (the job then finishes). */
  onStopSavepoint: ((c: CompletedCheckpoint) => void) | undefined;
  /** Called when a stop-with-savepoint failed, also before its trigger reached the slots (the job then runs on). */
  onStopSavepointFailed: ((e: unknown) => void) | undefined;
  /** Id mark and metadata writes under way, an aborted checkpoint's included (settled()). */
  private readonly writes = new PendingWrites();
  private readonly failures: FailedCheckpoints;

  constructor(o: CoordinatorOptions) {
    this.o = o;
    this.membership = new CheckpointMembership(o.slots);
    this.storage = new CheckpointStorage(o.stateDir);
    this.logger = o.logger ?? silentLogger();
    this.failures = failedCheckpointsFor(o.stateDir, o, this.logger);
    // Files a checkpoint in progress references stay while it completes (shared-file-guard.ts).
    this.pruner = new BackgroundPruner(
      this.storage,
      o.retained ?? 1,
      this.logger,
      pinnedByAcks(() => this.pending),
    );
    this.commits = new CommitTimer((kind, phase, ms) =>
      o.metrics?.checkpointPhase.labels(kind, phase).observe(ms / 1000),
    );
    this.periodic = new PeriodicTrigger({
      over: () => this.stopped || this.ended,
      pending: () => this.pending !== undefined,
      trigger: () => this.trigger('checkpoint', false),
      failed: (e) => {
        // A tick that lost the race with the job's end is not a failure; an aborted one was counted by abort().
        const level = this.stopped || this.ended ? 'debug' : this.failures.failed(e).level;
        this.logger[level]({ err: (e as Error).message, code: (e as TributaryError).code }, 'checkpoint failed');
      },
    });
  }

  /** The slots that take part in checkpoints now (a live rescale adds and removes them: membership.ts). */
  readonly membership: CheckpointMembership;

  /** The number of member slots now (a pending checkpoint keeps its own: Pending.members). */
  get parallelism(): number {
    return this.membership.size;
  }

  /**
   * Runs `fn` while no checkpoint is pending and none is triggered (periodic triggers and requests queue behind it):
   * a live rescale changes membership and adds channels in there, so no barrier is in flight on any channel then.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.catch(() => undefined).then(fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** The last checkpoint issued completed (none pending or failed after it): every barrier it sent arrived. */
  get lastIssuedCompleted(): boolean {
    return this.lastCompleted !== undefined && this.lastCompleted.id === this.nextId - 1;
  }

  /** A failed start is tried again by the next trigger: each failure is its own, counted like a failed checkpoint. */
  start(): Promise<void> {
    this.started ??= this.begin().catch((e: unknown) => {
      this.started = undefined;
      throw e;
    });
    return this.started;
  }

  private async begin(): Promise<void> {
    const { nextId, latest } = await startingPoint(this.storage, this.o.restoredCheckpointId);
    this.nextId = nextId;
    if (latest) this.lastCompleted = latest;
    this.startedAt = performance.now();
    const interval = this.o.intervalMs ?? 0;
    if (interval > 0) this.periodic.start(interval);
  }

  /** Stops periodic triggering and aborts a pending checkpoint (job shutdown). */
  stop(reason = 'job stopping', level: 'warn' | 'info' = 'warn'): void {
    this.stopped = true;
    this.periodic.stop();
    if (this.pending)
      this.abort(
        this.pending,
        new TributaryError('TRIB_CHECKPOINT_FAILED', `checkpoint ${this.pending.id} aborted: ${reason}`),
        false,
        { level, stopping: true },
      );
  }

  /** Waits until no checkpoint is pending (e.g. the stop-with-savepoint before the sinks close). */
  async quiesce(): Promise<void> {
    for (;;) {
      const b = this.busy;
      await b.catch(() => undefined);
      if (b === this.busy && !this.pending) return;
    }
  }

  /** Triggers a checkpoint or savepoint now (after a pending one finishes); resolves when complete. */
  trigger(kind: CheckpointKind, stop: boolean): Promise<CompletedCheckpoint> {
    const run = this.busy.catch(() => undefined).then(() => this.triggerNow(kind, stop));
    this.busy = run.catch(() => undefined);
    if (stop) run.catch((e: unknown) => this.onStopSavepointFailed?.(e));
    return run;
  }

  private async triggerNow(kind: CheckpointKind, stop: boolean): Promise<CompletedCheckpoint> {
    const over = (): TributaryError | undefined =>
      this.stopped || this.ended
        ? new TributaryError(
            'TRIB_CHECKPOINT_FAILED',
            `no ${kind}: the job ${this.ended ? 'has ended' : 'is stopping'}`,
          )
        : undefined;
    let err = over();
    if (err) throw err;
    try {
      await this.start();
    } catch (e) {
      if (kind === 'checkpoint') this.failures.failed(e, true); // its storage unreadable: a failed checkpoint
      throw e;
    }
    const id = this.nextId++;
    const dir = await this.storage.prepare(kind, id);
    // The job may have ended while the folder was being made: no slot would answer any more.
    if ((err = over())) {
      void CheckpointStorage.discard(dir).catch(() => undefined);
      throw err;
    }
    const timestamp = Date.now();
    const done = new Promise<CompletedCheckpoint>((resolve, reject) => {
      const p: Pending = {
        id,
        kind,
        stop,
        dir,
        startedAt: performance.now(),
        triggeredAt: new Date(timestamp).toISOString(),
        phase: 'recording-id',
        members: this.membership.snapshot(),
        acks: new Map(),
        lastAckAt: 0,
        timer: undefined,
        resolve,
        reject,
      };
      const timeoutMs = this.o.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS;
      // Names the state location: a hanging store (S3 away) is the usual cause, and the operator
      // reports this message in status.
      const expired = (): string =>
        p.phase === 'slots'
          ? `${kind} ${id} expired after ${timeoutMs} ms before all slots acknowledged (${p.acks.size}/${p.members.size}; their state goes to ${p.dir})`
          : `${kind} ${id} expired after ${timeoutMs} ms while ${p.phase === 'recording-id' ? 'recording its id in' : 'writing its metadata to'} the state storage ${this.storage.root}: the storage did not answer (unreachable or too slow)`;
      p.timer = setTimeout(
        // A metadata write that did not answer may still land: its folder is kept (pruning
        // removes it if it stays uncommitted), as after a failed write.
        () =>
          this.abort(p, new TributaryError('TRIB_CHECKPOINT_TIMEOUT', expired()), p.phase !== 'metadata', {
            storage: p.phase !== 'slots',
          }),
        timeoutMs,
      );
      this.pending = p;
    });
    // The id is recorded before any slot sees it, under the checkpoint's own timeout: storage that
    // hangs (S3 away) aborts this checkpoint like a slot that never acknowledges, instead of
    // stalling every later trigger behind it.
    const p = this.pending as Pending;
    done.catch(() => undefined); // may be aborted (stop, timeout) before the caller holds it
    // A write that hangs past the timeout must not hold the trigger queue: `done` has rejected by
    // then, and the write's late outcome changes nothing (abort ignores a checkpoint no longer pending).
    const recorded = await Promise.race([
      this.writes.track(writeIdMark(this.storage.root, id)).then(
        () => true,
        (e: unknown) => {
          this.abort(p, e as TributaryError);
          return false;
        },
      ),
      done.then(
        () => false,
        () => false,
      ),
    ]);
    if (!recorded || this.pending !== p || !(await this.unfenced(p))) return done; // failed, expired, or fenced
    p.phase = 'slots';
    this.logger.debug({ id, kind, stop }, 'triggering checkpoint');
    for (const s of p.members.values()) s.trigger(this.triggerMessage(p, timestamp));
    return done;
  }

  /**
   * What each slot is told. A checkpoint names the newest completed one as its base: that one is
   * always retained, so the files a delta on it references stay (incremental-chains.ts).
   */
  private triggerMessage(p: Pending, timestamp: number): TriggerCheckpoint {
    const base = p.kind === 'checkpoint' && this.o.incremental === true ? this.lastCompleted?.id : undefined;
    return {
      checkpointId: p.id,
      timestamp,
      kind: p.kind,
      stop: p.stop,
      dir: p.dir,
      ...(base !== undefined ? { base } : {}),
    };
  }

  acknowledge(ack: CheckpointAck): void {
    const p = this.pending;
    if (!p || p.id !== ack.checkpointId) {
      this.logger.debug(
        { id: ack.checkpointId, slot: ack.slot },
        'late or unknown checkpoint acknowledgement discarded',
      );
      return;
    }
    if (!p.members.has(ack.slot) || p.acks.has(ack.slot)) return;
    p.acks.set(ack.slot, ack);
    if (p.acks.size === p.members.size) {
      p.lastAckAt = performance.now();
      void this.complete(p);
    }
  }

  /** A slot's sinks committed checkpoint `msg.checkpointId` (timing only). */
  committed(msg: CheckpointCommitted): void {
    this.commits.committed(msg.slot, msg.checkpointId);
  }

  decline(msg: CheckpointDecline): void {
    const p = this.pending;
    if (!p || p.id !== msg.checkpointId) return;
    this.abort(
      p,
      new TributaryError('TRIB_CHECKPOINT_DECLINED', `${p.kind} ${p.id} declined by slot ${msg.slot}: ${msg.reason}`),
    );
  }

  private abort(p: Pending, err: TributaryError, discard = true, how: AbortHow = {}): void {
    if (this.pending !== p) return;
    this.pending = undefined;
    if (p.timer) clearTimeout(p.timer);
    this.o.metrics?.checkpoints.labels(p.kind, 'aborted').inc();
    // Checkpoints (not savepoints) count towards the tolerable failures, which also throttle their lines.
    const counted =
      p.kind === 'checkpoint' && !how.stopping ? this.failures.failed(err, how.storage).level : (how.level ?? 'warn');
    this.logger[counted]({ id: p.id, kind: p.kind, code: err.code, reason: err.message }, 'checkpoint aborted');
    for (const s of p.members.values()) s.notifyAborted(p.id, err.message, how.rewrite === true);
    if (discard) void CheckpointStorage.discard(p.dir).catch(() => undefined);
    p.reject(err);
  }

  private async complete(p: Pending): Promise<void> {
    if (this.pending !== p) return; // aborted or stopped meanwhile: never write its metadata
    // The timeout stays armed through the metadata write: a store that hangs there aborts this
    // checkpoint instead of stalling every later trigger behind the client's own retries.
    p.phase = 'metadata';
    const acks = [...p.acks.values()].sort((a, b) => a.slot - b.slot);
    const { meta, alignmentMs } = metadataFromAcks(
      {
        kind: p.kind,
        checkpointId: p.id,
        graphHash: this.o.graphHash,
        parallelism: p.members.size,
        maxParallelism: this.o.maxParallelism,
        triggeredAt: p.triggeredAt,
        ...(this.o.deployment ? { deployment: this.o.deployment } : {}),
      },
      acks,
    );
    if (this.pending !== p || this.referencesRemoved(p, acks)) return;
    try {
      await this.writes.track(CheckpointStorage.commitMetadata(p.dir, meta));
    } catch (e) {
      // Not discarded: on S3 a refused conditional write means another writer committed this id
      // (its metadata must stay), and an unanswered one may have landed. Pruning removes the
      // folder later if it stays uncommitted.
      this.abort(
        p,
        new TributaryError(
          'TRIB_CHECKPOINT_FAILED',
          `${p.kind} ${p.id}: cannot write metadata: ${(e as Error).message}`,
          { cause: e },
        ),
        false,
      );
      return;
    }
    // Nothing commits past a successor's fence (deployment-fence.ts); the metadata stays for it.
    if (!(await this.unfenced(p, false))) return;
    if (p.timer) clearTimeout(p.timer);
    this.pending = undefined;
    const now = performance.now();
    const durationMs = now - p.startedAt;
    const final = acks.length === p.members.size && acks.every((a) => a.finished === true);
    if (final) this.ended = true;
    const phases: CheckpointPhaseTimes = { ...slowestSlotPhases(acks), metadataMs: now - p.lastAckAt };
    const done: CompletedCheckpoint = {
      id: p.id,
      kind: p.kind,
      path: p.dir,
      completedAt: meta.completedAt,
      durationMs,
      stateSize: meta.stateSize,
      ...(meta.fullStateSize !== undefined ? { fullStateSize: meta.fullStateSize } : {}),
      phases,
      ...(final ? { final: true } : {}),
    };
    if (p.kind === 'checkpoint') this.failures.completed();
    const first = !this.firstCompleted && p.kind === 'checkpoint';
    if (first) this.firstCompleted = true;
    reportCompletion(
      { ...done, phases, alignmentMs, ...(first ? { firstAfterStartMs: now - this.startedAt } : {}), final },
      this.logger,
      this.o.metrics,
    );
    if (p.kind === 'checkpoint') this.lastCompleted = done;
    this.o.onCompleted?.(meta);
    this.history.record(done);
    // Sinks commit: after every checkpoint, and after a savepoint only when it stops the job.
    const sinksCommit = p.kind === 'checkpoint' || p.stop;
    this.commits.begin(p.id, p.kind, p.lastAckAt, sinksCommit ? p.members.size : 0);
    if (sinksCommit) for (const s of p.members.values()) s.notifyComplete(p.id, final);
    p.resolve(done);
    if (p.stop) this.onStopSavepoint?.(done);
    if (p.kind === 'checkpoint' && !this.o.keepAll) this.pruner.prune(p.id);
  }

  /**
   * Aborts `p` when its acknowledgements reference a file retention removed (shared-file-guard.ts);
   * the slots then write their next snapshots whole (incremental-chains.ts, `rewrite`).
   */
  private referencesRemoved(p: Pending, acks: readonly CheckpointAck[]): boolean {
    const gone = removedReference(acks, p.id, this.pruner.removedFiles);
    if (gone === undefined) return false;
    const why = `${p.kind} ${p.id} references ${gone}, which retention removed`;
    this.abort(p, new TributaryError('TRIB_CHECKPOINT_FAILED', why), true, { rewrite: true });
    return true;
  }

  /** Whether `p` goes on after a read of this deployment's fence (else it is aborted; fenced: the job stops). */
  private async unfenced(p: Pending, discard = true): Promise<boolean> {
    const { deployment: d, stateDir } = this.o;
    const fence = d && (await this.writes.track(fenceVerdict(stateDir, d, p, discard ? 'triggered' : 'committed')));
    if (this.pending !== p || !fence) return this.pending === p;
    this.abort(p, fence, discard);
    if (fence.code === 'TRIB_DEPLOYMENT_FENCED') this.o.onFenced?.(fence);
    return false;
  }

  /**
   * Resolves once no id mark or metadata write is under way; after stop() none starts. The job's end waits for it.
   * Pruning and discards only remove files, and a slow store may hold them long: they are not waited for.
   */
  settled(): Promise<void> {
    return this.writes.settled();
  }

  /** Resolves once no background pruning runs (tests, and anyone about to inspect the folders). */
  async pruned(): Promise<void> {
    await this.pruner.idle();
  }

  /** Starts a savepoint for the control API; idempotent by requestId (savepoint-requests.ts). */
  requestSavepoint(req: { stop: boolean; requestId?: string }): SavepointStatus {
    return this.savepoints.request(req);
  }

  savepointStatus(id: string): SavepointStatus | undefined {
    return this.savepoints.status(id);
  }
}
