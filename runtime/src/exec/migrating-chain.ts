// What the slot builder tells a live migration (rescale/migration.ts) about each task it builds: the
// hook by which the rescale wing, above this layer, reaches a running task's chain, gate and source.
import type { SourceReader } from '../connectors/api.ts';
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

/** Where the slot builder registers every task it builds (a job with a live migration). */
export interface MigratingChains {
  addChain(c: MigratingChain): void;
}
