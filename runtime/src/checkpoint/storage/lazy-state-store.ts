// A StateStore loaded on first use. The S3 store pulls in the AWS SDK, ~0.1 s of CPU to load in
// every process and worker thread that imports it (a slot, each `--threads` slot, the CLI;
// measured: importing the slot entrypoint 379 → 286 ms), so jobs whose state never touches s3://
// must not pay for it at start-up.
//
// Invariant: one load per store; a failed load is not cached, so the next call tries again and
// fails the same way, naming the cause.
import type { RangeRead, StateStore } from './state-store.ts';

export class LazyStateStore implements StateStore {
  private readonly load: () => Promise<StateStore>;
  private loading: Promise<StateStore> | undefined;

  constructor(load: () => Promise<StateStore>) {
    this.load = load;
  }

  private store(): Promise<StateStore> {
    this.loading ??= this.load().catch((e: unknown) => {
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  async write(location: string, body: Uint8Array): Promise<void> {
    return (await this.store()).write(location, body);
  }

  async commit(location: string, body: Uint8Array): Promise<void> {
    return (await this.store()).commit(location, body);
  }

  async read(location: string): Promise<Uint8Array | undefined> {
    return (await this.store()).read(location);
  }

  async readRange(location: string, offset: number, length: number): Promise<RangeRead | undefined> {
    return (await this.store()).readRange(location, offset, length);
  }

  async exists(location: string): Promise<boolean> {
    return (await this.store()).exists(location);
  }

  async list(location: string): Promise<string[]> {
    return (await this.store()).list(location);
  }

  async remove(location: string): Promise<void> {
    return (await this.store()).remove(location);
  }

  async removeTree(location: string): Promise<void> {
    return (await this.store()).removeTree(location);
  }

  async removeEmptyFolder(location: string): Promise<void> {
    return (await this.store()).removeEmptyFolder(location);
  }
}
