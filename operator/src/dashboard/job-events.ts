// A job's Kubernetes Events for its page: listed through the API with a field selector on the
// involved object (the operator keeps no Event informer: Events are many and short-lived), cached
// per job for CACHE_MS so that pages polling every few seconds cost one list per job per CACHE_MS,
// and at most MAX_EVENTS per job, newest first. The slots' exceptions are the SlotException Events
// (slot-exceptions.ts: "slot <n> reports FAILED: …" / "slot <n> ended: …").
import type { KubeClient, KubeObject } from '../kube/index.ts';
import { Resources } from '../kube/index.ts';
import type { DashboardEvent, DashboardException } from '../../../runtime/src/dashboard/model.ts';
import { withoutUserinfo } from './redact.ts';

export const CACHE_MS = 5_000;
export const MAX_EVENTS = 100;
/** Jobs whose Events are cached at once; the least recently asked is dropped first. */
const MAX_JOBS = 256;

export interface CoreEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  involvedObject?: { kind?: string; name?: string; uid?: string };
}

/** The field selector of a StreamJob's Events (uid: not those of an earlier job of the same name). */
export function eventSelector(name: string, uid: string | undefined): string {
  return [
    `involvedObject.kind=StreamJob`,
    `involvedObject.name=${name}`,
    ...(uid ? [`involvedObject.uid=${uid}`] : []),
  ].join(',');
}

function lastSeen(e: CoreEvent): string {
  return (
    e.series?.lastObservedTime ??
    e.lastTimestamp ??
    e.eventTime ??
    e.firstTimestamp ??
    (e.metadata?.creationTimestamp ? new Date(e.metadata.creationTimestamp).toISOString() : new Date(0).toISOString())
  );
}

/** Events as the page shows them, newest first, at most MAX_EVENTS. */
export function toDashboardEvents(items: readonly CoreEvent[]): DashboardEvent[] {
  return items
    .map((e): DashboardEvent => ({
      type: e.type === 'Warning' ? 'Warning' : 'Normal',
      reason: e.reason ?? '',
      message: withoutUserinfo(e.message ?? ''),
      count: e.series?.count ?? e.count ?? 1,
      lastSeen: new Date(lastSeen(e)).toISOString(),
    }))
    .sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen))
    .slice(0, MAX_EVENTS);
}

/** The slots' exceptions among the Events (reason SlotException), newest first. */
export function exceptionsOf(events: readonly DashboardEvent[]): DashboardException[] {
  return events.flatMap((e) => {
    if (e.reason !== 'SlotException') return [];
    const slot = /^slot (\d+)\b/.exec(e.message);
    return [{ slot: slot ? Number(slot[1]) : -1, message: e.message, at: e.lastSeen }];
  });
}

interface Cached {
  at: number;
  events: Promise<DashboardEvent[]>;
}

export class JobEventsCache {
  readonly #client: KubeClient;
  readonly #now: () => number;
  readonly #byJob = new Map<string, Cached>();

  constructor(client: KubeClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  /** The job's Events, at most CACHE_MS old; an API failure is an error the caller shows, not cached. */
  events(namespace: string, name: string, uid: string | undefined): Promise<DashboardEvent[]> {
    const key = `${namespace}/${name}/${uid ?? ''}`;
    const now = this.#now();
    const had = this.#byJob.get(key);
    if (had && now - had.at < CACHE_MS) return had.events;
    const events = this.#client
      .list<CoreEvent>(Resources.Event, namespace, { fieldSelector: eventSelector(name, uid), limit: 500 })
      .then((l) => toDashboardEvents(l.items));
    this.#byJob.delete(key);
    this.#byJob.set(key, { at: now, events });
    events.catch(() => this.#byJob.delete(key));
    if (this.#byJob.size > MAX_JOBS) this.#byJob.delete(this.#byJob.keys().next().value!);
    return events;
  }

  /** Forgets a deleted job. */
  forget(namespace: string, name: string): void {
    for (const k of this.#byJob.keys()) if (k.startsWith(`${namespace}/${name}/`)) this.#byJob.delete(k);
  }
}
