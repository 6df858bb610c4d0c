// Retention runs off the checkpoint path: a slow or unreachable store (S3 down) must delay
// neither the sinks' commits nor the next trigger. One pruning at a time; a completion during
// one makes it run once more afterwards, with the newest id to keep. A failed pruning is only
// logged: the files it left are removed by a later one. A metadata it cannot read (corrupt, an
// unknown version) removes nothing and is logged as an error: retention stays stopped until it
// is fixed, since pruning without knowing what a checkpoint references could break a restore.
import type { Logger } from 'pino';
import { isTributaryError } from '../errors.ts';
import type { PinnedFile } from './checkpoint-retention.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';

export class BackgroundPruner {
  private running: Promise<unknown> | undefined;
  private again: number | undefined;
  private readonly storage: CheckpointStorage;
  private readonly retained: number;
  private readonly logger: Logger;
  private readonly pinned: PinnedFile | undefined;

  /** `pinned` claims files no completed metadata references yet (checkpoint-retention.ts). */
  constructor(storage: CheckpointStorage, retained: number, logger: Logger, pinned?: PinnedFile) {
    this.storage = storage;
    this.retained = Math.max(1, retained);
    this.logger = logger;
    this.pinned = pinned;
  }

  /**
   * Every file key (`chk-<id>/<file>`) pruning removed, added before its delete was awaited: a
   * checkpoint whose acks reference one must not complete.
   */
  get removedFiles(): ReadonlySet<string> {
    return this.storage.removedFiles;
  }

  /** Prunes to the retained count, never removing checkpoint `keepId` (the newest completed). */
  prune(keepId: number): void {
    this.again = keepId;
    if (this.running) return;
    const loop = async (): Promise<void> => {
      while (this.again !== undefined) {
        const keep = this.again;
        this.again = undefined;
        await this.storage.prune(this.retained, keep, this.pinned).catch((e: unknown) => this.failed(e));
      }
    };
    this.running = loop().finally(() => {
      this.running = undefined;
    });
  }

  private failed(e: unknown): void {
    const code = isTributaryError(e) ? e.code : undefined;
    const unreadable = code === 'TRIB_RESTORE_METADATA_CORRUPT' || code === 'TRIB_RESTORE_VERSION';
    if (unreadable)
      this.logger.error(
        { code, err: (e as Error).message, stateDir: this.storage.root },
        'old checkpoints are not removed: a checkpoint metadata cannot be read, so what it references is unknown',
      );
    else this.logger.warn({ code, err: (e as Error).message }, 'could not remove old checkpoints');
  }

  /** Resolves once no pruning runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
