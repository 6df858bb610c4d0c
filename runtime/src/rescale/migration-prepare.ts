// Before a live migration across processes moves anything (migration.ts), slot 0 asks every
// slot of another process that the plan touches whether it can take part (mig-prepare → mig-ready):
// a slot whose tasks finished (end of input) or are ending would never see a step's barrier, so
// its part would never be done. A refusal, or no answer within the step timeout, refuses the plan
// (TRIB_RESCALE_UNSUPPORTED, naming the slot); nothing moved, so the job runs on as it is.
// A slot that ends after answering is caught by the step's deadline (migration-deadline.ts).
// Each slot of the plan, slot 0's own included, first waits (bounded) until its sources are open and
// any partition assignment under way is done, then checks that it reads every partition the plan
// first moves from it: a migration asked right after the start would otherwise hand over a partition
// the slot does not read yet (TRIB_RESCALE_PLAN_INVALID, naming partition and slot, before anything moves).
import { TributaryError } from '../errors.ts';
import type { MigrationPlan, PartitionMove } from './plan.ts';
import { settlesWithin } from './migration-deadline.ts';
import type { MigrationRpc, MigrationTransport } from './migration-rpc.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';

/** Every slot a plan moves key groups or partitions to or from. */
export function slotsOfPlan(plan: MigrationPlan): Set<number> {
  const out = new Set<number>();
  for (const step of plan.steps) {
    for (const m of step.keyGroups) out.add(m.from).add(m.to);
    for (const m of step.partitions) out.add(m.from).add(m.to);
  }
  return out;
}

/** Each partition's first move in the plan: its `from` must read it when the plan starts. */
export function firstMoves(plan: MigrationPlan): PartitionMove[] {
  const first = new Map<string, PartitionMove>();
  for (const step of plan.steps)
    for (const m of step.partitions)
      if (!first.has(`${m.source}|${m.partition}`)) first.set(`${m.source}|${m.partition}`, m);
  return [...first.values()];
}

/**
 * Why slot `slot` of this process cannot start a plan that first moves `moves` (of every slot), once its
 * sources are open and done assigning (bounded by `timeoutMs`): a task of it finished, or it does not read
 * a partition the plan moves from it.
 */
export async function cannotStart(
  chains: readonly MigratingChain[],
  slot: number,
  moves: readonly Pick<PartitionMove, 'source' | 'partition' | 'from'>[],
  timeoutMs: number,
): Promise<TributaryError | undefined> {
  const refuse = (code: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID', why: string): TributaryError =>
    new TributaryError(code, `live rescale: slot ${slot}: ${why}`);
  const sources = chains.filter((c) => c.slot === slot && c.source !== undefined && !c.chain.done);
  const settled = Promise.all(sources.map((c) => c.source?.reader.partitionsSettled?.()));
  if (!(await settlesWithin(settled, timeoutMs)))
    return refuse('TRIB_RESCALE_UNSUPPORTED', `its partition assignment did not finish within ${timeoutMs} ms`);
  const ended = unableToMigrate(chains, slot);
  if (ended !== undefined) return refuse('TRIB_RESCALE_UNSUPPORTED', ended);
  for (const m of moves) {
    const src = sources.find((c) => c.source?.name === m.source)?.source;
    if (m.from === slot && src && !src.reader.ownedPartitions?.().includes(m.partition))
      return refuse(
        'TRIB_RESCALE_PLAN_INVALID',
        `the plan moves partition ${m.partition} of source "${m.source}" from slot ${slot}, which does not read it`,
      );
  }
  return undefined;
}

/** Slot `from` (slot 0) asks slot `msg.slot` of this process whether it can take part: answers once it knows. */
export function answerPrepare(
  chains: readonly MigratingChain[],
  transport: MigrationTransport | undefined,
  from: number,
  msg: Extract<MigrationRpc, { m: 'mig-prepare' }>,
  timeoutMs: number,
): void {
  const moves = (msg.partitions ?? []).map(([source, partition]) => ({ source, partition, from: msg.slot }));
  void cannotStart(chains, msg.slot, moves, timeoutMs).then((e) => {
    const why = e ? { error: e.message.replace(`live rescale: slot ${msg.slot}: `, ''), code: e.code } : {};
    transport?.send(from, { m: 'mig-ready', id: msg.id, slot: msg.slot, ...why } as MigrationRpc);
  });
}

/** Why slot `slot` of this process cannot take part, or undefined: a task of it finished or is ending. */
export function unableToMigrate(chains: readonly MigratingChain[], slot: number): string | undefined {
  const ended = chains.filter((c) => c.slot === slot && c.chain.done);
  if (ended.length === 0) return undefined;
  const name = (c: MigratingChain): string =>
    c.source ? `source task "${c.source.name}"` : `task of step "${c.chain.stateful[0]?.stateName ?? '?'}"`;
  const what = ended.map(name).join(', ');
  return `its ${what} finished (end of input): it would never see a step's barrier`;
}

/** One round of mig-prepare, driven by slot 0: settles once every asked slot answered yes. */
export class PrepareRound {
  private static next = 1;
  readonly id = PrepareRound.next++;
  private readonly waiting: Set<number>;
  private settle: (e?: Error) => void = () => undefined;
  readonly done: Promise<void>;

  constructor(
    transport: MigrationTransport,
    slots: readonly number[],
    timeoutMs: number,
    moves: readonly PartitionMove[] = [],
  ) {
    this.waiting = new Set(slots);
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (e) => (e ? reject(e) : resolve());
    });
    const timer = setTimeout(() => {
      const missing = [...this.waiting].sort((a, b) => a - b).join(', ');
      this.settle(
        new TributaryError(
          'TRIB_RESCALE_UNSUPPORTED',
          `live rescale: slot ${missing} did not answer whether it can take part (mig-prepare) within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    void this.done.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    if (this.waiting.size === 0) this.settle();
    for (const s of slots) {
      const partitions = moves.filter((m) => m.from === s).map((m): [string, number] => [m.source, m.partition]);
      transport.send(s, { m: 'mig-prepare', id: this.id, slot: s, partitions });
    }
  }

  /** A mig-ready of this round. */
  answer(msg: Extract<MigrationRpc, { m: 'mig-ready' }>): void {
    if (msg.id !== this.id || !this.waiting.has(msg.slot)) return;
    if (msg.error !== undefined)
      this.settle(
        new TributaryError(msg.code ?? 'TRIB_RESCALE_UNSUPPORTED', `live rescale: slot ${msg.slot}: ${msg.error}`),
      );
    this.waiting.delete(msg.slot);
    if (this.waiting.size === 0) this.settle();
  }
}
