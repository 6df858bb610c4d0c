// Pure builders of what a StreamJob owns: the slot pods of one deployment, the headless
// service, the job-config ConfigMap of one deployment, the control-token Secret, and the
// runtime's ServiceAccount/Role/RoleBinding. No I/O here.
import { createHash } from 'node:crypto';
import {
  CONTRACT_VERSION,
  CONTROL_PORT,
  DATA_PORT,
  RuntimeEnv,
  type JobConfig,
} from '../../../../runtime/src/control/contract.ts';
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';
import { Labels, standardLabels, withControllerReference, type KubeObject, type ResourceType } from '../../kube/index.ts';
import type { StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';

export const StreamJobs = {
  group: 'tributary.dev',
  version: 'v1alpha1',
  plural: 'streamjobs',
  kind: 'StreamJob',
  namespaced: true,
} as const satisfies ResourceType;

export const Rbac = {
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  Role: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true },
  RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true },
} as const satisfies Record<string, ResourceType>;

/** Label carrying the deployment id: old and new pods never mix. */
export const DEPLOYMENT_LABEL = 'tributary.dev/deployment';
/** Set while a final savepoint may still be needed. */
export const finalSavepointFinalizer = 'tributary.dev/final-savepoint';

export const CONFIG_DIR = '/etc/tributary';
export const CONFIG_FILE = 'job.json';
export const TOKEN_DIR = '/var/run/tributary';
export const TOKEN_KEY = 'token';
export const RUNTIME_UID = 65532;

export interface Pod extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, { reason?: string; exitCode?: number; message?: string }> }[];
    message?: string;
    reason?: string;
  };
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface Secret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

/** The fields whose change needs new pods; everything else (policies) applies in place. */
export function deploymentSpecOf(spec: StreamJobSpec, defaultImage: string): Record<string, unknown> {
  return {
    image: spec.image || defaultImage,
    replicas: spec.replicas,
    maxParallelism: spec.maxParallelism,
    restartNonce: spec.restartNonce,
    checkpointing: spec.checkpointing,
    stateStorage: spec.stateStorage,
    podTemplate: spec.podTemplate ?? {},
    graph: spec.graph,
  };
}

/** Stable hash (sorted keys) of what matters for deployment. */
export function specHash(spec: StreamJobSpec, defaultImage: string): string {
  return createHash('sha256').update(stableJson(deploymentSpecOf(spec, defaultImage))).digest('hex').slice(0, 16);
}

/** Hash of the deployment spec without replicas: equal hashes + different replicas = a rescale. */
export function shapeHash(spec: StreamJobSpec, defaultImage: string): string {
  const { replicas: _r, ...rest } = deploymentSpecOf(spec, defaultImage);
  void _r;
  return createHash('sha256').update(stableJson(rest)).digest('hex').slice(0, 16);
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function deploymentId(hash: string, counter: number): string {
  return `${hash.slice(0, 8)}-${counter}`;
}

export function podName(job: string, depId: string, slot: number): string {
  return `${job}-${depId}-${slot}`;
}

export function configMapName(job: string, depId: string): string {
  return `${job}-${depId}`;
}

export function tokenSecretName(job: string): string {
  return `${job}-control-token`;
}

export function serviceAccountName(job: StreamJob): string {
  return job.spec.podTemplate?.serviceAccountName || `${job.metadata.name}-runtime`;
}

export function podSelector(job: string, depId?: string): string {
  const base = `${Labels.managedBy}=tributary,${Labels.job}=${job}`;
  return depId === undefined ? base : `${base},${DEPLOYMENT_LABEL}=${depId}`;
}

function meta(job: StreamJob, name: string, extra: Record<string, string> = {}) {
  return { name, namespace: job.metadata.namespace, labels: { ...standardLabels(job.metadata.name), ...extra } };
}

function ms(text: string, fallback: number): number {
  return parseDuration(text) ?? fallback;
}

/** `graph`: spec.graph with references resolved (see druid-refs.ts); default spec.graph. */
export function jobConfig(job: StreamJob, spec: StreamJobSpec, parallelism: number, restoreFrom: string | undefined, graph: unknown = spec.graph, restoreLatestSince?: string): JobConfig {
  return {
    contractVersion: CONTRACT_VERSION,
    jobName: job.metadata.name,
    graph,
    parallelism,
    maxParallelism: spec.maxParallelism,
    checkpointing: {
      intervalMs: ms(spec.checkpointing?.interval ?? '10s', 10_000),
      timeoutMs: ms(spec.checkpointing?.timeout ?? '2m', 120_000),
      retained: spec.checkpointing?.retained ?? 3,
    },
    stateDir: spec.stateStorage?.path ?? '/state',
    ...(restoreFrom ? { restoreFrom } : {}),
    ...(restoreLatestSince ? { restoreLatest: { since: restoreLatestSince } } : {}),
    allowNonRestoredState: spec.restore?.allowNonRestoredState ?? false,
  };
}

export function configMap(job: StreamJob, depId: string, cfg: JobConfig): ConfigMap {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(job, configMapName(job.metadata.name, depId), { [DEPLOYMENT_LABEL]: depId }),
    data: { [CONFIG_FILE]: JSON.stringify(cfg, null, 2) },
  });
}

export function tokenSecret(job: StreamJob, token: string): Secret {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: meta(job, tokenSecretName(job.metadata.name)),
    data: { [TOKEN_KEY]: Buffer.from(token).toString('base64') },
  });
}

export function headlessService(job: StreamJob): KubeObject & { spec: Record<string, unknown> } {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(job, job.metadata.name),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: standardLabels(job.metadata.name),
      ports: [
        { name: 'control', port: CONTROL_PORT, targetPort: CONTROL_PORT, protocol: 'TCP' },
        { name: 'data', port: DATA_PORT, targetPort: DATA_PORT, protocol: 'TCP' },
      ],
    },
  });
}

/** ServiceAccount, Role (pods get/list/watch: peer discovery) and RoleBinding for the slot pods. */
export function runtimeRbac(job: StreamJob): KubeObject[] {
  const name = `${job.metadata.name}-runtime`;
  const sa = withControllerReference(job, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(job, name) });
  const role = withControllerReference(job, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(job, name),
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  } as KubeObject);
  const binding = withControllerReference(job, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(job, name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(job), namespace: job.metadata.namespace }],
  } as KubeObject);
  return job.spec.podTemplate?.serviceAccountName ? [role, binding] : [sa, role, binding];
}

export interface SlotPodInput {
  job: StreamJob;
  spec: StreamJobSpec;
  depId: string;
  slot: number;
  parallelism: number;
  image: string;
}

/** One slot pod; meets the Pod Security "restricted" profile. */
export function slotPod(input: SlotPodInput): Pod {
  const { job, spec, depId, slot, parallelism, image } = input;
  const name = job.metadata.name;
  const tpl = spec.podTemplate ?? {};
  const statePath = spec.stateStorage?.path ?? '/state';
  const stateVolume = spec.stateStorage?.pvc
    ? { name: 'state', persistentVolumeClaim: { claimName: spec.stateStorage.pvc.claimName } }
    : { name: 'state', emptyDir: spec.stateStorage?.emptyDir ?? {} };
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  const env: Record<string, unknown>[] = [
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
    ...(tpl.env ?? []),
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
    ],
    readinessProbe: probe('/readyz', 1, 3),
    livenessProbe: { ...probe('/healthz', 10, 3), initialDelaySeconds: 10 },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'token', mountPath: TOKEN_DIR, readOnly: true },
      { name: 'state', mountPath: statePath },
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
  const labels = { ...(tpl.metadata?.labels ?? {}), ...standardLabels(name, slot), [DEPLOYMENT_LABEL]: depId };
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name, depId, slot),
      namespace: job.metadata.namespace,
      labels,
      ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
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
        stateVolume,
        { name: 'tmp', emptyDir: {} },
      ],
      ...(tpl.nodeSelector ? { nodeSelector: tpl.nodeSelector } : {}),
      ...(tpl.tolerations ? { tolerations: tpl.tolerations } : {}),
      ...(tpl.affinity ? { affinity: tpl.affinity } : {}),
      ...(tpl.priorityClassName ? { priorityClassName: tpl.priorityClassName } : {}),
    },
  });
}

/** Pod readiness from its status (the Ready condition). */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

export function slotOf(pod: Pod): number {
  return Number(pod.metadata?.labels?.[Labels.slot] ?? -1);
}
