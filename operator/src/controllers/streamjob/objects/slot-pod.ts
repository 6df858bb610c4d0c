// The slot pod of one deployment (restricted Pod Security profile, the runtime contract's
// env, probes, config/token/state/tmp volumes and a disk state backend's local-state volume,
// `restartPolicy: Never`: a failed slot is replaced by an operation, never restarted in place),
// and how a pod is read back.
// Pure; no I/O.
import {
  CONTROL_PORT,
  DATA_PORT,
  METRICS_PORT,
  parseFinishedMessage,
  RuntimeEnv,
  type FinishedTermination,
} from '../../../../../runtime/src/control/contract.ts';
import { Labels, standardLabels, withControllerReference, type KubeObject } from '../../../kube/index.ts';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { TOKEN_KEY, tokenSecretName } from './control-token.ts';
import { CONFIG_DIR, CONFIG_FILE, configMapName } from './job-config.ts';
import { DEPLOYMENT_LABEL, podSelector } from './metadata.ts';
import { serviceAccountName } from './runtime-rbac.ts';
import { isReservedEnv, isReservedMetadataKey } from '../pod-template-rules.ts';
import { localStateVolume } from '../state-backend.ts';
import type { EffectiveStateStorage } from '../state-storage.ts';
import { stateAccess, type StateAccess } from './state-access.ts';
import { registryCredentialsEnv } from '../registry-credentials.ts';

export const TOKEN_DIR = '/var/run/tributary';
export const RUNTIME_UID = 65532;

export interface Pod extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state?: Record<string, { reason?: string; exitCode?: number; message?: string; finishedAt?: string }>;
    }[];
    message?: string;
    reason?: string;
  };
}

export function podName(job: string, depId: string, slot: number): string {
  return `${job}-${depId}-${slot}`;
}

export interface SlotPodInput {
  job: StreamJob;
  spec: StreamJobSpec;
  /** Where the job's state lives (state-storage.ts: the spec's place or the operator's default). */
  storage: EffectiveStateStorage;
  depId: string;
  slot: number;
  parallelism: number;
  image: string;
}

/** One slot pod; meets the Pod Security "restricted" profile. */
export function slotPod(input: SlotPodInput): Pod {
  const { job, spec, storage, depId, slot, parallelism, image } = input;
  const name = job.metadata.name;
  const tpl = spec.podTemplate ?? {};
  const state = stateAccess(storage);
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  // Validation refuses reserved names (pod-template-rules.ts); the filter and the order keep the
  // contract winning even for a spec that reached here unchecked.
  const userEnv = (tpl.env ?? []).filter((e) => !isReservedEnv(String((e as { name?: unknown }).name)));
  const env: Record<string, unknown>[] = [
    ...userEnv,
    { name: RuntimeEnv.jobName, value: name },
    { name: RuntimeEnv.namespace, ...field('metadata.namespace') },
    { name: RuntimeEnv.slot, value: String(slot) },
    { name: RuntimeEnv.parallelism, value: String(parallelism) },
    { name: RuntimeEnv.maxParallelism, value: String(spec.maxParallelism) },
    { name: RuntimeEnv.podIp, ...field('status.podIP') },
    { name: RuntimeEnv.podName, ...field('metadata.name') },
    { name: RuntimeEnv.jobConfigFile, value: `${CONFIG_DIR}/${CONFIG_FILE}` },
    { name: RuntimeEnv.deploymentId, value: depId },
    { name: RuntimeEnv.peerSelector, value: podSelector(name, depId) },
    { name: RuntimeEnv.controlTokenFile, value: `${TOKEN_DIR}/${TOKEN_KEY}` },
    ...state.env,
    ...registryCredentialsEnv(spec),
  ];
  const probe = (path: string, period: number, failures: number) => ({
    httpGet: { path, port: CONTROL_PORT },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: failures,
  });
  const container: Record<string, unknown> = {
    name: 'runtime',
    image,
    env,
    ports: [
      { name: 'control', containerPort: CONTROL_PORT, protocol: 'TCP' },
      { name: 'data', containerPort: DATA_PORT, protocol: 'TCP' },
      // Token-free /metrics for Prometheus (the control port's /metrics needs the job's token).
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
    ],
    readinessProbe: probe('/readyz', 1, 3),
    livenessProbe: { ...probe('/healthz', 10, 3), initialDelaySeconds: 10 },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'token', mountPath: TOKEN_DIR, readOnly: true },
      ...stateVolumes(state, spec).mounts,
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(tpl.resources ? { resources: tpl.resources } : {}),
  };
  const labels = { ...userMeta(tpl.metadata?.labels), ...standardLabels(name, slot), [DEPLOYMENT_LABEL]: depId };
  const annotations = userMeta(tpl.metadata?.annotations);
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name, depId, slot),
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: serviceAccountName(job),
      hostname: `${name}-${slot}`.slice(0, 63).replace(/-+$/, ''),
      subdomain: name,
      terminationGracePeriodSeconds: 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUNTIME_UID,
        runAsGroup: RUNTIME_UID,
        fsGroup: RUNTIME_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [container],
      volumes: [
        { name: 'config', configMap: { name: configMapName(name, depId) } },
        { name: 'token', secret: { secretName: tokenSecretName(name), defaultMode: 0o440 } },
        ...stateVolumes(state, spec).volumes,
        { name: 'tmp', emptyDir: {} },
      ],
      ...(tpl.nodeSelector ? { nodeSelector: tpl.nodeSelector } : {}),
      ...(tpl.tolerations ? { tolerations: tpl.tolerations } : {}),
      ...(tpl.affinity ? { affinity: tpl.affinity } : {}),
      ...(tpl.priorityClassName ? { priorityClassName: tpl.priorityClassName } : {}),
    },
  });
}

/**
 * The pod of a slot that joins a running deployment in a live rescale (core/migration.ts JoiningSlot): the
 * deployment's slot pod (same deployment id, ConfigMap, token) with TRIBUTARY_JOIN = the rescale's generation and
 * TRIBUTARY_PARALLELISM = the parallelism once it joined; it restores nothing, whatever its JobConfig says.
 */
export function joiningSlotPod(input: SlotPodInput, generation: number): Pod {
  const pod = slotPod(input);
  const container = (pod.spec!.containers as { env: Record<string, unknown>[] }[])[0]!;
  container.env.push({ name: RuntimeEnv.join, value: String(generation) });
  return pod;
}

/**
 * The state storage's volume (a pvc or emptyDir) and the disk state backend's local one, each with its mount.
 * The operator owns the pod's volumes (spec.podTemplate names none), so nothing a user writes drops or shadows
 * them; validation keeps their mount paths apart (state-backend.ts).
 */
function stateVolumes(
  state: StateAccess,
  spec: StreamJobSpec,
): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
  const local = localStateVolume(spec);
  return {
    volumes: [...(state.volume ? [state.volume] : []), ...(local ? [local.volume] : [])],
    mounts: [...(state.mount ? [state.mount] : []), ...(local ? [local.mount] : [])],
  };
}

/** User labels or annotations without the keys the operator owns. */
function userMeta(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !isReservedMetadataKey(k)));
}

/** Pod readiness from its status (the Ready condition). */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/**
 * What a slot pod that ran its job to the end of its input reported (runtime/src/control/finished.ts):
 * the pod Succeeded, its container exited 0 and left the finished termination message. Undefined for any
 * other pod — one that exited 0 after a stop writes no such message, and counts as ended like a failure.
 */
export function finishedTermination(pod: Pod): FinishedTermination | undefined {
  if (pod.status?.phase !== 'Succeeded') return undefined;
  const t = pod.status.containerStatuses?.[0]?.state?.terminated;
  if (t?.exitCode !== 0) return undefined;
  return parseFinishedMessage(t.message);
}

/**
 * A pod whose slot left the job in a live scale in: Succeeded with the finished message's `left: true`. Not a
 * failed slot and not the end of the job's input: the job runs on without it (the operator deletes it).
 */
export function hasLeft(pod: Pod): boolean {
  return finishedTermination(pod)?.left === true;
}

export function slotOf(pod: Pod): number {
  return Number(pod.metadata?.labels?.[Labels.slot] ?? -1);
}
