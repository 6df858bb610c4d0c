import type { Controller, KubeObject, Manager } from '../../kube/index.ts';
import { keyOf, ownerKeyMapper, Resources, specOrMetadataChanged } from '../../kube/index.ts';
import { credentialsSelector, type CredentialsSecret } from '../credentials/opted-in-secret.ts';
import { credentialsSecretName } from './state-credentials.ts';
import { namesRegistrySecret } from './registry-credentials.ts';
import { effectiveStateStorage } from './state-storage.ts';
import type { StateStorage, StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { RuntimeClient } from '../../runtime-client/client.ts';
import { streamJobMetrics } from './metrics.ts';
import type { Cadence } from './phases.ts';
import type { PodPolicy } from './pod-template-rules.ts';
import type { StreamJobReconcilerDeps } from './job-context.ts';
import { streamJobReconciler } from './reconcile.ts';
import { StreamJobs } from './resource.ts';
import type { Secret } from './objects/control-token.ts';
import type { Pod } from './objects/slot-pod.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../version.ts';

export interface StreamJobControllerOptions {
  /** Watch one namespace; all when omitted. */
  readonly namespace?: string;
  readonly workers?: number;
  /** Image when spec.image is empty. */
  readonly defaultImage?: string;
  /** stateStorage when the spec names no place (the chart's values.stateStorage). */
  readonly defaultStateStorage?: StateStorage;
  /** What spec.podTemplate may name; default: no service account but the operator-made one. */
  readonly podPolicy?: PodPolicy;
  readonly containerArgs?: readonly string[];
  readonly cadence?: Cadence;
  readonly afterWrite?: StreamJobReconcilerDeps['afterWrite'];
  /** Tests only: the slots' control API client (a subclass injects a failure the runtime cannot produce on demand). */
  readonly runtime?: RuntimeClient;
  /** Tests only: the operator's clock (one skewed against the slots' clocks). */
  readonly now?: () => Date;
}

const owned = 'app.kubernetes.io/managed-by=tributary';

/** The caches the StreamJob controller reads: its jobs and what they own (shared with other users of `mgr`). */
export function streamJobInformers(mgr: Manager, namespace?: string) {
  const scope = namespace ? { namespace } : {};
  return {
    jobs: mgr.informer<StreamJob>(StreamJobs, scope),
    pods: mgr.informer<Pod>(Resources.Pod, { ...scope, labelSelector: owned }),
    secrets: mgr.informer<Secret>(Resources.Secret, { ...scope, labelSelector: owned }),
    services: mgr.informer<KubeObject>(Resources.Service, { ...scope, labelSelector: owned }),
    configMaps: mgr.informer<KubeObject>(Resources.ConfigMap, { ...scope, labelSelector: owned }),
    // Only opted-in Secrets are watched (their data is what a job's stateStorage may name).
    credentialSecrets: mgr.informer<CredentialsSecret>(Resources.Secret, {
      ...scope,
      labelSelector: credentialsSelector,
    }),
  };
}

/** Registers the StreamJob controller: StreamJobs plus the pods, Secrets, Services and ConfigMaps they own. */
export function addStreamJobController(
  mgr: Manager,
  opts: StreamJobControllerOptions = {},
): { controller: Controller<StreamJob>; close: () => Promise<void> } {
  const { jobs, pods, secrets, services, configMaps, credentialSecrets } = streamJobInformers(mgr, opts.namespace);
  const defaults = {
    image: opts.defaultImage ?? DEFAULT_RUNTIME_IMAGE,
    ...(opts.defaultStateStorage ? { stateStorage: opts.defaultStateStorage } : {}),
  };
  /** A credentials Secret → the jobs whose state storage or schema registry names it. */
  const namingJobs = (secret: CredentialsSecret): string[] => {
    const ns = secret.metadata?.namespace;
    if (!ns) return [];
    const name = secret.metadata?.name;
    return jobs
      .list(ns)
      .filter(
        (j) =>
          credentialsSecretName(effectiveStateStorage(j.spec, defaults)) === name || namesRegistrySecret(j.spec, name),
      )
      .map((j) => keyOf(j));
  };
  const runtime = opts.runtime ?? new RuntimeClient();
  const toOwner = ownerKeyMapper('tributary.dev', 'StreamJob');
  const podChanged = (a: Pod, b: Pod) =>
    a.status?.phase !== b.status?.phase ||
    a.status?.podIP !== b.status?.podIP ||
    JSON.stringify(a.status?.conditions?.find((x) => x.type === 'Ready')?.status) !==
      JSON.stringify(b.status?.conditions?.find((x) => x.type === 'Ready')?.status) ||
    a.metadata?.deletionTimestamp !== b.metadata?.deletionTimestamp;
  const controller = mgr.addController<StreamJob>({
    name: 'streamjob',
    for: jobs,
    // Our own status writes do not re-trigger; spec, labels, finalizers and deletion do.
    forUpdatePredicate: specOrMetadataChanged,
    watches: [
      { informer: pods, map: toOwner, updatePredicate: podChanged },
      { informer: secrets, map: toOwner, updatePredicate: () => false },
      { informer: services, map: toOwner, updatePredicate: () => false },
      { informer: configMaps, map: toOwner, updatePredicate: () => false },
      {
        informer: credentialSecrets,
        map: namingJobs,
        updatePredicate: (a: CredentialsSecret, b: CredentialsSecret) =>
          JSON.stringify(a.data) !== JSON.stringify(b.data),
      },
    ],
    workers: opts.workers ?? 4,
    reconcile: streamJobReconciler({
      jobs,
      pods,
      secrets,
      services,
      credentialSecrets,
      kube: mgr.client,
      statusWriter: mgr.statusWriter,
      events: mgr.events,
      runtime,
      metrics: streamJobMetrics(mgr.metrics.registry),
      defaults,
      ...(opts.podPolicy ? { podPolicy: opts.podPolicy } : {}),
      ...(opts.containerArgs ? { containerArgs: opts.containerArgs } : {}),
      ...(opts.cadence ? { cadence: opts.cadence } : {}),
      orphanSweeps: new Map(),
      ...(opts.afterWrite ? { afterWrite: opts.afterWrite } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    }),
  });
  return { controller, close: () => runtime.close() };
}
