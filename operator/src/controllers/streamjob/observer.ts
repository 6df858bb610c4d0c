// Reads what is: the job's pods (from the informer cache, grouped by deployment), the
// control token, and slot 0's /v1/status. Never acts, never writes.
import { isControlledBy, Labels, type Informer } from '../../kube/index.ts';
import type { FinishedTermination, StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { RuntimeClient, RuntimeError } from '../../runtime-client/client.ts';
import { TOKEN_KEY, tokenSecretName, type Secret } from './objects/control-token.ts';
import { querySlots, type SlotRuntime } from './slot-runtime.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import { finishedTermination, isPodReady, isPodTerminal, slotOf, type Pod } from './objects/slot-pod.ts';

export interface Observation {
  /** Every pod of the job (any deployment). */
  pods: Pod[];
  /** Pods of `deploymentId` (status.deployed.id), by slot. */
  current: Map<number, Pod>;
  deploymentId: string | undefined;
  /** Pods of other deployments (to be deleted by an operation). */
  others: Pod[];
  token: string | undefined;
  runtime: StatusResponse | undefined;
  runtimeError: string | undefined;
  /** Slots 1..n of the current deployment: each one's own /v1/status (slot-runtime.ts); absent = not asked. */
  slotRuntime?: Map<number, SlotRuntime>;
  /**
   * Slot pods of the current deployment that ended or vanished, except those that finished
   * (ran to the end of their input: slot-pod.ts finishedTermination).
   */
  failedSlots: number[];
  /** Slots of the current deployment whose pod finished, by slot: what each reported. */
  finishedSlots: Map<number, FinishedTermination>;
  /** Slots of the current deployment whose pod left the job in a live scale in (slot-pod.ts hasLeft). */
  leftSlots: number[];
  /** Every slot of the current deployment finished: the job ran to the end of its input. */
  finished: boolean;
  readyCount: number;
}

/** Nothing observed yet (a failure before the observation still writes status). */
export function unobserved(): Observation {
  return {
    pods: [],
    current: new Map(),
    deploymentId: undefined,
    others: [],
    token: undefined,
    runtime: undefined,
    runtimeError: undefined,
    failedSlots: [],
    finishedSlots: new Map(),
    leftSlots: [],
    finished: false,
    readyCount: 0,
  };
}

export interface ObserverDeps {
  pods: Informer<Pod>;
  secrets: Informer<Secret>;
  runtime: RuntimeClient;
  /** Tokens created this process (the cache may lag behind our own create). */
  tokens: Map<string, string>;
}

export function podsOf(pods: Informer<Pod>, job: StreamJob): Pod[] {
  // Labels anyone can set; the controller reference only the operator does (a planted pod
  // labelled as a slot is never counted as one).
  return pods
    .list(job.metadata.namespace)
    .filter((p) => p.metadata?.labels?.[Labels.job] === job.metadata.name && isControlledBy(p, job));
}

export function tokenOf(deps: ObserverDeps, job: StreamJob): string | undefined {
  const key = `${job.metadata.namespace}/${job.metadata.name}`;
  const cached = deps.secrets.get(job.metadata.namespace, tokenSecretName(job.metadata.name));
  const secret = cached && isControlledBy(cached, job) ? cached : undefined;
  const data = secret?.data?.[TOKEN_KEY];
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  return deps.tokens.get(key);
}

export async function observe(
  deps: ObserverDeps,
  job: StreamJob,
  opts: { queryRuntime: boolean },
): Promise<Observation> {
  const pods = podsOf(deps.pods, job);
  const depId = job.status?.deployed?.id;
  const current = new Map<number, Pod>();
  const others: Pod[] = [];
  for (const p of pods) {
    if (depId !== undefined && p.metadata?.labels?.[DEPLOYMENT_LABEL] === depId) current.set(slotOf(p), p);
    else others.push(p);
  }
  const parallelism = job.status?.deployed?.parallelism ?? 0;
  const failedSlots: number[] = [];
  const finishedSlots = new Map<number, FinishedTermination>();
  const leftSlots: number[] = [];
  let readyCount = 0;
  for (let s = 0; s < parallelism; s++) {
    const p = current.get(s);
    const done = p && finishedTermination(p);
    // A slot that left in a live scale in is neither finished nor failed (operation/live-rescale.ts deletes it).
    if (done?.left) leftSlots.push(s);
    else if (done) finishedSlots.set(s, done);
    else if (!p || isPodTerminal(p) || p.metadata?.deletionTimestamp) failedSlots.push(s);
    else if (isPodReady(p)) readyCount++;
  }
  const token = tokenOf(deps, job);
  let runtime: StatusResponse | undefined;
  let runtimeError: string | undefined;
  const slot0 = current.get(0);
  if (opts.queryRuntime && slot0?.status?.podIP && slot0.status.phase === 'Running' && token) {
    try {
      runtime = await deps.runtime.status(RuntimeClient.baseUrl(slot0.status.podIP), token);
      if (runtime.deploymentId && runtime.deploymentId !== depId) {
        runtimeError = `slot 0 answers for deployment ${runtime.deploymentId}, expected ${depId}`;
        runtime = undefined;
      }
    } catch (err) {
      runtimeError = err instanceof RuntimeError ? err.message : String(err);
    }
  }
  const laterSlots = Array.from({ length: Math.max(0, parallelism - 1) }, (_, i) => i + 1);
  const slotRuntime =
    opts.queryRuntime && token ? await querySlots(deps.runtime, current, laterSlots, token, depId) : undefined;
  const finished = parallelism > 0 && finishedSlots.size === parallelism;
  return {
    pods,
    current,
    deploymentId: depId,
    others,
    token,
    runtime,
    runtimeError,
    ...(slotRuntime ? { slotRuntime } : {}),
    failedSlots,
    finishedSlots,
    leftSlots,
    finished,
    readyCount,
  };
}

export function slot0Url(obs: Observation): string | undefined {
  const ip = obs.current.get(0)?.status?.podIP;
  return ip ? RuntimeClient.baseUrl(ip) : undefined;
}
