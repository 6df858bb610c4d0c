// `_metadata.json` of a checkpoint or savepoint directory (docs/runtime/checkpoint-format.md).
// Format version 1. Keyed state files are the keyed-state snapshots of state-format.md, one
// per (step, old slot), each with its key-group range, size and SHA-256 here, so a reader can
// check every file before restoring anything, and (since the key-group index) the byte offset
// and CRC-32 of each key group's section, so a slot can fetch only the key groups it restores.
import { createHash } from 'node:crypto';
import { TributaryError } from '../errors.ts';
import { HASH_FUNCTION, type KeyGroupRange } from '../state/key-groups.ts';
import type { SnapshotIndex } from '../state/snapshot-index.ts';
import { READABLE_SNAPSHOT_VERSIONS, SNAPSHOT_VERSION } from '../state/snapshot-format.ts';
import { METADATA_FILE } from './metadata-file.ts';
import type { CheckpointAck, CheckpointKind } from './messages.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf } from './storage/state-uri.ts';

export const CHECKPOINT_FORMAT = 'tributary-checkpoint';
/** The version written by a checkpoint that references files outside its folder (incremental); else 1. */
export const CHECKPOINT_FORMAT_VERSION = 2;
/** The versions this runtime reads: 1, and 2 (keyed-state handles with `from` and `deltas`). */
export const READABLE_CHECKPOINT_FORMAT_VERSIONS: readonly number[] = [1, 2];

export interface KeyedStateFile {
  slot: number;
  file: string;
  keyGroupRange: KeyGroupRange;
  /** The key groups it holds (messages.ts KeyedStateHandle); absent in files written before it: its whole range. */
  keyGroups?: [number, number][];
  size: number;
  sha256: string;
  /** Key-group offset index (state-format.md); absent in files written before it existed. */
  index?: SnapshotIndex;
  /** The sibling checkpoint folder holding `file` ("chk-12"); absent: this checkpoint's own folder. */
  from?: string;
  /** Changes on top of `file`, oldest first, each a file like the base (its own `from`, size, sha256, index, range). */
  deltas?: KeyedStateDelta[];
}
export type KeyedStateDelta = Omit<KeyedStateFile, 'slot' | 'deltas'>;

export interface CheckpointMetadata {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  kind: CheckpointKind;
  checkpointId: number;
  /** SHA-256 of the graph spec (informational: operators are matched by step name). */
  graphHash: string;
  /** Parallelism of the job that wrote it (the number of slots that acknowledged). */
  parallelism: number;
  maxParallelism: number;
  keyHash: string;
  keyedStateFormatVersion: number;
  triggeredAt: string;
  completedAt: string;
  /**
   * Additive (absent in state written before it, and by `tributary run`): the deployment that
   * took it (JobConfig.deployment). restoreLatest picks state of its lineage by this, not by time.
   */
  deployment?: string;
  /** Keyed state per step name, one file per old slot. */
  operators: Record<string, { keyed: KeyedStateFile[] }>;
  /** Source positions per source name, one per old slot. */
  sources: Record<string, { slot: number; position: unknown }[]>;
  /** Pre-committed sink transactions per sink name, one entry per old slot: committed on completion and on restore. */
  sinks: Record<string, { slot: number; committables: unknown[] }[]>;
  /** Bytes of the state files this checkpoint wrote (incremental checkpoints: its deltas and new full snapshots). */
  stateSize: number;
  /**
   * Additive: bytes of every state file it references, its own and those it shares with older
   * checkpoints (what a restore of all of it reads). Equal to stateSize when it references nothing older.
   */
  fullStateSize?: number;
}

export function graphHash(spec: unknown): string {
  return createHash('sha256').update(stableJson(spec)).digest('hex');
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

export function newMetadataDefaults(): Pick<
  CheckpointMetadata,
  'format' | 'formatVersion' | 'keyHash' | 'keyedStateFormatVersion'
> {
  return {
    format: CHECKPOINT_FORMAT,
    formatVersion: 1,
    keyHash: HASH_FUNCTION,
    keyedStateFormatVersion: SNAPSHOT_VERSION,
  };
}

/**
 * A checkpoint's metadata from every slot's acknowledgement (`acks` sorted by slot): each step's
 * keyed state files, each source's positions and each sink's committables, one entry per slot;
 * and the slowest slot's barrier alignment (a metric, not part of the metadata).
 */
export function metadataFromAcks(
  head: Pick<
    CheckpointMetadata,
    'kind' | 'checkpointId' | 'graphHash' | 'parallelism' | 'maxParallelism' | 'triggeredAt' | 'deployment'
  >,
  acks: readonly CheckpointAck[],
): { meta: CheckpointMetadata; alignmentMs: number } {
  const meta: CheckpointMetadata = {
    ...newMetadataDefaults(),
    ...head,
    completedAt: new Date().toISOString(),
    operators: {},
    sources: {},
    sinks: {},
    stateSize: 0,
  };
  let alignmentMs = 0;
  let full = 0;
  for (const a of acks) {
    meta.stateSize += a.stateSize;
    // A runtime that reads only version 1 would restore a chain's base without its deltas: refused instead.
    for (const h of Object.values(a.operators)) {
      if (h.from !== undefined || h.deltas !== undefined) meta.formatVersion = 2;
      full += h.size + (h.deltas ?? []).reduce((n, d) => n + d.size, 0);
    }
    alignmentMs = Math.max(alignmentMs, a.alignmentMs);
    for (const [step, h] of Object.entries(a.operators))
      (meta.operators[step] ??= { keyed: [] }).keyed.push({ slot: a.slot, ...h });
    for (const [src, position] of Object.entries(a.sources))
      (meta.sources[src] ??= []).push({ slot: a.slot, position });
    for (const [sink, committables] of Object.entries(a.sinks))
      (meta.sinks[sink] ??= []).push({ slot: a.slot, committables: [...committables] });
  }
  meta.fullStateSize = full;
  return { meta, alignmentMs };
}

/** Reads and structurally checks `_metadata.json`; state files are checked by the restore plan. */
export async function readMetadata(dir: string): Promise<CheckpointMetadata> {
  // Absent = never completed; any other failure (permissions, I/O, S3) propagates as TRIB_STATE_STORAGE.
  const bytes = await stateStoreFor(dir).read(childOf(dir, METADATA_FILE));
  if (bytes === undefined)
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_MISSING',
      `${dir} is not a completed checkpoint or savepoint: ${METADATA_FILE} is missing (a checkpoint without metadata never completed)`,
    );
  const text = new TextDecoder().decode(bytes);
  let m: CheckpointMetadata;
  try {
    m = JSON.parse(text) as CheckpointMetadata;
  } catch (e) {
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${childOf(dir, METADATA_FILE)}: not valid JSON (truncated or corrupted)`,
      { cause: e },
    );
  }
  if (m === null || typeof m !== 'object' || m.format !== CHECKPOINT_FORMAT) {
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${childOf(dir, METADATA_FILE)}: not Tributary checkpoint metadata (format ${JSON.stringify((m as { format?: unknown } | null)?.format)})`,
    );
  }
  if (!READABLE_CHECKPOINT_FORMAT_VERSIONS.includes(m.formatVersion)) {
    throw new TributaryError(
      'TRIB_RESTORE_VERSION',
      `${dir}: checkpoint format version ${String(m.formatVersion)} is not supported (this runtime reads versions ${READABLE_CHECKPOINT_FORMAT_VERSIONS.join(', ')})`,
    );
  }
  // Keyed-state files carry their own version too; every readable version may be restored (v1 = JSON lines, v2 =
  // binary).
  if (m.keyHash !== HASH_FUNCTION || !READABLE_SNAPSHOT_VERSIONS.includes(m.keyedStateFormatVersion)) {
    throw new TributaryError(
      'TRIB_RESTORE_VERSION',
      `${dir}: key hash ${m.keyHash} / keyed-state version ${m.keyedStateFormatVersion} not supported (this runtime reads ${HASH_FUNCTION} / versions ${READABLE_SNAPSHOT_VERSIONS.join(', ')})`,
    );
  }
  for (const f of ['checkpointId', 'parallelism', 'maxParallelism'] as const) {
    if (!Number.isSafeInteger(m[f]))
      throw new TributaryError('TRIB_RESTORE_METADATA_CORRUPT', `${dir}: ${METADATA_FILE} has no valid ${f}`);
  }
  if (typeof m.operators !== 'object' || typeof m.sources !== 'object' || typeof m.sinks !== 'object') {
    throw new TributaryError('TRIB_RESTORE_METADATA_CORRUPT', `${dir}: ${METADATA_FILE} lacks operators/sources/sinks`);
  }
  return m;
}
