// One slot of a job in this OS process: the same tasks as a local job's slot `slot`, with every
// exchange channel that leads to or comes from another slot crossing TCP (net/), and the
// same-slot channels (forward exchanges, a hash exchange's own share) staying in memory.
//
// Lifecycle: listen on the data port → link with every other slot of the deployment
// (discovery + handshake) → run the tasks → drain what this slot produced → close. Any
// failure (a task throws, a link is lost) fails this process; peers then lose their links
// to it and fail too, so one failing slot fails the job (the supervisor or the operator
// restarts all slots).
import type { Logger } from 'pino';
import type { JobState, StatusResponse } from '../control/contract.ts';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { createJobExecutor, planJobRestore, readJobRestore, type JobExecutor } from '../job/job-executor.ts';
import { SinkOpening } from '../exec/sink-opening.ts';
import { isMigrationRpc, type MigrationRpc } from '../rescale/migration-rpc.ts';
import { isJoinRpc, type JoinRpc } from '../rescale/join-rpc.ts';
import { withinStepTimeout } from '../rescale/migration-deadline.ts';
import type { CheckpointingOptions, CreateJobExecutorOptions, JobExecutorOptions } from '../exec/job-options.ts';
import type { RescaleTransports } from '../rescale/executor-rescaling.ts';
import type { JobResult } from '../exec/job-status.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { DataPlane } from '../net/data-plane.ts';
import { NetMetrics } from '../net/net-metrics.ts';
import { defaultMaxParallelism } from '../state/key-groups.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { exchangeProjection } from '../graph/exchange-projection.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import { WatermarkAlignment } from '../time/watermark-alignment.ts';
import { AlignmentExchange } from './alignment-exchange.ts';
import { jobStatusSource } from '../job/job-executor-control.ts';
import type { Discover } from './peer-discovery.ts';
import type { ThreadPorts } from '../net/port-socket.ts';
import type { MessagePort } from 'node:worker_threads';
import { planGraph } from '../graph/plan.ts';
import { checkJoin, prepareJoin, type JoinMarker } from '../rescale/join-link.ts';
import { jobHash, remoteChannelIds } from './job-identity.ts';
import { isDrainRpc } from '../rescale/leave-rpc.ts';
import { isLinkOrderRpc, type LinkOrderRpc } from '../rescale/join-link-order.ts';
import type { CheckpointRpc, SlotRpc } from './slot-rpc.ts';
import type { MigrationPlan } from '../rescale/plan.ts';
import { SlotProcessLeave } from './rescale-leave.ts';
import { SlotPlacement } from '../rescale/placement.ts';
import type { SlotParts } from '../exec/slot-builder.ts';
import { isPlacementRpc } from '../rescale/placement-rpc.ts';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from '../checkpoint/defaults.ts';

export interface SlotProcessOptions {
  jobName: string;
  /** Qualifies Kafka transactional and consumer group ids: the StreamJob's namespace on a cluster. */
  kafkaIdScope?: string;
  graph: ValidatedGraph;
  slot: number;
  parallelism: number;
  maxParallelism?: number;
  deploymentId: string;
  /** The job's secret: the data-plane handshake proves it (net/handshake.ts). */
  secret: string;
  /** Address to bind the data plane to (pod IP; loopback locally) and its port (0 = any). */
  host: string;
  dataPort: number;
  discover: Discover;
  /**
   * A slot thread's MessagePorts to its peers (net/port-socket.ts): linked over them instead of
   * listening on `dataPort` and dialing what `discover` returns.
   */
  threadPorts?: ThreadPorts;
  /** How long to wait for every peer to be linked. Default 120 s. */
  connectTimeoutMs?: number;
  logger: Logger;
  metrics?: JobMetrics;
  /** Passed through to the slot's JobExecutor (sink writers in tests, restore, batch size, state backend). */
  job?: Pick<
    JobExecutorOptions,
    'sinkWriter' | 'restore' | 'batchSize' | 'channelCapacity' | 'functions' | 'stateBackend'
  >;
  /** Aligned checkpoints (the coordinator runs with slot 0; its messages cross the data plane's links). */
  checkpointing?: CheckpointingOptions;
  /** Checkpoint or savepoint to restore from. */
  restoreFrom?: string;
  allowNonRestoredState?: boolean;
  /**
   * Started to join a running job (live rescale, join-link.ts): the rescale's membership
   * generation; `parallelism` is the job's after it, `slot` a new slot. It links (`link`), then `run()`
   * builds its slot once slot 0 sends the join state (rescale/join-across.ts).
   */
  join?: JoinMarker;
  /** Data-plane tuning. */
  credits?: number;
  frameBytes?: number;
}

export class SlotProcess {
  readonly opts: SlotProcessOptions;
  readonly metrics: JobMetrics;
  readonly dataPlane: DataPlane;
  readonly maxParallelism: number;
  private job: JobExecutor | undefined;
  private state: JobState = 'CREATED';
  private error: string | undefined;
  private stopRequest: { drain: boolean } | undefined;
  private readonly channelIds: Map<string, number>;
  /** Messages that arrived before this slot's job was built (a faster peer's coordinator). */
  private readonly earlyRpc: [number, SlotRpc][] = [];
  /** Scale in across slot processes: this slot drains and leaves, or slot 0 drives it (rescale-leave.ts). */
  private readonly drain: SlotProcessLeave;
  /** Live rescale: where new partitions go while slot 0 rescales the job (placement.ts). */
  readonly placement: SlotPlacement;
  /** This process's alignment groups; its members' reports go to every peer (alignment-exchange.ts). */
  private readonly alignment = new WatermarkAlignment();
  private readonly alignmentExchange: AlignmentExchange;
  /** A joining process: the owner table slot 0 sends (`join-state`, join-across.ts), and its arrival. */
  private readonly joinState: Promise<Int32Array> | undefined;
  private joinStateArrived: ((owners: Int32Array) => void) | undefined;
  /** link() ran: run() does not link again. */
  private linked = false;
  /** Slot pods: who handles slot 0's link orders and their answers (join-link-order.ts): rescale-pod-links.ts. */
  linkOrders: ((from: number, msg: LinkOrderRpc) => void) | undefined;

  constructor(opts: SlotProcessOptions) {
    this.opts = opts;
    this.metrics = opts.metrics ?? new JobMetrics();
    if (opts.join) checkJoin(opts.join, opts);
    if (opts.join) this.joinState = new Promise((r) => (this.joinStateArrived = r));
    this.maxParallelism = opts.maxParallelism ?? defaultMaxParallelism(opts.parallelism);
    const plan = planGraph(opts.graph);
    this.channelIds = remoteChannelIds(plan);
    this.dataPlane = new DataPlane({
      identity: {
        deploymentId: opts.deploymentId,
        jobHash: jobHash(opts.graph, opts.parallelism, this.maxParallelism),
        slot: opts.slot,
        parallelism: opts.parallelism,
        ...(opts.join ? { generation: opts.join.generation } : {}),
      },
      secret: opts.secret,
      host: opts.host,
      port: opts.dataPort,
      channels: this.channelIds.size,
      credits: opts.credits,
      frameBytes: opts.frameBytes,
      metrics: new NetMetrics(this.metrics.registry),
      logger: opts.logger,
      onControl: (from, msg) => this.onCheckpointRpc(from, msg as SlotRpc),
    });
    const [channels, timeoutMs] = [
      this.channelIds.size,
      opts.checkpointing?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS,
    ];
    const peerLeft = (slot: number): void => this.alignmentExchange.peerLeft(slot);
    this.drain = new SlotProcessLeave({ ...opts, channels, timeoutMs, dataPlane: this.dataPlane, peerLeft });
    const localSlots = (): readonly SlotParts[] => this.job?.drainContext.list ?? [];
    const sendControl = (to: number, msg: unknown): boolean => this.dataPlane.sendControl(to, msg);
    this.placement = new SlotPlacement({ ...opts, timeoutMs, localSlots, sendControl });
    this.alignmentExchange = new AlignmentExchange({
      hub: this.alignment,
      sources: opts.graph.spec.sources,
      slot: opts.slot,
      peers: () => this.drain.peerSlots,
      send: (to, reports) => this.dataPlane.sendControl(to, { m: 'wm', reports } satisfies CheckpointRpc),
      logger: opts.logger,
    });
  }

  get jobState(): JobState {
    return this.state;
  }

  /** Binds the data plane; resolves with its port. */
  listen(): Promise<number> {
    return this.dataPlane.listen();
  }

  get address(): string {
    return `${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.dataPlane.port}`;
  }

  /** Links with every peer, runs the slot to the end, drains. Rejects when the job fails here. */
  async run(): Promise<JobResult> {
    const o = this.opts;
    let opening: Promise<SinkOpening> | undefined;
    /** Once the job exists, it closes the sinks on every path (job-run.ts). */
    let handedOver = false;
    try {
      if (this.dataPlane.port === 0 && !o.threadPorts) await this.listen();
      const send = (slot: number, msg: CheckpointRpc | MigrationRpc | JoinRpc): void => {
        if (!this.dataPlane.sendControl(slot, msg))
          o.logger.warn({ to: slot, m: msg.m }, 'checkpoint message not sent: link to the slot is down');
      };
      const jobOpts: CreateJobExecutorOptions & RescaleTransports = {
        ...o.job,
        parallelism: o.parallelism,
        maxParallelism: this.maxParallelism,
        slots: [o.slot],
        logger: o.logger,
        metrics: this.metrics,
        jobName: o.jobName,
        ...(o.kafkaIdScope ? { kafkaIdScope: o.kafkaIdScope } : {}),
        ...(o.checkpointing ? { checkpointing: o.checkpointing } : {}),
        ...(o.restoreFrom
          ? { restoreFrom: o.restoreFrom, allowNonRestoredState: o.allowNonRestoredState ?? false }
          : {}),
        alignment: this.alignment,
        migrationTransport: { send: (slot, msg) => send(slot, msg) },
        joinTransport: { send: (slot, msg) => send(slot, msg) },
        checkpointTransport: {
          coordinator: {
            acknowledge: (ack) => send(0, { m: 'ack', ack }),
            decline: (decline) => send(0, { m: 'decline', decline }),
            committed: (committed) =>
              void this.dataPlane.sendControl(0, { m: 'committed', committed } satisfies CheckpointRpc),
          },
          slot: (s) => ({
            trigger: (trigger) => send(s, { m: 'trigger', trigger }),
            notifyComplete: (id, final) => send(s, { m: 'complete', id, ...(final ? { final: true } : {}) }),
            notifyAborted: (id, reason, rewrite) => send(s, { m: 'aborted', id, reason, rewrite }),
          }),
        },
        remoteChannel: (key, wake) => {
          const id = this.channelIds.get(`${key.consumer}|${key.input}`) as number;
          if (key.from !== o.slot) {
            const inbound = this.dataPlane.inboundChannel(key.from, id);
            inbound.setWake(wake);
            return inbound;
          }
          const ch = this.dataPlane.outboundChannel(key.to, id);
          ch.setWake(wake);
          // Records leave with only the fields their consumer reads (a window's aggregate arguments).
          ch.setProjection(exchangeProjection(o.graph, key.consumer));
          return ch;
        },
      };
      // Nothing of a slot's start needs its peers until the job is built: the restore's metadata
      // (and its checks), then the sinks' opening (their recovery: sink-opening.ts) alongside the
      // reads of this slot's keyed state, all overlap the wait for the peers. Any of them failing
      // fails the start at once.
      const connectTimeoutMs = o.connectTimeoutMs ?? 120_000;
      const connected = this.linked // a joining process may have linked already (link())
        ? Promise.resolve()
        : o.threadPorts
          ? this.dataPlane.connectPorts(o.threadPorts, connectTimeoutMs)
          : this.dataPlane.connect(o.discover, { self: this.address, timeoutMs: connectTimeoutMs });
      const planned = planJobRestore(o.graph, jobOpts);
      opening = planned.then(
        (p) =>
          new SinkOpening({
            sinks: o.graph.spec.sinks,
            slots: [o.slot],
            parallelism: o.parallelism,
            job: jobOpts,
            logger: o.logger,
            registry: this.metrics.registry,
            // The restored folder too: a restore from another stateDir fences the ids its run's intent
            // files name (transactional-producers.ts); without it a transaction that run left open, on an
            // id this run never initializes again, blocks read_committed readers until the broker's timeout.
            ...(p ? { restoredSinks: p.plan.sinks, restoredFrom: p.plan.path } : {}),
          }),
      );
      // A joining process opens its sinks once slot 0 sent the join state: the job runs, its recovery is over.
      const sinks = opening;
      const opened = (this.joinState ?? Promise.resolve()).then(() => sinks).then((s) => s.open());
      const [loaded] = await Promise.race([
        Promise.all([planned.then((p) => p && readJobRestore(o.graph, jobOpts, p)), connected]),
        opened.then(() => new Promise<never>(() => undefined)), // only its failure ends the race
      ]);
      const joining = this.joinState && {
        owners: await withinStepTimeout(this.joinState, connectTimeoutMs, () => 'no join-state', `slot ${o.slot}`),
      };
      const job = await createJobExecutor(
        o.graph,
        { ...jobOpts, ...(joining ? { joining } : {}), sinkOpening: await opening },
        loaded,
      );
      handedOver = true;
      this.job = job;
      this.drain.attach(job);
      for (const [from, msg] of this.earlyRpc.splice(0)) this.onCheckpointRpc(from, msg);
      this.alignmentExchange.jobBuilt();
      this.state = 'RUNNING';
      if (this.stopRequest) job.stop(this.stopRequest);
      if (o.join) void job.started.then(() => send(0, { m: 'join-built', slot: o.slot }));
      const result = await job.run();
      this.alignmentExchange.stop(true);
      await this.dataPlane.drain();
      await this.drain.afterRun();
      await this.dataPlane.close();
      this.state = 'FINISHED';
      return result;
    } catch (e) {
      this.alignmentExchange.stop();
      this.drain.stop();
      this.state = 'FAILED';
      this.error = (e as Error).message;
      if (!handedOver) await (await opening?.catch(() => undefined))?.close('failed');
      await this.dataPlane.destroy();
      throw e;
    }
  }

  private onCheckpointRpc(from: number, msg: SlotRpc): void {
    if (msg.m === 'wm') {
      this.alignmentExchange.received(from, msg.reports);
      return;
    }
    if (msg.m === 'join-state') {
      this.joinStateArrived?.(Int32Array.from(msg.owners));
      return;
    }
    const job = this.job;
    if (!job) {
      this.earlyRpc.push([from, msg]);
      return;
    }
    if (isJoinRpc(msg)) {
      job.remoteJoin?.receive(from, msg);
      return;
    }
    if (isMigrationRpc(msg)) {
      job.migration?.receive(from, msg);
      return;
    }
    if (isDrainRpc(msg)) return this.drain.receive(from, msg);
    if (isPlacementRpc(msg)) return this.placement.receive(from, msg);
    if (isLinkOrderRpc(msg)) return this.linkOrders?.(from, msg);
    const port = job.slotCheckpointPort(this.opts.slot);
    switch (msg.m) {
      case 'ack':
        job.coordinator?.acknowledge(msg.ack);
        break;
      case 'decline':
        job.coordinator?.decline(msg.decline);
        break;
      case 'committed':
        job.coordinator?.committed(msg.committed);
        this.drain.committed(msg.committed.slot, msg.committed.checkpointId);
        break;
      case 'trigger':
        // Stop-with-savepoint: this slot's job ends as STOPPED after the barrier, like slot 0's.
        if (msg.trigger.stop) job.markStoppingWithSavepoint();
        // A live rescale's step binds before this slot's sources inject the barrier (migration.ts).
        if (msg.trigger.migrationStep) job.migration?.bind(msg.trigger.checkpointId, msg.trigger.migrationStep);
        // Once this slot's take-overs of earlier steps have their positions (migration.ts).
        if (job.migration) job.migration.afterTakeOvers(msg.trigger.checkpointId, () => port?.trigger(msg.trigger));
        else port?.trigger(msg.trigger);
        break;
      case 'complete':
        job.migration?.checkpointCompleted(msg.id);
        port?.notifyComplete(msg.id, msg.final === true);
        break;
      case 'aborted':
        port?.notifyAborted(msg.id, msg.reason, msg.rewrite === true);
        break;
      default:
        this.opts.logger.warn({ from, msg }, 'unknown control message');
    }
  }

  /** Links with every peer of this slot's generation (a joining slot: every running slot); rejects as run's linking. */
  async link(): Promise<void> {
    const timeoutMs = this.opts.connectTimeoutMs ?? 120_000;
    if (this.opts.threadPorts) await this.dataPlane.connectPorts(this.opts.threadPorts, timeoutMs);
    else {
      if (this.dataPlane.port === 0) await this.listen();
      await this.dataPlane.connect(this.opts.discover, { self: this.address, timeoutMs });
    }
    this.linked = true;
  }

  /** A running slot accepts the members of rescale `generation` to `parallelism` from now on (scale out). */
  prepareJoin(generation: number, parallelism: number): void {
    const hashAt = (p: number): string => jobHash(this.opts.graph, p, this.maxParallelism);
    prepareJoin(this.dataPlane, generation, parallelism, hashAt, this.job?.parallelism);
    this.drain.joining(parallelism);
  }

  /** This slot left the job in a live scale in: its run ended FINISHED, but not at the end of its input. */
  get left(): boolean {
    return this.drain.left;
  }

  /** Links both ways with joining slot `slot` at `address` (after prepareJoin). */
  addPeer(slot: number, address: string, timeoutMs = 30_000): Promise<void> {
    const linked = this.dataPlane.addPeer(slot, address, { timeoutMs, retryMs: 50 });
    return linked.then(() => this.alignmentExchange.peerLinked(slot));
  }

  /** A slot thread links both ways with joining slot `slot` over the ports of their pair (after prepareJoin). */
  addPeerPorts(
    slot: number,
    ports: { outbound: MessagePort; inbound: MessagePort },
    timeoutMs = 30_000,
  ): Promise<void> {
    const linked = this.dataPlane.addPeerPorts(slot, ports, timeoutMs);
    return linked.then(() => this.alignmentExchange.peerLinked(slot));
  }

  /** Retires the links with `slot` (BYE: a clean close on both ends). */
  removePeer(slot: number): Promise<void> {
    return this.dataPlane.removePeer(slot);
  }

  /**
   * Slot 0: a live rescale to fewer slots (rescale-leave.ts): `plan` moves everything off the slots that leave,
   * which then drain, commit, leave the checkpoints and exit FINISHED; resolves with their final checkpoint's id.
   */
  scaleIn(plan: MigrationPlan, onStep?: (done: number) => void): Promise<number> {
    return this.drain.scaleIn(plan, onStep);
  }

  /** The running job (slot 0: its coordinator serves savepoints). */
  get executor(): JobExecutor | undefined {
    return this.job;
  }

  stop(opts: { drain?: boolean } = {}): void {
    this.stopRequest = { drain: opts.drain ?? false };
    if (this.state === 'CREATED') this.state = 'STOPPING';
    this.job?.stop(this.stopRequest);
  }

  /** The control API's GET /v1/status of this slot. */
  status(): StatusResponse {
    if (this.job && this.state === 'RUNNING')
      return jobStatusSource(this.job, {
        jobName: this.opts.jobName,
        deploymentId: this.opts.deploymentId,
        slot: this.opts.slot,
      }).status();
    const s = this.job?.status();
    const wm = s?.watermark;
    return {
      contractVersion: CONTRACT_VERSION,
      jobName: this.opts.jobName,
      deploymentId: this.opts.deploymentId,
      slot: this.opts.slot,
      parallelism: this.opts.parallelism,
      state: this.stopRequest && this.state === 'RUNNING' ? 'STOPPING' : this.state,
      ...(s ? { recordsIn: s.recordsIn, recordsOut: s.recordsOut } : {}),
      ...(wm !== undefined && wm > MIN_WATERMARK && wm < MAX_WATERMARK ? { watermarkMs: wm } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }
}
