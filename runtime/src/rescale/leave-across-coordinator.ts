// Slot 0's side of a scale in across slot processes (docs/design/live-rescale.md §5): after a migration moved
// everything off slots `from`..`to`−1, they drain, take their final snapshot, commit, leave the checkpoint
// membership and exit; the job runs on at `from` slots. The messages are leave-rpc.ts's; what each process does
// for its own slot is leave-across.ts's. Order, and why:
//
// 1. mig-drain to every slot; wait for every leaving slot's mig-drained (its tasks all ended).
// 2. Trigger checkpoint C. It is triggered after every leaving task ended, so each leaving slot acknowledges it as
//    finished: its sinks pre-commit their last transaction in it (its final snapshot). Wait for C to complete and
//    for each leaving slot's `committed` of C (its sinks committed): only then may a checkpoint without the slot
//    complete — a later one does not carry the slot's transactions, so a restore from it could not commit them.
// 3. Inside the coordinator's exclusive section (no checkpoint pending: every checkpoint pending since C lists the
//    leaving slots as members and needs their acknowledgement, which they give while they wait): dismiss the
//    leaving slots from the membership (from the top; later checkpoints need `from` acknowledgements), then
//    mig-leave to every slot. Leaving slots take C as their final checkpoint and finish; remaining gates drop the
//    ended inputs.
// 4. Wait for every leaving slot's mig-left (its job finished, its sinks closed 'finished'), sent just before it
//    retires its links with BYE, so no remaining slot counts its going as a failure.
//
// Bounded: each wait lasts at most the step timeout (the checkpoint timeout); one that runs out, a failed C, or a
// leaving slot reporting an error fails the rescale with TRIB_RESCALE_STEP_FAILED naming the slots and what they
// owe, and fails the job (`fail`): the restart restores the last completed checkpoint, as after a failed step.
import type { Logger } from 'pino';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { TributaryError } from '../errors.ts';
import type { DrainRpc } from './leave-rpc.ts';
import { settlesWithin } from './migration-deadline.ts';

export interface LeaveAcrossCoordinatorContext {
  /** To slot `slot` (this process's own slot included: delivered here). */
  send(slot: number, msg: DrainRpc): void;
  triggerCheckpoint(): Promise<CompletedCheckpoint>;
  /** CheckpointCoordinator.exclusive: `fn` runs while no checkpoint is pending and none is triggered. */
  exclusive(fn: () => Promise<void>): Promise<void>;
  /** The slot leaves the checkpoint membership (JobCheckpointing.dismiss). */
  dismiss(slot: number): void;
  /** Fails the job (the rescale failed after something moved). */
  fail(e: unknown): void;
  timeoutMs: number;
  logger: Logger;
}

export class LeaveAcrossCoordinator {
  private readonly c: LeaveAcrossCoordinatorContext;
  private readonly drained = new Map<number, string | undefined>();
  private readonly left = new Set<number>();
  private readonly committedUpTo = new Map<number, number>();
  private waiters: (() => void)[] = [];
  private running = false;

  constructor(c: LeaveAcrossCoordinatorContext) {
    this.c = c;
  }

  /** A report of slot `from` (mig-drained, mig-left). */
  receive(from: number, msg: DrainRpc): void {
    if (msg.m === 'mig-drained') this.drained.set(msg.slot, msg.error);
    else if (msg.m === 'mig-left') this.left.add(from);
    else return;
    this.wake();
  }

  /** Slot `slot`'s sinks committed checkpoint `checkpointId` (the checkpoint RPC's `committed`). */
  committed(slot: number, checkpointId: number): void {
    this.committedUpTo.set(slot, Math.max(this.committedUpTo.get(slot) ?? 0, checkpointId));
    this.wake();
  }

  /** Slots `from`..`to`−1 drain and leave; resolves with their final checkpoint's id once every one left. */
  async run(from: number, to: number): Promise<number> {
    if (!Number.isInteger(from) || from < 1 || from >= to)
      throw new TributaryError('TRIB_RESCALE_PLAN_INVALID', `live rescale: slots ${from}..${to - 1} cannot drain`);
    if (this.running) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: slots are already draining');
    this.running = true;
    this.drained.clear();
    this.left.clear();
    const leaving = Array.from({ length: to - from }, (_, i) => from + i);
    const everySlot = Array.from({ length: to }, (_, i) => i);
    try {
      for (const s of everySlot) this.c.send(s, { m: 'mig-drain', from, to });
      await this.phase(leaving, 'did not finish (its tasks did not all end)', (s) => this.drained.has(s));
      const failed = leaving.filter((s) => this.drained.get(s) !== undefined);
      if (failed.length > 0)
        throw new TributaryError(
          'TRIB_RESCALE_STEP_FAILED',
          failed.map((s) => `slot ${s} could not drain: ${this.drained.get(s) ?? ''}`).join('; '),
        );
      let final: CompletedCheckpoint;
      try {
        final = await this.c.triggerCheckpoint();
      } catch (e) {
        throw new TributaryError(
          'TRIB_RESCALE_STEP_FAILED',
          `the final checkpoint of slots ${from}..${to - 1} failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
      const id = final.id;
      await this.phase(leaving, `did not commit its final checkpoint ${id}`, (s) => this.hasCommitted(s, id));
      await this.c.exclusive(async () => {
        for (const s of [...leaving].reverse()) this.c.dismiss(s);
        for (const s of everySlot) this.c.send(s, { m: 'mig-leave', from, to, checkpointId: id });
      });
      this.c.logger.info({ from, to, checkpointId: id }, 'live rescale: drained slots left the checkpoints');
      await this.phase(leaving, 'did not leave (its job did not finish after its final checkpoint)', (s) =>
        this.left.has(s),
      );
      return id;
    } catch (e) {
      const err =
        e instanceof TributaryError && e.code === 'TRIB_RESCALE_STEP_FAILED'
          ? e
          : new TributaryError('TRIB_RESCALE_STEP_FAILED', `live rescale: slots ${from}..${to - 1} could not drain`, {
              cause: e,
            });
      this.c.fail(err);
      throw err;
    } finally {
      this.running = false;
    }
  }

  private hasCommitted(slot: number, id: number): boolean {
    return (this.committedUpTo.get(slot) ?? 0) >= id;
  }

  /** Resolves once `done` holds for every slot of `slots`; else fails by the deadline naming those it does not. */
  private async phase(slots: readonly number[], owes: string, done: (s: number) => boolean): Promise<void> {
    const all = new Promise<void>((resolve) => {
      const check = (): void => {
        if (slots.every(done)) resolve();
        else this.waiters.push(check);
      };
      check();
    });
    if (await settlesWithin(all, this.c.timeoutMs)) return;
    const late = slots.filter((s) => !done(s));
    throw new TributaryError(
      'TRIB_RESCALE_STEP_FAILED',
      `live rescale: draining was not done within ${this.c.timeoutMs} ms: ` +
        late.map((s) => `slot ${s} ${owes}`).join('; '),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
