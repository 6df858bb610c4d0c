// The job config of one deployment (the runtime's JobConfig contract) and the ConfigMap that
// carries it to the slot pods, mounted at CONFIG_DIR/CONFIG_FILE. Pure builders.
import { CONTRACT_VERSION, type JobConfig } from '../../../../../runtime/src/control/contract.ts';
import { parseDuration } from '../../../../../runtime/src/graph/duration.ts';
import { withControllerReference, type KubeObject } from '../../../kube/index.ts';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { DEPLOYMENT_LABEL, ownedMeta } from './metadata.ts';
import { stateBackendConfig } from '../state-backend.ts';
import { stateLocation, type EffectiveStateStorage } from '../state-storage.ts';

export const CONFIG_DIR = '/etc/tributary';
export const CONFIG_FILE = 'job.json';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export function configMapName(job: string, depId: string): string {
  return `${job}-${depId}`;
}

function ms(text: string, fallback: number): number {
  return parseDuration(text) ?? fallback;
}

/** `graph`: spec.graph with references resolved (see druid-refs.ts); default spec.graph. Unused with spec.job. */
export function jobConfig(
  job: StreamJob,
  spec: StreamJobSpec,
  storage: EffectiveStateStorage,
  parallelism: number,
  restoreFrom: string | undefined,
  graph: unknown = spec.graph,
  restoreLatestSince?: string,
  /** The deployment's own id as its checkpoints record it, and the lineage restoreLatest chooses from. */
  lineage?: { deployment: string; restoreLatest?: readonly string[] },
): JobConfig {
  return {
    contractVersion: CONTRACT_VERSION,
    jobName: job.metadata.name,
    // Application mode: the slots import the module, which builds the graph (exactly one of the two).
    ...(spec.job?.module ? { module: spec.job.module } : { graph }),
    parallelism,
    maxParallelism: spec.maxParallelism,
    checkpointing: {
      intervalMs: ms(spec.checkpointing?.interval ?? '10s', 10_000),
      timeoutMs: ms(spec.checkpointing?.timeout ?? '2m', 120_000),
      retained: spec.checkpointing?.retained ?? 3,
      ...(spec.checkpointing?.tolerableFailedCheckpoints !== undefined
        ? { tolerableFailedCheckpoints: spec.checkpointing.tolerableFailedCheckpoints }
        : {}),
      ...(spec.checkpointing?.incremental === false ? { incremental: false } : {}),
    },
    stateDir: stateLocation(job, storage),
    ...(restoreFrom ? { restoreFrom } : {}),
    ...(restoreLatestSince
      ? {
          restoreLatest: {
            since: restoreLatestSince,
            ...(lineage?.restoreLatest ? { lineage: [...lineage.restoreLatest] } : {}),
          },
        }
      : {}),
    ...(lineage ? { deployment: lineage.deployment } : {}),
    allowNonRestoredState: spec.restore?.allowNonRestoredState ?? false,
    // Retain: the runtime deletes nothing (no checkpoint pruning, savepoint deletion refused).
    ...(storage.retention === 'Retain' ? { retention: 'Retain' as const } : {}),
    ...stateBackendConfig(spec),
  };
}

export function configMap(job: StreamJob, depId: string, cfg: JobConfig): ConfigMap {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMeta(job, configMapName(job.metadata.name, depId), { [DEPLOYMENT_LABEL]: depId }),
    data: { [CONFIG_FILE]: JSON.stringify(cfg, null, 2) },
  });
}
