// Where a connection to a Service's cluster IP goes, as kube-proxy would send it: to a ready
// pod the Service selects, at the port its targetPort names (a number, or a container port's
// name). Pure; service-proxy.ts feeds it the Service and its pods.
// Why pods and not Endpoints/EndpointSlices: the pods here have loopback IPs (127.0.x.y),
// which the API server refuses in endpoint addresses, so the endpoint controllers can never
// publish them.
import { NodeAgentError } from './errors.ts';
import type { Pod, Service } from './kube-types.ts';

export interface Target {
  host: string;
  port: number;
}

/** The Service whose cluster IP is `ip`, if any. */
export function serviceByClusterIp(services: readonly Service[], ip: string): Service | undefined {
  return services.find((s) => s.spec?.clusterIP === ip || (s.spec?.clusterIPs ?? []).includes(ip));
}

/** `k=v,k2=v2` for a Service's selector; undefined when it has none (endpoints managed by hand). */
export function selectorOf(service: Service): string | undefined {
  const sel = service.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return undefined;
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A ready pod's address for `port` of the Service, chosen at random among the ready ones. */
export function serviceTarget(
  service: Service,
  port: number,
  pods: readonly Pod[],
  random: () => number = Math.random,
): Target {
  const name = `${service.metadata?.namespace}/${service.metadata?.name}`;
  const sp = (service.spec?.ports ?? []).find((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
  if (!sp) throw new NodeAgentError('NODE_AGENT_SERVICE_PROXY', `Service ${name} has no TCP port ${port}`);
  const targets: Target[] = [];
  for (const pod of pods) {
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!ready || !pod.status?.podIP || pod.metadata?.deletionTimestamp) continue;
    const tp = sp.targetPort ?? sp.port;
    const number = typeof tp === 'number' ? tp : /^\d+$/.test(tp) ? Number(tp) : containerPort(pod, tp);
    if (number !== undefined) targets.push({ host: pod.status.podIP, port: number });
  }
  if (targets.length === 0)
    throw new NodeAgentError('NODE_AGENT_SERVICE_PROXY', `Service ${name} has no ready pod serving port ${port}`);
  return targets[Math.floor(random() * targets.length)]!;
}

function containerPort(pod: Pod, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const p = (c.ports ?? []).find((x) => x.name === name && (x.protocol ?? 'TCP') === 'TCP');
    if (p) return p.containerPort;
  }
  return undefined;
}
