// A live rescale's key-group migration between slots (docs/design/live-rescale.md, "The protocol of
// one step"), in this process or, with a transport, across processes (below); slots that join or leave
// do so around it (join-*.ts, leave-*.ts). A plan (rescale/plan.ts) is carried out step by step; each
// step rides on a checkpoint barrier, armed before the coordinator triggers it. As that barrier passes a task
// (after the task's snapshot, before the barrier goes on: ChainCheckpoint.onStepBarrier):
//   - the task's stateful operators give up the step's key groups that leave its slot
//     (extractKeyGroups) and the hand-offs are kept for the new owners;
//   - the task's hash exchanges route the step's key groups to their new owners (reassign);
//   - a task whose slot receives key groups holds their records (GateTask.holdKeyGroups) until
//     every hand-off for it is here, installs them in its slot's mailbox, then releases them;
//   - a source task whose slot gives up Kafka partitions hands them over (their positions as of
//     the barrier: kafka/partition-handover.ts), and one whose slot receives them takes them over
//     at those positions once both its own barrier and every hand-over for it are here.
//
// Invariants:
// - a step binds to the first checkpoint triggered after it was armed, before any slot injects
//   that barrier (onTrigger runs synchronously in the coordinator's trigger), so every task
//   sees the step on the same barrier;
// - the checkpoint of the step's barrier records the step *before*: the old owner's snapshot is
//   taken before the extraction, the new owner installs only after its own snapshot of that
//   barrier; a later checkpoint records it *after* (its barrier waits behind the held gate);
// - operators of a slot are touched only from that slot's loop (installs are posted to it);
// - a partition is emitted before the step's barrier by its old owner only, after it by its new
//   owner only: the new owner takes it over after its own barrier, so the step's checkpoint
//   records it once, at the old owner; every later checkpoint, at the new owner (a checkpoint
//   triggers after the previous completed, so after the hand-over reached the new owner's loop);
// - a step whose barrier does not complete fails the job (TRIB_RESCALE_STEP_FAILED): some
//   producers may have flipped, so the running job is no longer consistent; the restart
//   restores the last completed checkpoint, which holds every key group once.
// Across processes (a MigrationTransport: slot processes linked by the data plane), each process
// has a LiveMigration for its own chains and slot 0's drives. The coordinator's trigger carries
// the step (TriggerCheckpoint.migrationStep) and each process binds it on receiving the trigger,
// before its slot injects the barrier; no chain of that slot can see the barrier earlier: a
// forward chain gets it only from its own slot's source, and a keyed consumer aligns on every
// producer, its own slot's too. Hand-offs and handed-over positions for a slot of another process
// go there as CONTROL messages (migration-rpc.ts), and are installed exactly as in one process;
// each process then reports its involved slots done to slot 0 (mig-done), whose step resolves only
// once its checkpoint completed and every report arrived. A process keeps a bound step until its
// checkpoint completed, not only until its part is done: an old owner's keyed task may see the barrier
// after the slot's partition hand-over was reported, and must still extract and send its key groups.
// A later checkpoint's trigger waits until the slot's take-overs have their positions (they come over
// another link than the trigger), so that checkpoint records every partition taken over exactly once.
// Slots the plan touches are first asked whether they can take part (migration-prepare.ts); each step's
// reports are bounded by the step timeout (migration-deadline.ts); watermark floors: floors-across.ts.
import { TributaryError } from '../errors.ts';
import type { MigrationPlan, MigrationStep } from './plan.ts';
import type { MigrationStepOnWire } from '../checkpoint/messages.ts';
import { extractKeyGroups, installKeyGroups } from '../state/key-group-handoff.ts';
import { slotForKeyGroup } from '../state/key-groups.ts';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from '../checkpoint/defaults.ts';
import { EarlyMigrationMessages } from './migration-early-messages.ts';
import { HeldTriggers } from './migration-held-triggers.ts';
import { FloorsAcross } from './floors-across.ts';
import { checkPlan } from './migration-check.ts';
import { missingParts, withinStepTimeout } from './migration-deadline.ts';
import { answerPrepare, cannotStart, firstMoves, PrepareRound, slotsOfPlan } from './migration-prepare.ts';
import {
  incoming,
  involvedSlots,
  keyed,
  newStep,
  outgoing,
  type ActiveStep,
  type Movable,
  takenWatermarks,
} from './migration-step.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';
import { handoffMessage, type MigrationRpc, type MigrationTransport } from './migration-rpc.ts';

export type { MigratingChain } from '../exec/migrating-chain.ts';

export class LiveMigration {
  private readonly maxParallelism: number;
  /** The slots its moves may touch: the job's, plus slots that joined (a live rescale resizes it: rescale-local.ts). */
  private parallelism: number;
  /** Current owner per key group. */
  private readonly owner: Int32Array;
  private readonly chains: MigratingChain[] = [];
  private armed: ActiveStep | undefined;
  private readonly byBarrier = new Map<number, ActiveStep>();
  private running = false;
  /** Slots in other processes: where hand-offs, positions and reports go. */
  private readonly transport: MigrationTransport | undefined;
  readonly early = new EarlyMigrationMessages(); // for barriers whose trigger has not come here (yet)
  /** Bound (not driven) steps whose part this process reported: kept until their checkpoint completes. */
  private readonly reported = new Set<number>();
  readonly remoteFloors: FloorsAcross; // partitions' floors handed to other processes
  /** The bound on a step's reports once its checkpoint completed, and on a prepare's answers (checkpoint timeout). */
  private readonly stepTimeoutMs: number;
  private prepare: PrepareRound | undefined;
  private readonly triggers = new HeldTriggers((id) =>
    [...this.byBarrier.values()].some((s) => s.barrierId !== undefined && s.barrierId < id && s.takers.size > 0),
  );

  constructor(o: {
    maxParallelism: number;
    parallelism: number;
    transport?: MigrationTransport | undefined;
    stepTimeoutMs?: number | undefined;
    /** The owner table now, for a slot process joining a running job (join-across.ts); default: the formula. */
    owners?: Int32Array | undefined;
    fail?: ((e: unknown) => void) | undefined; // a floor handed to another process stuck (floors-across.ts)
  }) {
    this.maxParallelism = o.maxParallelism;
    this.transport = o.transport;
    this.stepTimeoutMs = o.stepTimeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS;
    this.remoteFloors = new FloorsAcross({ timeoutMs: this.stepTimeoutMs, fail: o.fail ?? (() => undefined) });
    this.parallelism = o.parallelism;
    this.owner = new Int32Array(o.maxParallelism);
    for (let kg = 0; kg < o.maxParallelism; kg++) this.owner[kg] = slotForKeyGroup(kg, o.parallelism, o.maxParallelism);
    if (o.owners) this.owner.set(o.owners);
  }

  /** A copy of the current owner of every key group (a joining slot's hash exchanges route by it: join-local.ts). */
  owners(): Int32Array {
    return new Int32Array(this.owner);
  }

  /** Whether every key group is where the formula at `parallelism` puts it (a rescale plans from there). */
  settledAt(parallelism: number): boolean {
    return this.owner.every((s, kg) => s === slotForKeyGroup(kg, parallelism, this.maxParallelism));
  }

  /** A migration is running. */
  get busy(): boolean {
    return this.running;
  }

  /** Slots joined or drained: moves may touch slots 0..parallelism−1 from now on. */
  resize(parallelism: number): void {
    this.parallelism = parallelism;
  }

  /** Forgets the chains of a drained slot. */
  removeSlot(slot: number): void {
    this.remoteFloors.forgetSlot(slot);
    for (let i = this.chains.length - 1; i >= 0; i--)
      if ((this.chains[i] as MigratingChain).slot === slot) this.chains.splice(i, 1);
  }

  /** Registers a task's chain, once built. */
  addChain(c: MigratingChain): void {
    this.chains.push(c);
    c.chain.onStepBarrier = (id) => this.atBarrier(id, c);
  }

  /** Checkpoint `id` is being triggered (before any slot injects it): an armed step rides on it, returned for wires. */
  onTrigger(id: number): MigrationStepOnWire | undefined {
    this.early.forget((b) => b < id); // one checkpoint at a time: earlier ones completed or were aborted
    const step = this.armed;
    if (step) {
      this.armed = undefined;
      step.barrierId = id;
      this.byBarrier.set(id, step);
    }
    return this.transport ? this.byBarrier.get(id)?.wire : undefined;
  }

  /**
   * A process that does not drive: checkpoint `id`'s trigger carries step `wire` (called before this
   * process's slot is told). Once its chains' part is done it reports each involved slot to slot 0.
   */
  bind(id: number, wire: MigrationStepOnWire): void {
    if (this.byBarrier.has(id)) return;
    const moves = wire.keyGroups.map((m) => ({ ...m, bytes: 0 }));
    const step = newStep(this.chains, wire.index, { keyGroups: moves, partitions: [...wire.partitions], bytes: 0 });
    step.barrierId = id;
    this.byBarrier.set(id, step);
    const local = new Set(this.chains.map((c) => c.slot));
    const slots = [...involvedSlots(step, this.chains)].filter((s) => local.has(s));
    const report = (error?: string): void => {
      this.reported.add(id);
      if (error === undefined) for (const m of wire.keyGroups) this.owner[m.keyGroup] = m.to;
      for (const slot of slots)
        this.transport?.send(0, { m: 'mig-done', barrierId: id, slot, ...(error ? { error } : {}) });
    };
    step.done
      .then(() => Promise.all(step.restarts))
      .then(
        () => report(),
        (e: unknown) => report((e as Error).message),
      );
    for (const [from, msg] of this.early.take(id)) this.receive(from, msg);
  }

  /** Checkpoint `id` completed (not driving): tasks here passed barriers up to it; reported steps are done. */
  checkpointCompleted(id: number): void {
    this.early.forget((b) => b <= id); // their triggers came, or never will
    for (const b of this.reported)
      if (b <= id) {
        this.reported.delete(b);
        this.byBarrier.delete(b);
      }
  }

  /** Checkpoint `id`'s trigger for this process's slot (not driving): `go` runs once no earlier take-over waits. */
  afterTakeOvers(id: number, go: () => void): void {
    this.triggers.hold(id, go);
  }

  /** A message of the migration from slot `from` of another process. */
  receive(from: number, msg: MigrationRpc): void {
    if (msg.m === 'mig-prepare') return answerPrepare(this.chains, this.transport, from, msg, this.stepTimeoutMs / 2);
    if (msg.m === 'mig-ready') return this.prepare?.answer(msg);
    if (msg.m === 'mig-caught-up') return this.remoteFloors.release(msg); // by partition: the step may be gone
    const step = this.byBarrier.get(msg.barrierId);
    if (!step) {
      if (msg.m !== 'mig-done') this.early.hold(msg.barrierId, from, msg);
      return;
    }
    if (msg.m === 'mig-done') {
      if (msg.error !== undefined)
        step.settle(
          new TributaryError(
            'TRIB_RESCALE_STEP_FAILED',
            `live rescale step ${step.index}: slot ${msg.slot} failed its part (checkpoint ${msg.barrierId}): ${msg.error}`,
          ),
        );
      step.reports.delete(msg.slot);
      this.progress(step);
    } else if (msg.m === 'mig-handoff') {
      const key = `${msg.state}|${msg.to}`;
      const h = { keyGroups: msg.keyGroups, bytes: new Uint8Array(Buffer.from(msg.bytes, 'base64')) };
      step.handoffs.set(key, [...(step.handoffs.get(key) ?? []), h]);
      for (const w of step.waiting) if (w.slot === msg.to) w.post(() => this.tryInstall(step, w));
    } else {
      for (const [p, next] of msg.positions) step.handed.set(`${msg.source}|${p}`, BigInt(next));
      FloorsAcross.received(step, msg, this.transport);
      for (const w of step.takers) if (w.slot === msg.to) w.post(() => this.tryTakeOver(step, w));
    }
  }

  /** Settles `step` once every local install and take-over is done and every report arrived. */
  private progress(step: ActiveStep): void {
    if (step.installs === 0 && step.reports.size === 0) step.settle();
  }

  /**
   * Checkpoint `id` was aborted: a step riding on it fails, unless every install of it is done
   * already (its barrier passed every task). Its barrier may have passed some tasks only, so the
   * job must not run on (the caller fails it: TRIB_RESCALE_STEP_FAILED).
   */
  onAbort(id: number, reason: string): void {
    this.early.forget((b) => b === id);
    const step = this.byBarrier.get(id);
    if (!step || step.installs === 0) return;
    step.settle(
      new TributaryError(
        'TRIB_RESCALE_STEP_FAILED',
        `live rescale step ${step.index}: its barrier (checkpoint ${id}) was aborted (${reason}); routing may have flipped on some slots`,
      ),
    );
  }

  /**
   * Carries `plan` out step by step; `trigger` triggers a checkpoint and resolves once it
   * completed. Resolves when every step's key groups are installed at their new owners.
   */
  async run(plan: MigrationPlan, trigger: () => Promise<unknown>, onStep?: (done: number) => void): Promise<void> {
    const { running, maxParallelism, parallelism, chains, owner } = this;
    checkPlan(plan, { running, maxParallelism, parallelism, chains, owner, remote: this.transport !== undefined });
    const slots = [...slotsOfPlan(plan)];
    this.running = true;
    try {
      // Waits (bounded) for an assignment under way on each slot of the plan (migration-prepare.ts).
      const moves = firstMoves(plan);
      const local = slots.filter((s) => !this.isRemote(s));
      const refusals = await Promise.all(local.map((s) => cannotStart(this.chains, s, moves, this.stepTimeoutMs / 2)));
      const refused = refusals.find((e) => e !== undefined);
      if (refused) throw refused;
      const remote = slots.filter((s) => this.isRemote(s));
      if (this.transport)
        await (this.prepare = new PrepareRound(this.transport, remote, this.stepTimeoutMs, moves)).done;
      for (const [i, step] of plan.steps.entries()) {
        await this.runStep(i, step, trigger);
        onStep?.(i + 1);
      }
    } finally {
      this.running = false;
      this.prepare = undefined;
    }
  }

  private async runStep(index: number, step: MigrationStep, trigger: () => Promise<unknown>): Promise<void> {
    const active = newStep(this.chains, index, step);
    const { moves, done } = active;
    if (this.transport) {
      const local = new Set(this.chains.map((c) => c.slot));
      for (const s of involvedSlots(active, this.chains)) if (!local.has(s)) active.reports.add(s);
    }
    this.progress(active);
    this.armed = active;
    try {
      await trigger();
    } catch (e) {
      if (this.armed !== active)
        throw new TributaryError(
          'TRIB_RESCALE_STEP_FAILED',
          `live rescale step ${index}: its barrier (checkpoint ${active.barrierId}) did not complete; routing may have flipped on some slots`,
          { cause: e },
        );
      this.armed = undefined; // it never reached a barrier: nothing moved
      throw e;
    }
    // The checkpoint completed, so its barrier passed every task that had not finished: a new owner's task
    // (or a source taking or handing partitions over) it did not reach had ended and never will install.
    const ended = this.chains.filter(
      (c) =>
        !active.reached.has(c) &&
        ((moves.has(c.slot) && keyed(c.chain.stateful).length > 0) ||
          incoming(step.partitions, c).length > 0 ||
          outgoing(step.partitions, c).length > 0),
    );
    if (ended.length > 0)
      active.settle(
        new TributaryError(
          'TRIB_RESCALE_STEP_FAILED',
          `live rescale step ${index}: slot ${(ended[0] as MigratingChain).slot} had finished its input before the step's barrier (checkpoint ${active.barrierId})`,
        ),
      );
    const keyedJob = this.chains.some((c) => keyed(c.chain.stateful).length > 0);
    await withinStepTimeout(
      done.then(() => Promise.all(active.restarts)),
      this.stepTimeoutMs,
      () => missingParts(active, this.chains, keyedJob),
      `live rescale step ${index} (checkpoint ${active.barrierId})`,
    );
    if (active.barrierId !== undefined) this.byBarrier.delete(active.barrierId);
    for (const m of step.keyGroups) this.owner[m.keyGroup] = m.to;
  }

  /** The barrier of checkpoint `id` passes chain `c` (in its slot's loop). */
  private atBarrier(id: number, c: MigratingChain): void {
    const step = this.byBarrier.get(id);
    if (!step) return;
    try {
      if (c.source) this.sourceAtBarrier(step, c, c.source);
      const ops = keyed(c.chain.stateful);
      for (const [to, byFrom] of step.moves) {
        const kgs = byFrom.get(c.slot);
        if (!kgs) continue;
        for (const op of ops) {
          const h = extractKeyGroups(op.keyedBackend, kgs, `step "${op.stateName}", slot ${c.slot}`);
          if (this.isRemote(to)) {
            this.transport?.send(to, handoffMessage(id, op.stateName, c.slot, to, h));
            continue;
          }
          const key = `${op.stateName}|${to}`;
          step.handoffs.set(key, [...(step.handoffs.get(key) ?? []), h]);
        }
        for (const w of step.waiting) if (w.slot === to) w.post(() => this.tryInstall(step, w));
      }
      for (const ex of c.chain.exchanges)
        for (const [to, byFrom] of step.moves) for (const kgs of byFrom.values()) ex.reassign(kgs, to);
      const incoming = step.moves.get(c.slot);
      if (incoming && ops.length > 0) {
        c.gate?.holdKeyGroups([...incoming.values()].flat(), this.maxParallelism);
        step.reached.add(c);
        step.waiting.add(c);
        this.tryInstall(step, c);
      }
    } catch (e) {
      step.settle(e);
      throw e;
    }
  }

  /** A source task at the step's barrier, after its snapshot: hands its moving partitions over, takes its own. */
  private sourceAtBarrier(step: ActiveStep, c: MigratingChain, src: NonNullable<MigratingChain['source']>): void {
    const out = outgoing(step.partitions, c);
    if (out.length > 0) {
      step.reached.add(c);
      const h = (src.reader as Movable).handOverPartitions(out.map((m) => m.partition));
      h.restarted.catch(() => undefined); // awaited once the step is done
      step.restarts.push(h.restarted);
      for (const m of out) step.handed.set(`${m.source}|${m.partition}`, h.positions.get(m.partition) as bigint);
      for (const [p, w] of h.watermarks ?? []) step.floors.set(`${src.name}|${p}`, { w, post: (cb) => c.post(cb) });
      for (const w of step.takers) if (out.some((m) => m.to === w.slot)) w.post(() => this.tryTakeOver(step, w));
      for (const to of new Set(out.map((m) => m.to)))
        if (this.isRemote(to)) {
          const ps = out.filter((m) => m.to === to).map((m) => m.partition);
          const positions = ps.map((p): [number, string] => [p, String(h.positions.get(p))]);
          const msg = { m: 'mig-positions', barrierId: step.barrierId as number, source: src.name, from: c.slot, to };
          const watermarks = this.remoteFloors.hand(c, msg, ps, h.watermarks);
          this.transport?.send(to, { ...msg, positions, watermarks } as MigrationRpc);
        }
      step.installs--;
      this.progress(step);
    }
    if (incoming(step.partitions, c).length > 0) {
      step.reached.add(c);
      step.takers.add(c);
      this.tryTakeOver(step, c);
    }
  }

  /** Source chain `c` takes its partitions over once every one's position is here (in `c`'s slot loop). */
  private tryTakeOver(step: ActiveStep, c: MigratingChain): void {
    if (!step.takers.has(c)) return;
    const moves = incoming(step.partitions, c);
    const positions = new Map<number, bigint>();
    for (const m of moves) {
      const next = step.handed.get(`${m.source}|${m.partition}`);
      if (next === undefined) return;
      positions.set(m.partition, next);
    }
    step.takers.delete(c);
    const from = [...new Set(moves.map((m) => m.from))].join(', ');
    const reader = (c.source as NonNullable<MigratingChain['source']>).reader as Movable;
    const at = `the position slot ${from} handed over at checkpoint ${step.barrierId}`;
    reader.takeOverPartitions(positions, at, takenWatermarks(step, moves)).then(
      () => {
        step.installs--;
        this.progress(step);
      },
      (e: unknown) => step.settle(e),
    );
    this.triggers.release(); // the take-over started: a later barrier finds the partitions owned here
  }

  /** Installs the hand-offs for chain `c` once every old owner's are here (in `c`'s slot loop). */
  private tryInstall(step: ActiveStep, c: MigratingChain): void {
    if (!step.waiting.has(c)) return;
    const incoming = step.moves.get(c.slot) as Map<number, number[]>;
    const ops = keyed(c.chain.stateful);
    for (const op of ops) if ((step.handoffs.get(`${op.stateName}|${c.slot}`)?.length ?? 0) < incoming.size) return;
    try {
      for (const op of ops)
        for (const h of step.handoffs.get(`${op.stateName}|${c.slot}`) ?? [])
          installKeyGroups(op.keyedBackend, h, `step "${op.stateName}", slot ${c.slot}`);
      step.waiting.delete(c);
      c.gate?.installed([...incoming.values()].flat());
    } catch (e) {
      step.settle(e);
      throw e;
    }
    step.installs--;
    this.progress(step);
  }

  /** Slot `s` runs in another process (never with every slot here). */
  private isRemote(s: number): boolean {
    return this.transport !== undefined && !this.chains.some((c) => c.slot === s);
  }
}
