// The scheduler stand-in (there is no kube-scheduler in the local cluster): every pod without
// `spec.nodeName` whose scheduler is the default one and whose nodeSelector and required node
// affinity match this node's labels is bound to this node through `pods/binding` (which
// also sets the PodScheduled condition). Taints and tolerations are ignored: the agent's node
// is the only node, and the taints the node lifecycle controller may put on it during start-up
// are transient. Resource requests are not checked. A pod that does not match stays Pending
// with PodScheduled=False/Unschedulable and a message naming the mismatch.
//
// A second agent beside the cluster's own (the container node of test/image) runs with
// `pinnedOnly`: it binds only pods whose nodeSelector names its hostname and leaves every
// other pod alone (no binding, no Unschedulable report), so pods that select no node keep
// going to the cluster's node, whatever else shares the cluster meanwhile.
import type { Logger } from 'pino';
import { errorMessage, isApiStatus } from './errors.ts';
import { MERGE_PATCH } from './kube-api.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod } from './kube-types.ts';
import { metaTime } from './node-registration.ts';

type MatchExpression = { key: string; operator: string; values?: string[] };

export type Fit = { fits: true } | { fits: false; message: string };

function matchExpression(expr: MatchExpression, value: string | undefined): boolean {
  const values = expr.values ?? [];
  switch (expr.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isFinite(n) || !Number.isFinite(bound)) return false;
      return expr.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** Whether `pod` may be bound to the node `nodeName` with `labels`. Pure. */
export function podFitsNode(pod: Pod, nodeName: string, labels: Record<string, string>): Fit {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (labels[k] !== v)
      return {
        fits: false,
        message: `0/1 nodes are available: node ${nodeName} does not match nodeSelector ${k}=${v}`,
      };
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = required?.nodeSelectorTerms ?? [];
  if (terms.length > 0) {
    // Terms are ORed; expressions (and fields) inside a term are ANDed.
    const anyTerm = terms.some(
      (term) =>
        (term.matchExpressions ?? []).every((e) => matchExpression(e, labels[e.key])) &&
        (term.matchFields ?? []).every((e) => matchExpression(e, e.key === 'metadata.name' ? nodeName : undefined)),
    );
    if (!anyTerm)
      return {
        fits: false,
        message: `0/1 nodes are available: node ${nodeName} does not match the pod's required node affinity`,
      };
  }
  return { fits: true };
}

/** Whether `pod` selects node `nodeName` by its hostname label (`pinnedOnly` agents take only these). */
export function isPinnedTo(pod: Pod, nodeName: string): boolean {
  return pod.spec?.nodeSelector?.['kubernetes.io/hostname'] === nodeName;
}

export function isOurs(pod: Pod): boolean {
  const scheduler = pod.spec?.schedulerName;
  return scheduler === undefined || scheduler === '' || scheduler === 'default-scheduler';
}

/** Whether this node's scheduler acts on `pod` at all: unbound, live, ours, and pinned here when `pinnedOnly`. Pure. */
export function isCandidate(pod: Pod, nodeName: string, pinnedOnly: boolean): boolean {
  if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp || !isOurs(pod)) return false;
  if (pinnedOnly && !isPinnedTo(pod, nodeName)) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

export class Scheduler {
  readonly #api: KubeApi;
  readonly #nodeName: string;
  readonly #labels: Record<string, string>;
  readonly #log: Logger;
  /** uids with a binding or an Unschedulable report in flight or done, to act once per pod. */
  readonly #handled = new Set<string>();

  readonly #pinnedOnly: boolean;

  constructor(
    api: KubeApi,
    nodeName: string,
    labels: Record<string, string>,
    log: Logger,
    o: { pinnedOnly?: boolean } = {},
  ) {
    this.#api = api;
    this.#pinnedOnly = o.pinnedOnly ?? false;
    this.#nodeName = nodeName;
    this.#labels = labels;
    this.#log = log.child({ component: 'scheduler' });
  }

  /** Called for every pod event; binds unbound, fitting, live pods. */
  consider(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || !isCandidate(pod, this.#nodeName, this.#pinnedOnly)) return;
    if (this.#handled.has(uid)) return;
    this.#handled.add(uid);
    const fit = podFitsNode(pod, this.#nodeName, this.#labels);
    if (fit.fits) void this.#bind(pod, uid);
    else void this.#reportUnschedulable(pod, fit.message);
  }

  forget(uid: string): void {
    this.#handled.delete(uid);
  }

  async #bind(pod: Pod, uid: string): Promise<void> {
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    try {
      await this.#api.post(`/api/v1/namespaces/${ns}/pods/${name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid },
        target: { apiVersion: 'v1', kind: 'Node', name: this.#nodeName },
      });
      this.#log.info({ pod: `${ns}/${name}` }, 'pod bound');
    } catch (err) {
      if (isApiStatus(err, 409) || isApiStatus(err, 404)) return; // already bound or gone
      this.#log.warn(
        { pod: `${ns}/${name}`, err: errorMessage(err) },
        'binding failed; will retry on the next pod event',
      );
      this.#handled.delete(uid);
      setTimeout(() => this.#handled.has(uid) || this.#retry(ns, name), 2000).unref();
    }
  }

  #retry(ns: string, name: string): void {
    this.#api
      .get<Pod>(`/api/v1/namespaces/${ns}/pods/${name}`)
      .then((pod) => this.consider(pod))
      .catch(() => undefined);
  }

  async #reportUnschedulable(pod: Pod, message: string): Promise<void> {
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    this.#log.info({ pod: `${ns}/${name}`, message }, 'pod does not fit this node');
    const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastTransitionTime: metaTime(),
    });
    try {
      await this.#api.patch(
        `/api/v1/namespaces/${ns}/pods/${name}/status`,
        { metadata: { resourceVersion: pod.metadata?.resourceVersion }, status: { conditions } },
        MERGE_PATCH,
      );
    } catch (err) {
      this.#log.debug({ pod: `${ns}/${name}`, err: errorMessage(err) }, 'could not report Unschedulable');
    }
  }
}
