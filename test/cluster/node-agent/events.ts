// Kubernetes Events for what happens to pods (Started, Killing, BackOff, Unhealthy, Failed,
// FailedMount), so `kubectl describe pod` explains a pod's history. Best effort: an event
// that cannot be written is logged at debug level and dropped; repeated identical events
// within a minute are not re-sent.
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod } from './kube-types.ts';
import { metaTime } from './node-registration.ts';

export class EventRecorder {
  readonly #api: KubeApi;
  readonly #nodeName: string;
  readonly #log: Logger;
  readonly #recent = new Map<string, number>();

  constructor(api: KubeApi, nodeName: string, log: Logger) {
    this.#api = api;
    this.#nodeName = nodeName;
    this.#log = log;
  }

  emit(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void {
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const dedupe = `${ns}/${name}/${reason}/${message}`;
    const now = Date.now();
    const last = this.#recent.get(dedupe);
    if (last !== undefined && now - last < 60_000) return;
    this.#recent.set(dedupe, now);
    if (this.#recent.size > 1000) for (const [k, t] of this.#recent) if (now - t > 60_000) this.#recent.delete(k);
    const ts = metaTime();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${name}.`, namespace: ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: ns,
        name,
        uid: pod.metadata?.uid,
        ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.#nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.#nodeName,
      firstTimestamp: ts,
      lastTimestamp: ts,
      eventTime: null,
      count: 1,
    };
    this.#api.post(`/api/v1/namespaces/${ns}/events`, event).catch((err: unknown) => {
      this.#log.debug({ err: errorMessage(err), reason }, 'event not recorded');
    });
  }
}
