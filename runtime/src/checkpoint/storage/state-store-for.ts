// Picks the StateStore for a location by its form: `s3://` → S3, anything else → the filesystem.
// The S3 store (and with it the AWS SDK) is loaded on the first s3:// location (lazy-state-store.ts).
import { TributaryError } from '../../errors.ts';
import { FsStateStore } from './fs-state-store.ts';
import { LazyStateStore } from './lazy-state-store.ts';
import type { StateStore } from './state-store.ts';
import { isS3Uri } from './state-uri.ts';

const fsStore = new FsStateStore();
const s3Store = new LazyStateStore(async () => {
  try {
    return new (await import('./s3-state-store.ts')).S3StateStore();
  } catch (e) {
    throw new TributaryError(
      'TRIB_STATE_STORAGE',
      `cannot load the S3 state store (@aws-sdk/client-s3): ${(e as Error).message}`,
      { cause: e },
    );
  }
});

export function stateStoreFor(location: string): StateStore {
  return isS3Uri(location) ? s3Store : fsStore;
}
