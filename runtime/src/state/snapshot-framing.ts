// Keyed-state snapshot framing (documented in docs/runtime/state-format.md), shared by every
// payload version and by both sides of it (snapshot-format.ts reads and writes version 2,
// snapshot-format-v1.ts reads version 1):
//
//   "TRKS" | u16 version | u32 headerLen | header JSON
//   repeated, key groups ascending:  u32 keyGroup | u32 len | payload
//   u32 0xFFFFFFFF (end marker) | u32 CRC-32 of every byte before it
//
// All integers big-endian. A reader restoring a different key-group range skips the
// sections outside it, which is what makes a snapshot splittable on rescale.
import type { KeyGroupRange } from './key-groups.ts';

export const SNAPSHOT_MAGIC = 'TRKS';
/** Where a key group number would be: no section follows. */
export const END_MARKER = 0xffffffff;

export interface SnapshotHeader {
  format: 'tributary-keyed-state';
  version: number;
  hash: string;
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  /**
   * The key groups the snapshot's writer owned, as inclusive [start, end] runs ascending, when they
   * are not the whole `keyGroupRange` (a live rescale moved some out: docs/design/live-rescale.md);
   * absent means the whole range. Additive: readers that predate it ignore it.
   */
  keyGroups?: [number, number][];
  /** Names of the states present, in registration order; version 2 payloads refer to them by index. */
  states: string[];
  /**
   * The states kept with a time-to-live → their TTL in ms (state-ttl.ts): their values are
   * `[lastAccessMs, value]`. Absent when no state has one. Additive: readers that predate it
   * ignore it.
   */
  ttl?: Record<string, number>;
}
