// A live rescale's key-group migration between slots of this process (docs/runtime/live-rescale.md,
// "The protocol of one step"; build step 3: every slot in one JobExecutor, no slot joins or
// leaves). A plan (rescale/plan.ts) is carried out step by step; each step rides on a checkpoint
// barrier, armed before the coordinator triggers it. As that barrier passes a task (after the
// task's snapshot, before the barrier goes on: ChainCheckpoint.onStepBarrier):
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
import { TributaryError } from '../errors.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { SourceReader } from '../connectors/api.ts';
import type { MigrationPlan, MigrationStep, PartitionMove } from '../rescale/plan.ts';
import { extractKeyGroups, installKeyGroups, type KeyGroupHandoff } from '../state/key-group-handoff.ts';
import { slotForKeyGroup } from '../state/key-groups.ts';
import type { ChainCheckpoint } from './chain-checkpoint.ts';
import type { GateTask } from './gate-task.ts';

/** A task's chain as the migration sees it (registered by the slot builder). */
export interface MigratingChain {
  slot: number;
  chain: ChainCheckpoint;
  /** The task's input gate; undefined for a source task. */
  gate: GateTask | undefined;
  /** Runs a callback in the slot's loop. */
  post(cb: () => void): void;
  /** A source task's source. */
  source?: { name: string; reader: SourceReader } | undefined;
}

interface ActiveStep {
  index: number;
  /** The step's moves by new owner, then by old owner. */
  moves: Map<number, Map<number, number[]>>;
  barrierId: number | undefined;
  /** Hand-offs by `<step name>|<new owner>`. */
  handoffs: Map<string, KeyGroupHandoff[]>;
  /** Chains of new owners that hold key groups and wait for their hand-offs. */
  waiting: Set<MigratingChain>;
  /** Chains of new owners the step's barrier reached. */
  reached: Set<MigratingChain>;
  /** Chains of new owners still to install (key groups) or take over (partitions); the step is done at 0. */
  installs: number;
  partitions: PartitionMove[];
  /** Handed-over positions by `<source>|<partition>`. */
  handed: Map<string, bigint>;
  /** Source chains of new owners the barrier reached that have not taken their partitions over. */
  takers: Set<MigratingChain>;
  /** The old owners' consumer restarts. */
  restarts: Promise<void>[];
  settle(e?: unknown): void;
  done: Promise<void>;
}

export class LiveMigration {
  private readonly maxParallelism: number;
  /** The slots its moves may touch: the job's, plus slots that joined (a live rescale resizes it: live-rescale.ts). */
  private parallelism: number;
  /** Current owner per key group. */
  private readonly owner: Int32Array;
  private readonly chains: MigratingChain[] = [];
  private armed: ActiveStep | undefined;
  private readonly byBarrier = new Map<number, ActiveStep>();
  private running = false;

  constructor(o: { maxParallelism: number; parallelism: number }) {
    this.maxParallelism = o.maxParallelism;
    this.parallelism = o.parallelism;
    this.owner = new Int32Array(o.maxParallelism);
    for (let kg = 0; kg < o.maxParallelism; kg++) this.owner[kg] = slotForKeyGroup(kg, o.parallelism, o.maxParallelism);
  }

  /** A copy of the current owner of every key group (a joining slot's hash exchanges route by it: slot-join.ts). */
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
    for (let i = this.chains.length - 1; i >= 0; i--)
      if ((this.chains[i] as MigratingChain).slot === slot) this.chains.splice(i, 1);
  }

  /** Registers a task's chain, once built. */
  addChain(c: MigratingChain): void {
    this.chains.push(c);
    c.chain.onStepBarrier = (id) => this.atBarrier(id, c);
  }

  /** The coordinator is triggering checkpoint `id` (before any slot injects it): an armed step rides on it. */
  onTrigger(id: number): void {
    const step = this.armed;
    if (!step) return;
    this.armed = undefined;
    step.barrierId = id;
    this.byBarrier.set(id, step);
  }

  /**
   * Checkpoint `id` was aborted: a step riding on it fails, unless every install of it is done
   * already (its barrier passed every task). Its barrier may have passed some tasks only, so the
   * job must not run on (the caller fails it: TRIB_RESCALE_STEP_FAILED).
   */
  onAbort(id: number, reason: string): void {
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
    this.check(plan);
    this.running = true;
    try {
      for (const [i, step] of plan.steps.entries()) {
        await this.runStep(i, step, trigger);
        onStep?.(i + 1);
      }
    } finally {
      this.running = false;
    }
  }

  private async runStep(index: number, step: MigrationStep, trigger: () => Promise<unknown>): Promise<void> {
    const moves = new Map<number, Map<number, number[]>>();
    for (const m of step.keyGroups) {
      const from = moves.get(m.to) ?? new Map<number, number[]>();
      moves.set(m.to, from);
      from.set(m.from, [...(from.get(m.from) ?? []), m.keyGroup]);
    }
    let settle: (e?: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (e) => (e === undefined ? resolve() : reject(e as Error));
    });
    const installs =
      this.chains.filter((c) => moves.has(c.slot) && keyed(c.chain.stateful).length > 0).length +
      this.chains.filter((c) => incoming(step.partitions, c).length > 0).length;
    const active: ActiveStep = {
      index,
      moves,
      barrierId: undefined,
      handoffs: new Map(),
      waiting: new Set(),
      reached: new Set(),
      installs,
      partitions: step.partitions,
      handed: new Map(),
      takers: new Set(),
      restarts: [],
      settle,
      done,
    };
    done.catch(() => undefined); // awaited below; a failure before that is not unhandled
    if (installs === 0) settle();
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
    // The checkpoint completed, so its barrier passed every task that had not finished: a new
    // owner's task it did not reach had ended (end of input) and will never install its key groups.
    // The same for a source task taking partitions over or handing them over.
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
    await done;
    await Promise.all(active.restarts);
    if (active.barrierId !== undefined) this.byBarrier.delete(active.barrierId);
    for (const m of step.keyGroups) this.owner[m.keyGroup] = m.to;
  }

  /** Refuses, before anything moves, a plan this process cannot carry out. */
  private check(plan: MigrationPlan): void {
    const refuse = (code: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID', why: string): never => {
      throw new TributaryError(code, `live rescale: ${why}`);
    };
    if (this.running) refuse('TRIB_RESCALE_UNSUPPORTED', 'a migration is already running');
    if (plan.maxParallelism !== this.maxParallelism)
      refuse(
        'TRIB_RESCALE_PLAN_INVALID',
        `the plan is for maxParallelism ${plan.maxParallelism}, this job has ${this.maxParallelism}`,
      );
    const local = new Set(this.chains.map((c) => c.slot));
    for (const c of this.chains)
      for (const op of c.chain.stateful) {
        if (op.keyedBackend === undefined)
          refuse('TRIB_RESCALE_UNSUPPORTED', `step "${op.stateName}" keeps state no key-group hand-off can move`);
        if (c.gate === undefined)
          refuse('TRIB_RESCALE_UNSUPPORTED', `step "${op.stateName}" keeps keyed state in a source task`);
      }
    const moves = plan.steps.flatMap((step, i) => step.keyGroups.map((m) => ({ i, m })));
    for (const [i, step] of plan.steps.entries())
      for (const m of step.partitions) {
        const what = `step ${i} moves partition ${m.partition} of source "${m.source}"`;
        const at = (s: number) => this.chains.find((c) => c.slot === s && c.source?.name === m.source)?.source;
        const [from, to] = [at(m.from), at(m.to)];
        if (!from || !to)
          throw new TributaryError(
            'TRIB_RESCALE_UNSUPPORTED',
            `live rescale: ${what} from slot ${m.from} to ${m.to}: no such source runs there`,
          );
        const topic = from.reader.movableTopic?.();
        if (topic === undefined || !from.reader.handOverPartitions || !to.reader.takeOverPartitions)
          refuse(
            'TRIB_RESCALE_UNSUPPORTED',
            `${what}, which cannot move its input between running slots: only an unbounded Kafka source can ` +
              '(an index source — datagen, collection, file — stripes its input by parallelism)',
          );
        if (topic !== m.topic)
          refuse('TRIB_RESCALE_PLAN_INVALID', `${what} of topic ${m.topic}, but it reads ${topic}`);
        if (!from.reader.ownedPartitions?.().includes(m.partition))
          refuse('TRIB_RESCALE_PLAN_INVALID', `${what} from slot ${m.from}, which does not read it`);
      }
    for (const { i, m } of moves)
      for (const s of [m.from, m.to])
        if (!local.has(s) || s >= this.parallelism)
          refuse(
            'TRIB_RESCALE_UNSUPPORTED',
            `step ${i} moves key group ${m.keyGroup} to or from slot ${s}, which does not run here`,
          );
    for (const { i, m } of moves)
      if (this.owner[m.keyGroup] !== m.from)
        refuse(
          'TRIB_RESCALE_PLAN_INVALID',
          `step ${i} moves key group ${m.keyGroup} from slot ${m.from}, but slot ${this.owner[m.keyGroup]} owns it`,
        );
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
      for (const w of step.takers) if (out.some((m) => m.to === w.slot)) w.post(() => this.tryTakeOver(step, w));
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
    reader.takeOverPartitions(positions, `the position slot ${from} handed over at checkpoint ${step.barrierId}`).then(
      () => {
        if (--step.installs === 0) step.settle();
      },
      (e: unknown) => step.settle(e),
    );
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
    if (--step.installs === 0) step.settle();
  }
}

/** A source reader whose partitions can move (checked before a plan runs). */
type Movable = SourceReader & Required<Pick<SourceReader, 'handOverPartitions' | 'takeOverPartitions'>>;

type Keyed = StatefulOperator & { keyedBackend: NonNullable<StatefulOperator['keyedBackend']> };

/** The step's partition moves into source chain `c`'s slot, of its source. */
function incoming(moves: readonly PartitionMove[], c: MigratingChain): PartitionMove[] {
  return c.source ? moves.filter((m) => m.to === c.slot && m.source === c.source?.name) : [];
}

/** The step's partition moves out of source chain `c`'s slot, of its source. */
function outgoing(moves: readonly PartitionMove[], c: MigratingChain): PartitionMove[] {
  return c.source ? moves.filter((m) => m.from === c.slot && m.source === c.source?.name) : [];
}

function keyed(ops: readonly StatefulOperator[]): Keyed[] {
  return ops.filter((op): op is Keyed => op.keyedBackend !== undefined);
}
