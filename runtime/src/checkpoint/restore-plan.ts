// Turns a checkpoint/savepoint directory into what a job at any parallelism 1..maxParallelism
// restores from. Everything is checked before anything starts, and any mismatch is an error
// with a stable code (never a silent start from empty state):
//   TRIB_RESTORE_METADATA_MISSING / _METADATA_CORRUPT / _VERSION   (metadata.ts)
//   TRIB_RESTORE_MAX_PARALLELISM   maxParallelism differs (key groups would move)
//   TRIB_RESTORE_PARALLELISM       new parallelism above maxParallelism
//   TRIB_RESTORE_FILE_MISSING / _TRUNCATED / _CHECKSUM / _RANGE_CHECKSUM   a state file (or a
//                                  range of it) does not match the metadata (state-file-reader.ts)
//   TRIB_RESTORE_NON_RESTORED_STATE  state of a step/source the graph no longer has, without allowNonRestoredState
// Redistribution: keyed state — the process reads, of every old file, the key groups its slots
// own and the file lists (`keyGroups`, listed-key-groups.ts; a file written before lists holds
// its whole range) (state-file-reader.ts: byte ranges when the file has a key-group index, else the whole
// file) and each slot keeps its own (state-format.md); source positions — every new slot sees
// every old position and takes its share (Kafka: the partitions it now owns); sink
// committables — old slot s goes to new slot s mod p (each is committed exactly once, by one
// slot, before that slot opens transactions).
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { keyGroupRangeForSlot, type KeyGroupRange } from '../state/key-groups.ts';
import { checkListedKeyGroups } from './listed-key-groups.ts';
import { readMetadata, type CheckpointMetadata } from './metadata.ts';
import { boundedRunner, newFetchStats, READS_IN_FLIGHT, type FetchStats } from './state-file-reader.ts';
import { checkChain, readChain } from './chain-files.ts';
import { normalizeLocation } from './storage/state-uri.ts';

/**
 * What a checkpoint/savepoint restores, checked against the job, before any keyed state is
 * read: its metadata, every old source position and every old sink committable. The
 * committables are all a sink's recovery needs, so it may start from here (slot-process.ts).
 */
export interface RestorePlan {
  path: string;
  checkpointId: number;
  metadata: CheckpointMetadata;
  /** Positions of all old slots per source name. */
  sources: Map<string, unknown[]>;
  /** Committables of all old slots per sink name. */
  sinks: Map<string, { slot: number; committables: unknown[] }[]>;
}

/** A RestorePlan with the keyed state of the slots it was read for. */
export interface RestoredState extends RestorePlan {
  /**
   * Keyed snapshots per step name (verified): of each old slot's file, at least the key groups
   * of `slots` (whole files, or snapshots re-assembled from their ranges).
   */
  keyed: Map<string, Uint8Array[]>;
  /** What reading the keyed state fetched. */
  fetched: FetchStats;
}

/** Names of the steps that keep keyed state (the operators' `stateName`). */
export function statefulSteps(graph: ValidatedGraph): Set<string> {
  const out = new Set<string>();
  for (const n of graph.nodes.values()) {
    if (n.role !== 'step') continue;
    if (n.kind === 'window' || n.kind === 'join' || n.kind === 'dedupe') out.add(n.name);
    if (n.kind === 'aggregate' && graph.nodes.get(n.inputs[0] as string)?.kind !== 'window') out.add(n.name);
    if (n.kind === 'function') {
      const kind = graph.spec.steps?.find((s) => s.name === n.name)?.function?.kind;
      if (kind === 'process' || kind === 'reduce' || kind === 'aggregate') out.add(n.name);
    }
  }
  return out;
}

export interface RestoreOptions {
  graph: ValidatedGraph;
  parallelism: number;
  maxParallelism: number;
  allowNonRestoredState: boolean;
  /** The slots this process runs (default: all); only their key groups are fetched. */
  slots?: readonly number[];
  logger?: Logger;
}

/** Reads `_metadata.json` (unless `metadata` is given: read from `path` already) and checks it against `o`. */
export async function planRestore(
  path: string,
  o: RestoreOptions,
  metadata?: CheckpointMetadata,
): Promise<RestorePlan> {
  const dir = normalizeLocation(path);
  const m = metadata ?? (await readMetadata(dir));
  if (m.maxParallelism !== o.maxParallelism) {
    throw new TributaryError(
      'TRIB_RESTORE_MAX_PARALLELISM',
      `${dir} was written with maxParallelism ${m.maxParallelism}; this job has ${o.maxParallelism}. maxParallelism is fixed for the life of the state (set it to ${m.maxParallelism})`,
    );
  }
  if (o.parallelism > m.maxParallelism) {
    throw new TributaryError(
      'TRIB_RESTORE_PARALLELISM',
      `parallelism ${o.parallelism} is above the state's maxParallelism ${m.maxParallelism}`,
    );
  }
  const stateful = statefulSteps(o.graph);
  for (const [step, op] of Object.entries(m.operators))
    if (stateful.has(step)) {
      checkListedKeyGroups(dir, step, op.keyed, m.maxParallelism);
      for (const f of op.keyed) checkChain(dir, step, f);
    }
  const sourceNames = new Set(o.graph.spec.sources.map((s) => s.name));
  const sinkNames = new Set(o.graph.spec.sinks.map((s) => s.name));
  const dropped: string[] = [];
  for (const step of Object.keys(m.operators)) if (!stateful.has(step)) dropped.push(`step "${step}"`);
  for (const src of Object.keys(m.sources)) if (!sourceNames.has(src)) dropped.push(`source "${src}"`);
  for (const [sink, list] of Object.entries(m.sinks))
    if (!sinkNames.has(sink) && list.some((e) => e.committables.length > 0)) dropped.push(`sink "${sink}"`);
  if (dropped.length > 0) {
    if (!o.allowNonRestoredState) {
      throw new TributaryError(
        'TRIB_RESTORE_NON_RESTORED_STATE',
        `${dir} holds state for ${dropped.join(', ')}, which the graph no longer has (matched by name); rename it back, or restore with allowNonRestoredState to drop that state`,
      );
    }
    o.logger?.warn({ dropped, path: dir }, 'restoring without state the graph no longer has (allowNonRestoredState)');
  }
  const sources = new Map<string, unknown[]>();
  for (const [name, list] of Object.entries(m.sources))
    if (sourceNames.has(name))
      sources.set(
        name,
        list.map((e) => e.position),
      );
  const sinks = new Map<string, { slot: number; committables: unknown[] }[]>();
  for (const [name, list] of Object.entries(m.sinks)) if (sinkNames.has(name)) sinks.set(name, list);
  return { path: dir, checkpointId: m.checkpointId, metadata: m, sources, sinks };
}

/** Reads (and verifies) the keyed state `plan` restores: of every old file, the key groups of `o.slots`. */
export async function readRestore(plan: RestorePlan, o: RestoreOptions): Promise<RestoredState> {
  const { path: dir, metadata: m } = plan;
  const stateful = statefulSteps(o.graph);
  const wanted: KeyGroupRange[] = (o.slots ?? [...Array(o.parallelism).keys()]).map((s) =>
    keyGroupRangeForSlot(s, o.parallelism, m.maxParallelism),
  );
  const keyed = new Map<string, Uint8Array[]>();
  const fetched = newFetchStats();
  const run = boundedRunner(READS_IN_FLIGHT);
  await Promise.all(
    Object.entries(m.operators).map(async ([step, op]) => {
      if (!stateful.has(step)) return;
      const chains = await Promise.all(op.keyed.map((f) => readChain(dir, f, wanted, run, fetched)));
      // Every full snapshot, then each chain's deltas oldest first (KeyedStateBackend.restore).
      keyed.set(step, [
        ...chains.map((c) => c.base).filter((b): b is Uint8Array => b !== undefined),
        ...chains.flatMap((c) => c.deltas),
      ]);
    }),
  );
  o.logger?.info(
    { path: dir, checkpointId: m.checkpointId, from: m.parallelism, to: o.parallelism, slots: o.slots, fetched },
    'restoring state',
  );
  return { ...plan, keyed, fetched };
}

export async function loadRestore(path: string, o: RestoreOptions): Promise<RestoredState> {
  return readRestore(await planRestore(path, o), o);
}

/** Committables of the old slots that new slot `slot` of `parallelism` commits on restore. */
export function committablesForSlot(
  list: readonly { slot: number; committables: unknown[] }[] | undefined,
  slot: number,
  parallelism: number,
): unknown[] {
  const out: unknown[] = [];
  for (const e of list ?? []) if (e.slot % parallelism === slot) out.push(...e.committables);
  return out;
}
