// A slot process's part of a scale in across slot processes (docs/design/live-rescale.md §5; distributed.md
// "Scale in across slot processes"): it carries out the drain messages (rescale/leave-rpc.ts) for its own
// slot (rescale/leave-across.ts), on slot 0 it drives them (rescale/leave-across-coordinator.ts), and it
// retires the data-plane links with a slot that left. `scaleIn(plan)` is slot 0's one entry: migrate, then drain.
//
// Links: a leaving slot, once its job finished (final checkpoint committed, sinks closed 'finished'), tells every
// peer (mig-left) and then retires its links with each (DataPlane.removePeer: BYE on both links, so neither end
// counts the close as a failure); each remaining slot then removes it too (its links already retired, this only
// forgets it). A leaving slot that fails instead destroys its links: its peers fail, and so does the job.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import type { DrainRpc } from '../rescale/leave-rpc.ts';
import { LeaveAcrossCoordinator } from '../rescale/leave-across-coordinator.ts';
import { endChannels, endSources, forgetInputs, leave } from '../rescale/leave-across.ts';
import type { Channel } from '../core/channel.ts';
import type { DataPlane } from '../net/data-plane.ts';
import type { NetMetrics } from '../net/net-metrics.ts';
import type { MigrationPlan } from '../rescale/plan.ts';

export interface SlotProcessLeaveOptions {
  slot: number;
  /** Slots of the job at start. */
  parallelism: number;
  dataPlane: Pick<DataPlane, 'sendControl' | 'inboundChannel' | 'removePeer' | 'outbound' | 'inbound' | 'metrics'>;
  /** Remote channels per ordered slot pair (slot-process.ts remoteChannelIds). */
  channels: number;
  /** The bound on each wait of a drain (the checkpoint timeout). */
  timeoutMs: number;
  logger: Logger;
  /** Slot `slot` left the job and its links are retired (alignment-exchange.ts forgets its members). */
  peerLeft?: (slot: number) => void;
}

export class SlotProcessLeave {
  private readonly o: SlotProcessLeaveOptions;
  private job: JobExecutor | undefined;
  private driver: LeaveAcrossCoordinator | undefined;
  /** This slot left the job: once its run ended it says so and retires its links. */
  private leftJob = false;
  /** A draining slot watches its links (`watchLinks`) until its run ended. */
  private watching = false;
  /** The other slots of the job now. */
  private readonly peers = new Set<number>();

  constructor(o: SlotProcessLeaveOptions) {
    this.o = o;
    for (let s = 0; s < o.parallelism; s++) if (s !== o.slot) this.peers.add(s);
  }

  /** This slot left the job in a scale in (its run ends FINISHED without reaching the end of its input). */
  get left(): boolean {
    return this.leftJob;
  }

  /** A live rescale to `parallelism` joins slots: they are this slot's peers from now on. */
  joining(parallelism: number): void {
    for (let s = 0; s < parallelism; s++) if (s !== this.o.slot) this.peers.add(s);
  }

  /** The job's other slots now: joined ones included, ones that left not. */
  get peerSlots(): ReadonlySet<number> {
    return this.peers;
  }

  /** The slot's job, built. */
  attach(job: JobExecutor): void {
    this.job = job;
    const coordinator = job.coordinator;
    if (!coordinator) return;
    const ctx = job.drainContext;
    this.driver = new LeaveAcrossCoordinator({
      send: (slot, msg) => this.send(slot, msg),
      triggerCheckpoint: () => job.triggerCheckpoint(),
      exclusive: (fn) => coordinator.exclusive(fn),
      dismiss: (slot) => ctx.checkpoints.dismiss(slot),
      fail: (e) => ctx.fail(e),
      timeoutMs: this.o.timeoutMs,
      logger: this.o.logger,
    });
  }

  /**
   * Slot 0: a live rescale to fewer slots. `plan` (rescale/plan.ts, from → to) moves every key group and partition
   * off slots to..from−1 (JobExecutor.migrate), which then drain and leave; resolves once they left. A failure after
   * something moved fails the job (TRIB_RESCALE_STEP_FAILED).
   */
  async scaleIn(plan: MigrationPlan, onStep?: (done: number) => void): Promise<number> {
    const job = this.job;
    if (!job || !this.driver)
      throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: scale in is driven by slot 0, running');
    if (plan.to >= plan.from || plan.from !== this.peers.size + 1)
      throw new TributaryError(
        'TRIB_RESCALE_PLAN_INVALID',
        `live rescale: a plan ${plan.from} → ${plan.to} does not scale in a job of ${this.peers.size + 1} slots`,
      );
    await job.migrate(plan, onStep);
    return this.drain(plan.to, plan.from);
  }

  /** Slot 0: slots `from`..`to`−1 (which own nothing) drain and leave (leave-across-coordinator.ts). */
  drain(from: number, to: number): Promise<number> {
    if (!this.driver) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: only slot 0 drains slots');
    return this.driver.run(from, to);
  }

  /** The checkpoint RPC's `committed` of `slot` (slot 0). */
  committed(slot: number, checkpointId: number): void {
    this.driver?.committed(slot, checkpointId);
  }

  receive(from: number, msg: DrainRpc): void {
    const job = this.job;
    if (!job) return;
    const ctx = job.drainContext;
    const failed =
      (what: string) =>
      (e: unknown): void =>
        ctx.fail(
          new TributaryError('TRIB_RESCALE_STEP_FAILED', `live rescale: slot ${this.o.slot} ${what}: ${String(e)}`, {
            cause: e,
          }),
        );
    switch (msg.m) {
      case 'mig-drain':
        if (this.o.slot >= msg.from) {
          this.watchLinks();
          endSources(ctx, msg.from, this.o.timeoutMs).then(
            () => this.send(0, { m: 'mig-drained', slot: this.o.slot }),
            (e: unknown) => this.send(0, { m: 'mig-drained', slot: this.o.slot, error: String(e) }),
          );
        } else endChannels(ctx, msg.from, msg.to).catch(failed('could not end its channels to the draining slots'));
        break;
      case 'mig-leave':
        if (this.o.slot >= msg.from) {
          this.leftJob = true;
          try {
            leave(ctx, msg.from, msg.checkpointId);
          } catch (e) {
            failed('could not leave')(e);
          }
        } else {
          forgetInputs(ctx, msg.from, this.inputsFrom(msg.from, msg.to)).catch(failed('could not drop ended inputs'));
          job.migration?.resize(msg.from);
          ctx.setParallelism(msg.from);
        }
        break;
      case 'mig-left':
        if (!this.peers.delete(from)) break;
        this.o.dataPlane.removePeer(from).then(
          () => {
            forgetPeerSeries(this.o.dataPlane.metrics, from);
            this.o.peerLeft?.(from);
            this.driver?.receive(from, msg);
          },
          (e: unknown) => this.o.logger.warn({ peer: from, err: String(e) }, 'data plane: removing a drained peer'),
        );
        break;
      default:
        this.driver?.receive(from, msg);
    }
  }

  /** The slot's run ended (failed): a link closing from now on is no failure of a drain. */
  stop(): void {
    this.watching = false;
  }

  /** After the slot's job finished: a slot that left tells its peers, then retires its links with each (BYE). */
  async afterRun(): Promise<void> {
    this.watching = false;
    if (!this.leftJob) return;
    const peers = [...this.peers];
    for (const s of peers) this.send(s, { m: 'mig-left', slot: this.o.slot });
    this.peers.clear();
    await Promise.all(peers.map((s) => this.o.dataPlane.removePeer(s)));
  }

  /**
   * A draining slot's tasks end, so nothing of it polls a channel any more — which is how a lost link fails a running
   * slot — and its channels all ended, so a link that closes counts as a clean close (peer-link.ts). Until its run
   * ended it watches its links itself: one that closes without BYE (slot 0 failed the rescale, a peer died) fails its
   * job, which would otherwise wait for ever for a final checkpoint no coordinator will complete.
   */
  private watchLinks(): void {
    if (this.watching) return;
    this.watching = true;
    const plane = this.o.dataPlane;
    for (const l of [...plane.outbound.values(), ...plane.inbound.values()])
      void l.closed().then(() => {
        if (!this.watching || l.retired) return;
        const why = `slot ${this.o.slot} is draining: its link with slot ${l.peerSlot} closed before it left`;
        this.job?.drainContext.fail(l.failure ?? new TributaryError('TRIB_NET_CONNECTION_LOST', why));
      });
  }

  /** The inbound channels this slot reads from slots `from`..`to`−1. */
  private inputsFrom(from: number, to: number): Channel[] {
    const out: Channel[] = [];
    for (let s = from; s < to; s++)
      for (let id = 0; id < this.o.channels; id++) out.push(this.o.dataPlane.inboundChannel(s, id));
    return out;
  }

  private send(slot: number, msg: DrainRpc): void {
    if (slot === this.o.slot) {
      queueMicrotask(() => this.receive(slot, msg));
      return;
    }
    if (!this.o.dataPlane.sendControl(slot, msg))
      this.o.logger.warn({ to: slot, m: msg.m }, 'drain message not sent: link to the slot is down');
  }
}

/** The data plane's series of a peer that left (its links closed: nothing counts on them any more). */
export function forgetPeerSeries(m: NetMetrics, slot: number): void {
  const label = String(slot);
  for (const c of [m.bytesSent, m.framesSent, m.backpressuredSeconds, m.queuedFrames]) c.remove(label);
  m.bytesReceived.remove(label);
}
