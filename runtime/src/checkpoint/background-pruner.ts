// Retention runs off the checkpoint path: a slow or unreachable store (S3 down) must delay
// neither the sinks' commits nor the next trigger. One pruning at a time; a completion during
// one makes it run once more afterwards, with the newest id to keep. A failed pruning is only
// logged: the folders it left are removed by a later one.
import type { Logger } from 'pino';
import type { CheckpointStorage } from './checkpoint-storage.ts';

export class BackgroundPruner {
  private running: Promise<unknown> | undefined;
  private again: number | undefined;
  private readonly storage: CheckpointStorage;
  private readonly retained: number;
  private readonly logger: Logger;

  constructor(storage: CheckpointStorage, retained: number, logger: Logger) {
    this.storage = storage;
    this.retained = Math.max(1, retained);
    this.logger = logger;
  }

  /** Prunes to the retained count, never removing checkpoint `keepId` (the newest completed). */
  prune(keepId: number): void {
    this.again = keepId;
    if (this.running) return;
    const loop = async (): Promise<void> => {
      while (this.again !== undefined) {
        const keep = this.again;
        this.again = undefined;
        await this.storage
          .prune(this.retained, keep)
          .catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, 'could not remove old checkpoints'));
      }
    };
    this.running = loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once no pruning runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
