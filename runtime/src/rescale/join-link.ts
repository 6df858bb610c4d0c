// The membership part of a slot process joining a running job (live rescale, scale out:
// docs/design/live-rescale.md §4; distributed.md "A slot process joins: the links"). A rescale
// N → N' is membership generation g: the running processes are told of it first
// (`prepareJoin`: their data planes accept HELLOs of generation g at parallelism N', presenting
// the job hash at N'), then the joining process starts with the join marker `{generation: g}`
// at parallelism N' and slot index ≥ N, and links with every running peer while each running
// peer links with it (`DataPlane.addPeer`). A HELLO of another generation, parallelism or job
// is refused by the running slot by name (membership.ts), so a joining process of the wrong
// rescale or job fails its linking with TRIB_PEER_TIMEOUT naming the refusal.
//
// Invariant: every party computes the job hash of generation g from the same graph, N' and
// maxParallelism. maxParallelism must therefore be given to a joining process: its default
// depends on the parallelism (defaultMaxParallelism), so a joining process at N' would default to
// another one than the job started with, and its key groups would not be the job's.
import { TributaryError } from '../errors.ts';
import type { DataPlane } from '../net/data-plane.ts';

/** A slot process started to join a running job: the membership generation of the rescale it joins. */
export interface JoinMarker {
  generation: number;
}

/** Refuses a join marker that cannot name a scale out: the caller's configuration is wrong. */
export function checkJoin(
  join: JoinMarker,
  o: { slot: number; parallelism: number; maxParallelism?: number; restoreFrom?: string },
): void {
  const refuse = (why: string): never => {
    throw new TributaryError('TRIB_PEER_CONFIG', `slot ${o.slot} joining a running job: ${why}`);
  };
  if (!Number.isInteger(join.generation) || join.generation < 1)
    refuse(`generation ${String(join.generation)} is not a rescale's (1 or more)`);
  if (o.maxParallelism === undefined)
    refuse("maxParallelism must be given: its default depends on the parallelism, the job's does not");
  if (o.slot < 1 || o.slot >= o.parallelism)
    refuse(`slot ${o.slot} is not a new slot of parallelism ${o.parallelism} (slot 0 coordinates, never joins)`);
  // Its state arrives by the plan's steps; a restore would commit transactions the running slots own.
  if (o.restoreFrom !== undefined) refuse(`it restores nothing (restoreFrom ${o.restoreFrom} given)`);
}

/**
 * Tells a running slot's data plane of the rescale to `parallelism` (scale out only): from now on it
 * accepts the HELLOs of `generation`'s members, presenting `jobHashAt(parallelism)`, and its own
 * HELLOs present that generation.
 */
export function prepareJoin(
  plane: Pick<DataPlane, 'prepareGeneration' | 'identity'>,
  generation: number,
  parallelism: number,
  jobHashAt: (parallelism: number) => string,
  /** The job's parallelism now (a live rescale changed it since the start); default the start's. */
  running = plane.identity.parallelism,
): void {
  if (!Number.isInteger(parallelism) || parallelism <= running)
    throw new TributaryError(
      'TRIB_RESCALE_UNSUPPORTED',
      `slot ${plane.identity.slot}: a join to parallelism ${parallelism} is not a scale out of ${running}`,
    );
  plane.prepareGeneration(generation, parallelism, jobHashAt(parallelism));
}
