// The storage stage of a slot process's start (slot-main.ts): where its state lives, what it
// restores from, and the restore phase the control API answers for meanwhile.
//
// Paths in the control API are in-container paths (/state/savepoints/sp-3): what a new
// deployment's pods can open. Under the node agent the process sees them below its own pod
// root, which goes away with the pod, so the pod-root prefix is removed before reporting.
import { resolveLatestRestoreWithin, type ResolvedRestore } from '../control/restore-latest.ts';
import { RestorePhase } from '../control/restore-phase.ts';
import { containerPath } from '../process/slot-env.ts';
import type { SlotConfiguration } from './configuration.ts';
import type { SlotHandle } from './slot-handle.ts';

export interface SlotStorage {
  /** The job's state folder as this process sees it. */
  stateHost: string;
  /** The configured restore path (restoreFrom), as this process sees it. */
  fallback: string | undefined;
  /** A path of this process's as the control API reports it. */
  reported: (p: string | undefined) => string | undefined;
  phase: RestorePhase;
}

export function slotStorage({ env, cfg }: SlotConfiguration, handle: SlotHandle): SlotStorage {
  const stateHost = containerPath(cfg.stateDir, env.podRoot);
  const fallback = cfg.restoreFrom ? containerPath(cfg.restoreFrom, env.podRoot) : undefined;
  const reported = (p: string | undefined): string | undefined =>
    p !== undefined && env.podRoot && stateHost !== cfg.stateDir && (p === stateHost || p.startsWith(`${stateHost}/`))
      ? cfg.stateDir.replace(/\/$/, '') + p.slice(stateHost.length)
      : p;
  const phase = new RestorePhase(
    { jobName: cfg.jobName, deploymentId: env.deploymentId, slot: env.slot, parallelism: env.parallelism },
    cfg.restoreLatest !== undefined || fallback !== undefined,
    () => handle.built !== undefined && handle.built.jobState !== 'CREATED',
  );
  return { stateHost, fallback, reported, phase };
}

/** What the slot restores: the latest checkpoint or savepoint (restoreLatest), else restoreFrom. */
export async function resolveRestore(
  { cfg, logger }: SlotConfiguration,
  { stateHost, fallback, reported, phase }: SlotStorage,
  handle: SlotHandle,
): Promise<ResolvedRestore | { path: string | undefined; source: 'configured' }> {
  const restore = cfg.restoreLatest
    ? // Bounded like the local supervisor's restart lookup: by the checkpoint timeout.
      await resolveLatestRestoreWithin(stateHost, cfg.restoreLatest, fallback, {
        timeoutMs: cfg.checkpointing.timeoutMs,
        logger,
        report: phase.reporter('restore-latest'),
        ...(cfg.deployment ? { deployment: cfg.deployment } : {}),
      })
    : { path: fallback, source: 'configured' as const };
  phase.restores = restore.path !== undefined;
  handle.restoredFrom = reported(restore.path);
  logger.info(
    {
      restoreFrom: restore.path ?? null,
      source: restore.source,
      ...(cfg.restoreLatest ? { since: cfg.restoreLatest.since } : {}),
    },
    restore.path ? 'restoring' : 'starting with empty state',
  );
  return restore;
}
