// A container's environment, computed like the kubelet does: service variables for the
// `kubernetes` Service, then `envFrom` sources in order (with prefix), then `env` entries in
// order — each `value` `$(VAR)`-expanded against what is defined before it — and downward-API
// / ConfigMap / Secret references resolved. A missing non-optional reference is an error
// (the container waits with CreateContainerConfigError and is retried).
import { expand } from './expansion.ts';
import { NodeAgentError } from './errors.ts';
import type { ConfigMap, Container, Pod, Secret } from './kube-types.ts';
import { divideQuantity, parseQuantity } from './quantity.ts';

export interface EnvLookups {
  /** undefined when the object does not exist (404). */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

export interface PodFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
  /** Node allocatable, the downward-API value of an unset limit. */
  nodeAllocatable: { cpu: number; memory: number; 'ephemeral-storage': number };
}

export type EnvMap = Record<string, string>;

/** Service environment for the `kubernetes` Service (the API server on loopback). */
export function kubernetesServiceEnv(host: string, port: string): EnvMap {
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: `tcp://${host}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP`]: `tcp://${host}:${port}`,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: port,
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
  };
}

/** Parses `metadata.labels['key']` style subscripts. */
function subscript(path: string, prefix: string): string | undefined {
  if (!path.startsWith(`${prefix}[`) || !path.endsWith(']')) return undefined;
  const inner = path.slice(prefix.length + 1, -1);
  const m = /^'(.*)'$/.exec(inner) ?? /^"(.*)"$/.exec(inner);
  return m ? m[1] : inner;
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

/** Value of a downward-API `fieldRef.fieldPath`. Pure. */
export function fieldRefValue(pod: Pod, fieldPath: string, facts: PodFacts): string {
  const meta = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
  }
  const label = subscript(fieldPath, 'metadata.labels');
  if (label !== undefined) return meta.labels?.[label] ?? '';
  const annotation = subscript(fieldPath, 'metadata.annotations');
  if (annotation !== undefined) return meta.annotations?.[annotation] ?? '';
  throw new NodeAgentError('NODE_AGENT_ENV', `unsupported fieldRef fieldPath ${fieldPath}`);
}

/** Value of a `resourceFieldRef` (limits.cpu, requests.memory, ...). Pure, best effort. */
export function resourceFieldValue(
  container: Container | undefined,
  resource: string,
  divisor: string | number | undefined,
  facts: PodFacts,
): string {
  const [kind, name] = resource.split('.') as [string, string | undefined];
  if (
    (kind !== 'limits' && kind !== 'requests') ||
    (name !== 'cpu' && name !== 'memory' && name !== 'ephemeral-storage')
  ) {
    throw new NodeAgentError('NODE_AGENT_ENV', `unsupported resourceFieldRef resource ${resource}`);
  }
  const set = container?.resources?.[kind]?.[name];
  // An unset limit reads as node allocatable; an unset request as the limit or 0 (kubelet).
  let value: number;
  if (set !== undefined) value = parseQuantity(set);
  else if (kind === 'limits') value = facts.nodeAllocatable[name];
  else {
    const limit = container?.resources?.limits?.[name];
    value = limit === undefined ? 0 : parseQuantity(limit);
  }
  return divideQuantity(value, divisor);
}

function decodeSecret(secret: Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function configMapValue(cm: ConfigMap, key: string): string | undefined {
  const v = cm.data?.[key];
  if (v !== undefined) return v;
  const b = cm.binaryData?.[key];
  return b === undefined ? undefined : Buffer.from(b, 'base64').toString('utf8');
}

function configMapEntries(cm: ConfigMap): [string, string][] {
  return [
    ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, string] => [
      k,
      Buffer.from(v, 'base64').toString('utf8'),
    ]),
    ...Object.entries(cm.data ?? {}),
  ];
}

function missing(what: string): NodeAgentError {
  return new NodeAgentError('NODE_AGENT_ENV', what);
}

/**
 * The Kubernetes-defined environment of `container` (service env + envFrom + env), without
 * image env or agent variables. `$(VAR)` in `env[].value` sees only variables defined
 * earlier, and the service variables.
 */
export async function resolveContainerEnv(
  pod: Pod,
  container: Container,
  facts: PodFacts,
  lookups: EnvLookups,
  serviceEnv: EnvMap,
): Promise<EnvMap> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env: EnvMap = {};
  const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : serviceEnv[name]);

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await lookups.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw missing(`configmap "${name}" not found`);
      }
      for (const [k, v] of configMapEntries(cm)) env[prefix + k] = v;
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const secret = await lookups.secret(ns, name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw missing(`secret "${name}" not found`);
      }
      for (const k of Object.keys(secret.data ?? {})) env[prefix + k] = decodeSecret(secret, k) ?? '';
    }
  }

  for (const v of container.env ?? []) {
    if (v.valueFrom === undefined) {
      env[v.name] = expand(v.value ?? '', lookup);
      continue;
    }
    const from = v.valueFrom;
    if (from.fieldRef) {
      env[v.name] = fieldRefValue(pod, from.fieldRef.fieldPath, facts);
    } else if (from.resourceFieldRef) {
      const target = from.resourceFieldRef.containerName
        ? [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
            (c) => c.name === from.resourceFieldRef?.containerName,
          )
        : container;
      env[v.name] = resourceFieldValue(target, from.resourceFieldRef.resource, from.resourceFieldRef.divisor, facts);
    } else if (from.configMapKeyRef) {
      const { name = '', key, optional } = from.configMapKeyRef;
      const cm = await lookups.configMap(ns, name);
      const value = cm ? configMapValue(cm, key) : undefined;
      if (value === undefined) {
        if (optional) continue;
        throw missing(cm ? `couldn't find key ${key} in ConfigMap ${ns}/${name}` : `configmap "${name}" not found`);
      }
      env[v.name] = value;
    } else if (from.secretKeyRef) {
      const { name = '', key, optional } = from.secretKeyRef;
      const secret = await lookups.secret(ns, name);
      const value = secret ? decodeSecret(secret, key) : undefined;
      if (value === undefined) {
        if (optional) continue;
        throw missing(secret ? `couldn't find key ${key} in Secret ${ns}/${name}` : `secret "${name}" not found`);
      }
      env[v.name] = value;
    }
  }
  return { ...serviceEnv, ...env };
}

/** `$(VAR)` expansion of command and args against the container's resolved environment. */
export function expandArgs(values: string[] | undefined, env: EnvMap): string[] | undefined {
  return values?.map((s) => expand(s, (name) => env[name]));
}
