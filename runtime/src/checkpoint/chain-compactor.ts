// Background compaction of incremental checkpoints (checkpoint-format.md, "Incremental
// checkpoints"): once a completed checkpoint's chain of a step is worth it (worthCompacting), the
// slot folds the chain into one full snapshot (state/delta-merge.ts) off the checkpoint path,
// writes it into that checkpoint's folder, and later checkpoints reference it instead of the
// chain. So a restore reads few files and the full snapshot a chain would otherwise end with
// (MAX_DELTAS) is rarely taken in the mailbox. Entries of TTL'd states that have expired are
// dropped from the merged file (state-ttl.ts), so deltas never carry them forever.
//
// Invariants: the merged file holds exactly what the chain restores, less expired TTL entries (it is built from the
// chain's verified files, not from live state, so it needs no barrier); it is used only once it
// is durable; one compaction per slot at a time; a failure is logged and changes nothing (the
// chain stays as it was, and grows to MAX_DELTAS at worst; while one runs, to MAX_DELTAS_COMPACTING).
import type { Logger } from 'pino';
import { mergeChain } from '../state/delta-merge.ts';
import { indexSnapshot } from '../state/snapshot-index.ts';
import { unexpiredFilter } from '../state/state-ttl.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { folderOf } from './chain-files.ts';
import { compactedBaseName } from './compacted-base.ts';
import type { IncrementalChains } from './incremental-chains.ts';
import type { KeyedStateHandle } from './messages.ts';
import { newFetchStats, readWhole } from './state-file-reader.ts';

/**
 * A completed chain is compacted once its deltas hold half as many bytes as its base (a restore
 * would read 1.5x the state), or once it has this many deltas, whichever comes first: compaction
 * rewrites the whole state, so it waits until the chain costs a restore something.
 */
export const COMPACT_AFTER = 8;
const COMPACT_AT_RATIO = 0.5;
/** Fewer deltas than this are never compacted, however large (the next full snapshot is far). */
const COMPACT_MIN = 2;

/** Whether chain `h` is worth compacting now. */
export function worthCompacting(h: KeyedStateHandle): boolean {
  const deltas = h.deltas ?? [];
  if (deltas.length < COMPACT_MIN) return false;
  const bytes = deltas.reduce((n, d) => n + d.size, 0);
  return deltas.length >= COMPACT_AFTER || bytes >= h.size * COMPACT_AT_RATIO;
}

const pause = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A compaction starting or ending, for metrics (tributary_state_compactions_*). */
export interface CompactionEvent {
  step: string;
  slot: number;
  phase: 'started' | 'ok' | 'failed';
  /** How long it ran (ok, failed). */
  seconds?: number;
  /** Bytes of the merged file (ok). */
  bytes?: number;
}

export class ChainCompactor {
  private readonly dirs = new Map<number, string>();
  private running: Promise<void> | undefined;
  /** The step whose chain the running compaction folds. */
  private runningStep: string | undefined;
  private readonly chains: IncrementalChains;
  private readonly slot: number;
  private readonly logger: Logger;
  private readonly onEvent: (e: CompactionEvent) => void;

  constructor(chains: IncrementalChains, slot: number, logger: Logger, onEvent?: (e: CompactionEvent) => void) {
    this.chains = chains;
    this.slot = slot;
    this.logger = logger;
    this.onEvent = onEvent ?? (() => undefined);
  }

  /** Checkpoint `id`'s folder (the slot wrote its files there). */
  wrote(id: number, dir: string): void {
    this.dirs.set(id, dir);
  }

  /** Checkpoint `id` completed: compacts the first of `steps` whose chain is long enough, unless one runs. */
  completed(id: number, steps: Iterable<string>): void {
    for (const at of this.dirs.keys()) if (at < id) this.dirs.delete(at);
    const dir = this.dirs.get(id);
    if (this.running || dir === undefined) return;
    for (const step of steps) {
      const h = this.chains.chainOf(step, id);
      if (!h || !worthCompacting(h)) continue;
      const t0 = performance.now();
      const seconds = (): number => (performance.now() - t0) / 1000;
      this.onEvent({ step, slot: this.slot, phase: 'started' });
      this.runningStep = step;
      this.running = this.compact(step, id, dir, h)
        .then(
          (bytes) => this.onEvent({ step, slot: this.slot, phase: 'ok', seconds: seconds(), bytes }),
          (e: unknown) => {
            this.logger.warn(
              { step, checkpointId: id, slot: this.slot, err: (e as Error).message },
              'compaction failed; the chain stays',
            );
            this.onEvent({ step, slot: this.slot, phase: 'failed', seconds: seconds() });
          },
        )
        .finally(() => {
          this.running = undefined;
          this.runningStep = undefined;
        });
      return;
    }
  }

  /** Whether a compaction of `step`'s chain runs (its chain may grow past MAX_DELTAS meanwhile). */
  compacting(step: string): boolean {
    return this.runningStep === step;
  }

  /** Resolves once no compaction runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Compacts chain `h` of `step` (checkpoint `id`, folder `dir`); resolves with the merged file's bytes. */
  private async compact(step: string, id: number, dir: string, h: KeyedStateHandle): Promise<number> {
    const t0 = performance.now();
    const stats = newFetchStats();
    const files = await Promise.all([h, ...(h.deltas ?? [])].map((f) => readWhole(folderOf(dir, f), f, stats)));
    // TTL'd entries already expired by processing time (a slot's clock is the wall clock) are left out.
    const merged = await mergeChain(files, pause, (newest) => unexpiredFilter(newest, Date.now()));
    const name = compactedBaseName(step, this.slot, id);
    const stored = await CheckpointStorage.writeStateFile(dir, name, merged);
    const { keyGroupRange, keyGroups } = h;
    this.chains.compacted(
      step,
      id,
      { ...stored, keyGroupRange, ...(keyGroups ? { keyGroups } : {}), index: indexSnapshot(merged) },
      h,
    );
    this.logger.info(
      {
        step,
        checkpointId: id,
        slot: this.slot,
        files: files.length,
        bytes: merged.length,
        ms: Math.round(performance.now() - t0),
      },
      'compacted a chain of incremental checkpoints',
    );
    return merged.length;
  }
}
