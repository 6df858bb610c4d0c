// A slot of another process joins the running job (live rescale, scale out, across processes:
// docs/design/live-rescale.md §4; distributed.md "A slot process joins: its slot and its wiring").
// The joiner is linked with every running slot already (join-link.ts). Slot 0 then:
//
// 1. sends it `join-state` (the owner table now): the joiner builds its slot as join-local.ts does
//    in one process (every input from every slot, exchanges routing by that table, backends owning
//    nothing, sources owning no partition, its own sink writers, nothing restored), opens it and
//    runs its loop, then answers `join-built`;
// 2. enters the coordinator's exclusive section only when the last checkpoint issued completed:
//    every task acknowledged it, so no barrier is in flight on any channel, and none is triggered
//    while inside (BarrierAligner.addInput's precondition). After a failed one it triggers and
//    awaits one more first, since that one's barriers may still be in flight;
// 3. inside, sends `join-wire` to every other running slot and wires its own tasks: producers gain
//    the channel to the joiner (addOutputChannel), consumers the input from it (GateTask.addInput),
//    each in its task's loop; every running slot's migration learns the new slot (resize);
// 4. waits for every `join-wired`, bounded by the step timeout (a lost one fails the job naming the
//    slot: some running slots may wire and others not, and their next barriers would never align);
// 5. admits the joiner as a checkpoint member and leaves the section: the first checkpoint triggered
//    after it is the joiner's first. No key group and no partition routes to it until a step moves
//    some (JobExecutor.migrate with the plan at the new parallelism).
//
// The owner table cannot change between 1 and 5: a join is refused while a migration runs, and the
// caller migrates only once the join resolved (JobExecutor.rescale, across processes: rescale-across.ts).
import type { Logger } from 'pino';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import { TributaryError } from '../errors.ts';
import type { JoinRpc, JoinTransport } from './join-rpc.ts';
import { withinStepTimeout } from './migration-deadline.ts';

/** Failed checkpoints in a row after which a join gives up waiting for a quiet moment (nothing moved then). */
const QUIET_TRIES = 5;

export interface JoinAcrossContext {
  transport: JoinTransport;
  /** Slot 0's coordinator (undefined in the other slots' processes: they only wire). */
  coordinator: Pick<CheckpointCoordinator, 'exclusive' | 'lastIssuedCompleted' | 'parallelism'> | undefined;
  /** The slots of this process. */
  local: readonly number[];
  triggerCheckpoint(): Promise<unknown>;
  /** The current owner of every key group (LiveMigration). */
  owners(): Int32Array;
  /** Whether a migration runs (a join is refused then: the owner table must not change under it). */
  migrating(): boolean;
  /** Adds the channels to and from joining slot `s` to the running tasks of this process, in their loops. */
  wireLocal(s: number): Promise<void>;
  /** Slot `s` becomes a checkpoint member (slot 0, inside the exclusive section). */
  admit(s: number): void;
  /** The bound on each wait (the checkpoint timeout, as a migration step's). */
  timeoutMs: number;
  fail(e: unknown): void;
  logger: Logger;
}

export class JoinAcross {
  private readonly c: JoinAcrossContext;
  /** Messages arrived ("m|slot|from"), and the waits for them. */
  private readonly arrived = new Set<string>();
  private readonly waits = new Map<string, () => void>();

  constructor(c: JoinAcrossContext) {
    this.c = c;
  }

  /**
   * Slot 0: slot `s`, linked with every running slot and running its process (SlotProcess with `join`), joins.
   * Resolves once it is a checkpoint member.
   */
  async join(s: number): Promise<void> {
    const { c } = this;
    const coordinator = c.coordinator;
    if (!coordinator) throw new TributaryError('TRIB_INVARIANT', 'a slot joins only through slot 0 (its coordinator)');
    const running = coordinator.parallelism;
    if (s !== running)
      throw new TributaryError(
        'TRIB_RESCALE_UNSUPPORTED',
        `slot ${s} cannot join: the next slot to join is ${running}`,
      );
    if (c.migrating()) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', `slot ${s} cannot join during a migration`);
    const built = this.wait('join-built', s, s);
    c.transport.send(s, { m: 'join-state', slot: s, owners: [...c.owners()] });
    try {
      await withinStepTimeout(
        built,
        c.timeoutMs,
        () => `no join-built from slot ${s}`,
        `live rescale: slot ${s}'s build`,
      );
    } finally {
      this.forget('join-built', s, s);
    }
    for (let failed = 0; ; failed++) {
      const entered = await coordinator.exclusive(async () => {
        if (!coordinator.lastIssuedCompleted) return false;
        await this.wire(s, running);
        c.admit(s);
        return true;
      });
      if (entered) break;
      if (failed === QUIET_TRIES)
        throw new TributaryError(
          'TRIB_RESCALE_UNSUPPORTED',
          `slot ${s} cannot join: ${QUIET_TRIES} checkpoints in a row failed (no moment without a barrier in flight)`,
        );
      await c.triggerCheckpoint().catch(() => undefined);
    }
    c.logger.info({ slot: s }, 'slot joined: wired and a checkpoint member');
  }

  /** Inside the exclusive section: every running slot 0..running−1 wires `s`; a wait past the timeout fails the job. */
  private async wire(s: number, running: number): Promise<void> {
    const { c } = this;
    const others = [...Array(running).keys()].filter((r) => !c.local.includes(r));
    const wired = others.map((r) => this.wait('join-wired', s, r));
    for (const r of others) c.transport.send(r, { m: 'join-wire', slot: s });
    try {
      await c.wireLocal(s);
      await withinStepTimeout(
        Promise.all(wired),
        c.timeoutMs,
        () => `no join-wired from slot ${others.filter((r) => !this.arrived.has(key('join-wired', s, r))).join(', ')}`,
        `live rescale: slot ${s}'s wiring into the running slots`,
      );
    } catch (e) {
      c.fail(e);
      throw e;
    } finally {
      for (const r of others) this.forget('join-wired', s, r);
    }
  }

  /** A join message from slot `from` (join-state is the joining process's, before its executor exists). */
  receive(from: number, msg: JoinRpc): void {
    switch (msg.m) {
      case 'join-built':
      case 'join-wired':
        this.arrive(msg.m, msg.slot, from);
        break;
      case 'join-wire':
        this.c.wireLocal(msg.slot).then(
          () => this.c.transport.send(from, { m: 'join-wired', slot: msg.slot }),
          (e: unknown) => this.c.fail(e),
        );
        break;
      default:
        this.c.logger.warn({ from, m: msg.m }, 'join message not for a running executor');
    }
  }

  private wait(m: string, slot: number, from: number): Promise<void> {
    const k = key(m, slot, from);
    if (this.arrived.has(k)) return Promise.resolve();
    return new Promise<void>((resolve) => this.waits.set(k, resolve));
  }

  private arrive(m: string, slot: number, from: number): void {
    const k = key(m, slot, from);
    this.arrived.add(k);
    this.waits.get(k)?.();
    this.waits.delete(k);
  }

  private forget(m: string, slot: number, from: number): void {
    const k = key(m, slot, from);
    this.arrived.delete(k);
    this.waits.delete(k);
  }
}

function key(m: string, slot: number, from: number): string {
  return `${m}|${slot}|${from}`;
}
