// Moving key groups' keyed state between running slots (live rescale: docs/design/live-rescale.md,
// "The protocol of one step"). The old owner extracts the key groups of a step from each of its
// stateful operators' backends; the new owner installs them into the same operator's backend.
//
// Invariants:
// - the bytes are a keyed-state snapshot in the format a checkpoint writes (state-format.md),
//   holding just the moving key groups' sections, so extract → install loads exactly what a
//   checkpoint of the old owner restored at the new parallelism would load for them;
// - extraction ends the old owner's ownership in the same call: from then on none of its
//   snapshots holds those key groups (a checkpoint after the step's barrier records them once,
//   at the new owner);
// - an install refuses, before changing anything, a key group its backend owns already (an
//   overlapping or repeated install), bytes of another maxParallelism or key hash, a section of a
//   key group the hand-off does not list, and a state its backend has not registered;
// - the key groups travel as a list beside the bytes: a key group without state has no section
//   but changes owner all the same.
import { TributaryError } from '../errors.ts';
import { HASH_FUNCTION } from './key-groups.ts';
import type { KeyedStateBackend } from './keyed-state.ts';
import { stateCorrupt } from './binary-reader.ts';
import { readSnapshotHeader, snapshotSections } from './snapshot-format.ts';

export interface KeyGroupHandoff {
  /** Every key group that changes owner, ascending, with or without state. */
  keyGroups: number[];
  /** A keyed-state snapshot of just those key groups (sections only for those with state). */
  bytes: Uint8Array;
}

/** Snapshots `keyGroups` of `backend` and gives them up. `what` names the operator in errors. */
export function extractKeyGroups(
  backend: KeyedStateBackend,
  keyGroups: Iterable<number>,
  what: string,
): KeyGroupHandoff {
  const kgs = ascendingUnique(keyGroups);
  const foreign = kgs.filter(
    (kg) => !(Number.isInteger(kg) && kg >= 0 && kg < backend.maxParallelism && backend.owns(kg)),
  );
  if (foreign.length > 0)
    throw new TributaryError(
      'TRIB_STATE_KEY_GROUP_NOT_OWNED',
      `${what}: cannot extract key groups ${list(foreign)}: this slot does not hold them (it holds ${ownedSummary(backend)})`,
    );
  const bytes = backend.snapshot(kgs);
  backend.releaseKeyGroups(kgs);
  return { keyGroups: kgs, bytes };
}

/** Takes the key groups of `h` into `backend` with their state; refuses, changing nothing, per the invariants above. */
export function installKeyGroups(backend: KeyedStateBackend, h: KeyGroupHandoff, what: string): void {
  const kgs = ascendingUnique(h.keyGroups);
  if (kgs.length !== h.keyGroups.length)
    throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `${what}: the hand-off lists a key group twice`);
  const header = readSnapshotHeader(h.bytes);
  if (header.maxParallelism !== backend.maxParallelism)
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `${what}: hand-off has maxParallelism ${header.maxParallelism}, this job has ${backend.maxParallelism}`,
    );
  if (header.hash !== HASH_FUNCTION)
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `${what}: hand-off key hash ${header.hash} differs from ${HASH_FUNCTION}`,
    );
  const outside = kgs.filter((kg) => !Number.isInteger(kg) || kg < 0 || kg >= backend.maxParallelism);
  if (outside.length > 0)
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `${what}: hand-off key groups ${list(outside)} are not in 0..${backend.maxParallelism - 1}`,
    );
  const listed = new Set(kgs);
  for (const [kg] of snapshotSections(h.bytes, header))
    // verifies the checksum too
    if (!listed.has(kg)) stateCorrupt(`${what}: hand-off holds key group ${kg}, which it does not list`);
  const owned = kgs.filter((kg) => backend.owns(kg));
  if (owned.length > 0)
    throw new TributaryError(
      'TRIB_STATE_KEY_GROUP_OWNED',
      `${what}: cannot install key groups ${list(owned)}: this slot holds them already`,
    );
  const names = Array.isArray(header.states) ? header.states : [];
  const unknown = names.filter((n) => !backend.hasState(n));
  if (unknown.length > 0)
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `${what}: hand-off holds state ${unknown.map((n) => JSON.stringify(n)).join(', ')} that this slot's operator did not register`,
    );
  backend.adoptKeyGroups(kgs);
  backend.restore([h.bytes]);
}

function ascendingUnique(kgs: Iterable<number>): number[] {
  return [...new Set(kgs)].sort((a, b) => a - b);
}

/** `3, 5-9, 12` (key groups ascending). */
function list(kgs: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < kgs.length;) {
    let j = i;
    while (j + 1 < kgs.length && (kgs[j + 1] as number) === (kgs[j] as number) + 1) j++;
    parts.push(i === j ? String(kgs[i]) : `${kgs[i]}-${kgs[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function ownedSummary(b: KeyedStateBackend): string {
  const kgs: number[] = [];
  for (let kg = 0; kg < b.maxParallelism; kg++) if (b.owns(kg)) kgs.push(kg);
  return kgs.length > 0 ? list(kgs) : 'none';
}
