// One step of a live migration as a process keeps it (migration.ts): its moves, the hand-offs
// and positions that arrived, and what this process's chains still have to do for it.
import type { MigrationStepOnWire } from '../checkpoint/messages.ts';
import type { HandedWatermark, SourceReader, TakenWatermark } from '../connectors/api.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { MigrationStep, PartitionMove } from './plan.ts';
import type { KeyGroupHandoff } from '../state/key-group-handoff.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';

/** One step as a process keeps it, from its trigger until its part is done. */
export interface ActiveStep {
  index: number;
  wire: MigrationStepOnWire;
  /** Slots of other processes whose report (mig-done) the driving process still awaits. */
  reports: Set<number>;
  /** The step's moves by new owner, then by old owner. */
  moves: Map<number, Map<number, number[]>>;
  barrierId: number | undefined;
  /** Hand-offs by `<step name>|<new owner>`. */
  handoffs: Map<string, KeyGroupHandoff[]>;
  /** Chains of new owners that hold key groups and wait for their hand-offs. */
  waiting: Set<MigratingChain>;
  /** Chains of new owners the step's barrier reached. */
  reached: Set<MigratingChain>;
  /**
   * Chains of new owners still to install (key groups) or take over (partitions), and of old owners still to
   * hand partitions over; the step is done at 0 (and with every report).
   */
  installs: number;
  partitions: PartitionMove[];
  /** Handed-over positions by `<source>|<partition>`. */
  handed: Map<string, bigint>;
  /** Handed-over watermark floors by `<source>|<partition>`; `post` runs a callback where the floor may go. */
  floors: Map<string, { w: HandedWatermark; post(cb: () => void): void }>;
  /** Source chains of new owners the barrier reached that have not taken their partitions over. */
  takers: Set<MigratingChain>;
  /** The old owners' consumer restarts. */
  restarts: Promise<void>[];
  settle(e?: unknown): void;
  done: Promise<void>;
}

/** A step's bookkeeping in a process: its moves, and what its chains there still have to do. */
export function newStep(chains: readonly MigratingChain[], index: number, step: MigrationStep): ActiveStep {
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
  done.catch(() => undefined); // awaited by the caller; a failure before that is not unhandled
  const installs =
    chains.filter((c) => moves.has(c.slot) && keyed(c.chain.stateful).length > 0).length +
    chains.filter((c) => incoming(step.partitions, c).length > 0).length +
    chains.filter((c) => outgoing(step.partitions, c).length > 0).length;
  const keyGroups = step.keyGroups.map(({ keyGroup, from, to }) => ({ keyGroup, from, to }));
  return {
    index,
    wire: { index, keyGroups, partitions: step.partitions },
    reports: new Set(),
    moves,
    barrierId: undefined,
    handoffs: new Map(),
    waiting: new Set(),
    reached: new Set(),
    installs,
    partitions: step.partitions,
    handed: new Map(),
    floors: new Map(),
    takers: new Set(),
    restarts: [],
    settle,
    done,
  };
}

/** A source reader whose partitions can move (checked before a plan runs). */
export type Movable = SourceReader & Required<Pick<SourceReader, 'handOverPartitions' | 'takeOverPartitions'>>;

export type Keyed = StatefulOperator & { keyedBackend: NonNullable<StatefulOperator['keyedBackend']> };

/** The step's partition moves into source chain `c`'s slot, of its source. */
export function incoming(moves: readonly PartitionMove[], c: MigratingChain): PartitionMove[] {
  return c.source ? moves.filter((m) => m.to === c.slot && m.source === c.source?.name) : [];
}

/** The step's partition moves out of source chain `c`'s slot, of its source. */
export function outgoing(moves: readonly PartitionMove[], c: MigratingChain): PartitionMove[] {
  return c.source ? moves.filter((m) => m.from === c.slot && m.source === c.source?.name) : [];
}

export function keyed(ops: readonly StatefulOperator[]): Keyed[] {
  return ops.filter((op): op is Keyed => op.keyedBackend !== undefined);
}

/** The slots whose part of `step` is reported: new owners of key groups (keyed job), both ends of partition moves. */
export function involvedSlots(step: ActiveStep, chains: readonly MigratingChain[]): Set<number> {
  const keyedJob = chains.some((c) => keyed(c.chain.stateful).length > 0);
  const slots = new Set<number>(keyedJob ? step.moves.keys() : []);
  for (const m of step.partitions) slots.add(m.from).add(m.to);
  return slots;
}

/**
 * The watermarks the new owner starts `moves`' partitions at (exec/watermark-handover.ts): each old
 * owner's floor, released in the old owner's loop once the new owner reports it caught up.
 */
export function takenWatermarks(step: ActiveStep, moves: readonly PartitionMove[]): Map<number, TakenWatermark> {
  const out = new Map<number, TakenWatermark>();
  for (const m of moves) {
    const f = step.floors.get(`${m.source}|${m.partition}`);
    if (f) out.set(m.partition, { watermark: f.w.watermark, caughtUp: (b) => f.post(() => f.w.releaseAt(b)) });
  }
  return out;
}
