// Writes one pod's status through `pods/status` (merge patch), coalesced: at most one write in
// flight, always of the latest state, and an unchanged status is not written again. The
// conditions this agent owns come from its own last write, so their transition times stay
// stable while the informer lags behind our writes. Once the object is gone (deleted, or a
// 404/409: re-created under the same name) nothing is written any more.
import type { Logger } from 'pino';
import { sleep } from './backoff.ts';
import { errorMessage, isApiStatus } from './errors.ts';
import { MERGE_PATCH } from './kube-api.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod, PodCondition, PodStatus } from './kube-types.ts';
import { metaTime } from './node-registration.ts';
import { OWNED_CONDITIONS, buildPodStatus } from './status.ts';
import type { PodSnapshot } from './status.ts';

export interface PodStatusWriterOptions {
  api: KubeApi;
  uid: string;
  /** The latest pod object: name, namespace and the conditions other writers own. */
  pod: () => Pod;
  /** The state the status is built from, read at each write. */
  snapshot: () => PodSnapshot;
  log: Logger;
}

const isOwned = (c: PodCondition): boolean => (OWNED_CONDITIONS as readonly string[]).includes(c.type);

export class PodStatusWriter {
  readonly #o: PodStatusWriterOptions;
  #objectGone = false;
  #dirty = false;
  #writing = false;
  #lastWritten = '';
  #lastOwnedConditions: PodCondition[] = [];
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | undefined;

  constructor(o: PodStatusWriterOptions) {
    this.#o = o;
  }

  /** The pod object is gone: its final deletion is done, no status is written. */
  get objectGone(): boolean {
    return this.#objectGone;
  }

  markObjectGone(): void {
    this.#objectGone = true;
  }

  /** Writes the current state soon (coalesced with other requests). */
  request(): void {
    if (this.#objectGone) return;
    this.#dirty = true;
    if (!this.#writing) void this.#flush();
  }

  /** Drops a requested write that has not started (agent shutdown: the pod is left as it is). */
  discardPending(): void {
    this.#dirty = false;
  }

  /** Resolves when no write is in flight or requested. */
  settled(): Promise<void> {
    return this.#writing || this.#dirty ? this.#idle : Promise.resolve();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    this.#idle = new Promise((r) => (this.#idleResolve = r));
    try {
      // Let a burst of changes (several containers starting) coalesce into one write.
      await sleep(20);
      while (this.#dirty && !this.#objectGone) {
        this.#dirty = false;
        const ok = await this.#write();
        if (!ok) {
          this.#dirty = true;
          await sleep(1000);
        }
      }
    } finally {
      this.#writing = false;
      this.#idleResolve?.();
    }
  }

  /** Returns false when the write should be retried. */
  async #write(): Promise<boolean> {
    const live = this.#o.pod();
    // Conditions: foreign ones from the latest pod object, ours from our last write.
    const foreign = (live.status?.conditions ?? []).filter((c) => !isOwned(c));
    const base: Pod = { ...live, status: { ...live.status, conditions: [...foreign, ...this.#ownedOr(live)] } };
    const status: PodStatus = buildPodStatus(base, this.#o.snapshot(), metaTime());
    const json = JSON.stringify(status);
    if (json === this.#lastWritten) return true;
    const ns = live.metadata?.namespace ?? 'default';
    const name = live.metadata?.name ?? '';
    try {
      // metadata.uid in the patch is a precondition: a pod re-created under the same name
      // answers 409 instead of receiving this pod's status.
      await this.#o.api.patch<Pod>(
        `/api/v1/namespaces/${ns}/pods/${name}/status`,
        { metadata: { uid: this.#o.uid }, status },
        MERGE_PATCH,
      );
      this.#lastWritten = json;
      this.#lastOwnedConditions = (status.conditions ?? []).filter(isOwned);
      this.#o.log.debug({ phase: status.phase }, 'pod status written');
      return true;
    } catch (err) {
      if (isApiStatus(err, 404) || isApiStatus(err, 409)) {
        this.#o.log.info({ err: errorMessage(err) }, 'pod object gone or replaced; no more status writes');
        this.#objectGone = true;
        return true;
      }
      this.#o.log.warn({ err: errorMessage(err) }, 'pod status write failed; retrying');
      return false;
    }
  }

  #ownedOr(live: Pod): PodCondition[] {
    if (this.#lastOwnedConditions.length > 0) return this.#lastOwnedConditions;
    return (live.status?.conditions ?? []).filter(isOwned);
  }
}
