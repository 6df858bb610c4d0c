// Writes the `status` subresource, and only when it changed.
//
// - The caller passes the object it read (normally from the informer cache) and a pure
//   function from the current status to the desired one. If the result deep-equals the
//   current status, nothing is written (no resourceVersion churn, no watch event, no
//   reconcile echo).
// - Otherwise: PUT …/status carrying the object's resourceVersion. The status endpoint
//   ignores everything but status, so spec can never be clobbered; the resourceVersion
//   makes a write based on a stale read fail with 409 instead of silently overwriting
//   another writer's status (a merge patch without it would be last-writer-wins).
// - On 409: GET the live object, re-run `mutate` on its status, compare again, retry;
//   bounded, then OPERATOR_STATUS_CONFLICT (the reconcile fails and is retried with
//   backoff by its controller).
import type { KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { ErrorCodes, OperatorError, isConflict } from './errors.ts';
import { cloneJson, deepEqualJson } from './json.ts';
import type { KubeObject, ResourceType } from './api-resources.ts';

export type WithStatus<S = unknown> = KubeObject & { status?: S };
export type StatusOf<T extends WithStatus> = NonNullable<T['status']>;

export interface StatusWriterOptions {
  client: KubeClient;
  metrics?: KubeMetrics;
  /** Attempts after the first 409; default 5. */
  maxConflictRetries?: number;
  fieldManager?: string;
}

export interface StatusWriteResult<T> {
  object: T;
  /** False if the desired status equalled the current one and nothing was sent. */
  written: boolean;
}

export class StatusWriter {
  readonly #client: KubeClient;
  readonly #metrics: KubeMetrics | undefined;
  readonly #maxRetries: number;
  readonly #fieldManager: string;

  constructor(opts: StatusWriterOptions) {
    this.#client = opts.client;
    this.#metrics = opts.metrics;
    this.#maxRetries = opts.maxConflictRetries ?? 5;
    this.#fieldManager = opts.fieldManager ?? 'tributary-operator';
  }

  /**
   * `mutate` receives a private deep copy of the current status (undefined if none) and
   * returns the desired status; it may be called again on a fresher object after a
   * conflict, so it must derive everything from its argument and captured desired values.
   */
  async update<T extends WithStatus>(
    rt: ResourceType,
    obj: T,
    mutate: (status: StatusOf<T> | undefined, obj: T) => StatusOf<T>,
  ): Promise<StatusWriteResult<T>> {
    let current = obj;
    for (let attempt = 0; ; attempt++) {
      const desired = mutate(cloneJson(current.status) as StatusOf<T> | undefined, current);
      if (deepEqualJson(desired, current.status)) {
        this.#metrics?.statusWrites.inc({ result: 'skipped' });
        return { object: current, written: false };
      }
      try {
        const body = { ...current, status: desired } as T;
        const written = await this.#client.replace<T>(rt, body, {
          subresource: 'status',
          fieldManager: this.#fieldManager,
        });
        this.#metrics?.statusWrites.inc({ result: 'written' });
        return { object: written, written: true };
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.#metrics?.statusWrites.inc({ result: 'conflict' });
        if (attempt >= this.#maxRetries) {
          throw new OperatorError(
            ErrorCodes.STATUS_CONFLICT,
            `status of ${rt.kind} ${current.metadata?.namespace ?? ''}/${current.metadata?.name ?? ''}: still conflicting after ${attempt + 1} attempts`,
            { cause: err },
          );
        }
        current = await this.#client.get<T>(rt, current.metadata?.namespace, current.metadata?.name ?? '');
      }
    }
  }

  /** Sets the whole status to `status` (skipped if equal). */
  set<T extends WithStatus>(rt: ResourceType, obj: T, status: StatusOf<T>): Promise<StatusWriteResult<T>> {
    return this.update<T>(rt, obj, () => cloneJson(status));
  }
}
