import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { ClusterPaths } from './paths.ts';
import type { Addon } from './addon-names.ts';
import type { Started } from './process.ts';
import type { PodRuntime } from './pod-runtime.ts';

/** What `up` started, in start order; `down` stops exactly these, in reverse. */
export interface ClusterState {
  readonly version: 1;
  readonly startedAt: string;
  readonly addons: readonly Addon[];
  readonly components: Started[];
  /** How the node agent runs pods; absent in a state written before the mode existed (= process). */
  readonly podRuntime?: PodRuntime;
}

export function readState(paths: ClusterPaths): ClusterState | undefined {
  if (!existsSync(paths.stateFile)) return undefined;
  try {
    const state = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as ClusterState;
    return state.version === 1 && Array.isArray(state.components) ? state : undefined;
  } catch {
    // A torn or foreign file is treated as no state; `up` then starts clean.
    return undefined;
  }
}

/** Written after every started component, so a crash mid-`up` still lets `down` clean up. */
export function writeState(paths: ClusterPaths, state: ClusterState): void {
  const tmp = `${paths.stateFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, paths.stateFile);
}

export function clearState(paths: ClusterPaths): void {
  rmSync(paths.stateFile, { force: true });
}
