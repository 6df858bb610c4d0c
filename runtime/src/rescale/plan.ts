// The migration plan of a live rescale (docs/design/live-rescale.md, "The migration plan"):
// which key groups and source partitions change owner, in which steps, computed once before
// the migration starts. Pure and deterministic: the same input gives the same plan on every
// slot and in the operator.
//
// Invariants (plan.test.ts checks each by property):
// - the target of every key group is slotForKeyGroup(kg, to) and of every partition
//   partitionOwner(topic, p, to): the functions a restart at `to` uses, so a job restored at
//   `to` after the migration reads its state where the migration put it;
// - the current owner of a key group is slotForKeyGroup(kg, from) (a migration starts from a
//   settled assignment); of a partition, the owner the caller reports;
// - each key group and partition moves at most once, straight from its owner to its target;
// - per step and per slot, the bytes a slot sends plus those it receives are within the
//   budget (its stall: it encodes what leaves and installs what arrives), except a key group
//   larger than the budget, which is a step of its own;
// - all partition moves are in the first step (they carry an offset, no state: one consumer
//   reassignment per slot), counted as 0 bytes;
// - nothing to move is an empty plan.
import type { SourcePartition } from '../checkpoint/recorded-partitions.ts';
import { TributaryError } from '../errors.ts';
import { MAX_MAX_PARALLELISM, slotForKeyGroup } from '../state/key-groups.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';

export type { SourcePartition };

/** Bytes a step may move per slot: given, or a stall target at a transfer rate. */
export type StepBudget = { bytes: number } | { stallMs: number; bytesPerSecond: number };

export interface PlanInput {
  maxParallelism: number;
  /** Parallelism now. */
  from: number;
  /** Parallelism after the migration. */
  to: number;
  /** Bytes of keyed state per key group (summed over the stateful steps), index = key group. */
  keyGroupBytes: ArrayLike<number>;
  partitions: readonly SourcePartition[];
  budget: StepBudget;
}

export interface KeyGroupMove {
  keyGroup: number;
  from: number;
  to: number;
  bytes: number;
}

export interface PartitionMove {
  source: string;
  topic: string;
  partition: number;
  from: number;
  to: number;
}

export interface MigrationStep {
  /** Key groups ascending. */
  keyGroups: KeyGroupMove[];
  partitions: PartitionMove[];
  /** Bytes of the step's key groups. */
  bytes: number;
}

export interface MigrationPlan {
  maxParallelism: number;
  from: number;
  to: number;
  /** The per-slot budget the steps were sized to, in bytes. */
  budgetBytes: number;
  steps: MigrationStep[];
  totalBytes: number;
  movedKeyGroups: number;
  movedPartitions: number;
}

/** The budget in whole bytes, at least 1 (a smaller one would make every key group with state a step of its own). */
export function budgetBytes(b: StepBudget): number {
  const n = 'bytes' in b ? b.bytes : (b.stallMs * b.bytesPerSecond) / 1000;
  if (!Number.isFinite(n) || n < 1)
    invalid(
      `the step budget must be at least 1 byte, got ${'bytes' in b ? 'bytes' : 'stallMs × bytesPerSecond'} = ${n}`,
    );
  return Math.floor(n);
}

/**
 * First-fit looks at the most recent steps only: planning stays O(maxParallelism × window) at
 * 32768 key groups of a budget's size each, and moves of one slot pair (a contiguous run of key
 * groups) rarely fit in a step that many steps back.
 */
const PACKING_WINDOW = 256;

export function planMigration(input: PlanInput): MigrationPlan {
  const { maxParallelism: maxP, from, to, keyGroupBytes } = input;
  checkInput(input);
  const budget = budgetBytes(input.budget);

  const partitionMoves: PartitionMove[] = [];
  for (const p of input.partitions) {
    const target = partitionOwner(p.topic, p.partition, to);
    if (target !== p.owner)
      partitionMoves.push({ source: p.source, topic: p.topic, partition: p.partition, from: p.owner, to: target });
  }

  const steps: StepLoad[] = [];
  for (let kg = 0; kg < maxP; kg++) {
    const a = slotForKeyGroup(kg, from, maxP);
    const b = slotForKeyGroup(kg, to, maxP);
    if (a === b) continue;
    const move: KeyGroupMove = { keyGroup: kg, from: a, to: b, bytes: keyGroupBytes[kg] as number };
    if (move.bytes > budget) {
      steps.push(new StepLoad(move, true)); // alone: no other move adds to its stall
      continue;
    }
    let fit: StepLoad | undefined;
    for (let i = Math.max(0, steps.length - PACKING_WINDOW); i < steps.length && !fit; i++)
      if ((steps[i] as StepLoad).fits(move, budget)) fit = steps[i];
    if (fit) fit.add(move);
    else steps.push(new StepLoad(move));
  }
  if (partitionMoves.length > 0 && steps.length === 0) steps.push(new StepLoad());

  const out: MigrationStep[] = steps.map((s, i) => ({
    keyGroups: s.moves,
    partitions: i === 0 ? partitionMoves : [],
    bytes: s.bytes,
  }));
  return {
    maxParallelism: maxP,
    from,
    to,
    budgetBytes: budget,
    steps: out,
    totalBytes: out.reduce((n, s) => n + s.bytes, 0),
    movedKeyGroups: out.reduce((n, s) => n + s.keyGroups.length, 0),
    movedPartitions: partitionMoves.length,
  };
}

/** A step being packed: its moves and the bytes each slot sends or receives in it. */
class StepLoad {
  readonly moves: KeyGroupMove[] = [];
  bytes = 0;
  /** A step holding a key group over the budget takes nothing else. */
  private readonly oversize: boolean;
  /** Bytes per slot, sent and received together: a slot's stall is its encodes plus its installs. */
  private readonly load = new Map<number, number>();

  constructor(first?: KeyGroupMove, oversize = false) {
    this.oversize = oversize;
    if (first) this.add(first);
  }

  fits(m: KeyGroupMove, budget: number): boolean {
    if (this.oversize) return false;
    return (this.load.get(m.from) ?? 0) + m.bytes <= budget && (this.load.get(m.to) ?? 0) + m.bytes <= budget;
  }

  add(m: KeyGroupMove): void {
    this.moves.push(m);
    this.bytes += m.bytes;
    this.load.set(m.from, (this.load.get(m.from) ?? 0) + m.bytes);
    this.load.set(m.to, (this.load.get(m.to) ?? 0) + m.bytes);
  }
}

function checkInput(i: PlanInput): void {
  const { maxParallelism: maxP, from, to } = i;
  if (!Number.isSafeInteger(maxP) || maxP < 1 || maxP > MAX_MAX_PARALLELISM)
    invalid(`maxParallelism must be an integer in 1..${MAX_MAX_PARALLELISM}, got ${maxP}`);
  for (const [name, p] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isSafeInteger(p) || p < 1 || p > maxP)
      invalid(`parallelism ${name} must be an integer in 1..maxParallelism (${maxP}), got ${p}`);
  }
  if (i.keyGroupBytes.length !== maxP)
    invalid(`keyGroupBytes has ${i.keyGroupBytes.length} entries, maxParallelism is ${maxP} (one per key group)`);
  for (let kg = 0; kg < maxP; kg++) {
    const b = i.keyGroupBytes[kg] as number;
    if (!Number.isSafeInteger(b) || b < 0)
      invalid(`keyGroupBytes[${kg}] must be a whole number of bytes ≥ 0, got ${b}`);
  }
  const seen = new Set<string>();
  for (const p of i.partitions) {
    const id = `${p.source}/${p.topic}/${p.partition}`;
    if (!Number.isSafeInteger(p.partition) || p.partition < 0) invalid(`partition ${id}: not a partition number`);
    if (!Number.isSafeInteger(p.owner) || p.owner < 0 || p.owner >= from)
      invalid(`partition ${id}: owner ${p.owner} is not a slot of parallelism ${from}`);
    if (seen.has(id)) invalid(`partition ${id} is listed twice`);
    seen.add(id);
  }
}

function invalid(message: string): never {
  throw new TributaryError('TRIB_RESCALE_PLAN_INVALID', `migration plan: ${message}`);
}
