// Picks the StateStore for a location by its form: `s3://` → S3, anything else → the filesystem.
import { FsStateStore } from './fs-state-store.ts';
import { S3StateStore } from './s3-state-store.ts';
import type { StateStore } from './state-store.ts';
import { isS3Uri } from './state-uri.ts';

const fsStore = new FsStateStore();
const s3Store = new S3StateStore();

export function stateStoreFor(location: string): StateStore {
  return isS3Uri(location) ? s3Store : fsStore;
}
