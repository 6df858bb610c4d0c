// Pod status as the kubelet reports it, computed from the agent's view of its containers.
// Pure functions: the phase rules follow the kubelet's getPhase (a container waiting with no
// previous termination keeps the pod Pending; one waiting to be restarted counts as stopped;
// with restartPolicy Always stopped containers keep the pod Running).
import type { ContainerStatus, Pod, PodCondition, PodStatus } from './kube-types.ts';

export interface TerminatedState {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt: string;
  containerID?: string;
}

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: TerminatedState };

export interface ContainerSnapshot {
  name: string;
  image: string;
  state: ContainerState;
  lastTerminated?: TerminatedState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID?: string;
}

export interface PodSnapshot {
  init: ContainerSnapshot[];
  containers: ContainerSnapshot[];
  /** All regular init containers completed (and sidecars started). */
  initialized: boolean;
  /** Volumes and pod folders are set up ("sandbox" ready). */
  sandboxReady: boolean;
  podIP: string | undefined;
  hostIP: string;
  startTime: string | undefined;
  /** A terminal phase the worker has decided (sticky); otherwise computed. */
  terminalPhase?: 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** Conditions this agent owns; others on the pod (PodScheduled, DisruptionTarget, ...) are kept. */
export const OWNED_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'] as const;

export function computePhase(restartPolicy: string, snap: PodSnapshot): Phase {
  if (snap.terminalPhase) return snap.terminalPhase;
  if (!snap.initialized) return 'Pending';
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of snap.containers) {
    if ('running' in c.state) running++;
    else if ('terminated' in c.state) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function stateJson(state: ContainerState): ContainerStatus['state'] {
  if ('waiting' in state)
    return {
      waiting: { reason: state.waiting.reason, ...(state.waiting.message ? { message: state.waiting.message } : {}) },
    };
  if ('running' in state) return { running: { startedAt: state.running.startedAt } };
  return { terminated: terminatedJson(state.terminated) };
}

function terminatedJson(t: TerminatedState): NonNullable<NonNullable<ContainerStatus['state']>['terminated']> {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    finishedAt: t.finishedAt,
    ...(t.signal !== undefined ? { signal: t.signal } : {}),
    ...(t.message ? { message: t.message } : {}),
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    ...(t.containerID ? { containerID: t.containerID } : {}),
  };
}

export function containerStatusJson(c: ContainerSnapshot): ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: `tributary-image://${c.image}`,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    state: stateJson(c.state),
    lastState: c.lastTerminated ? { terminated: terminatedJson(c.lastTerminated) } : {},
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
  };
}

function condition(
  type: string,
  ok: boolean,
  previous: PodCondition[],
  now: string,
  reason?: string,
  message?: string,
): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous.find((c) => c.type === type);
  return {
    type,
    status,
    lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** The full status the agent wants the pod to have (conditions merged with foreign ones). */
export function buildPodStatus(pod: Pod, snap: PodSnapshot, now: string): PodStatus {
  const previous = pod.status?.conditions ?? [];
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  const phase = computePhase(restartPolicy, snap);
  const terminal = phase === 'Succeeded' || phase === 'Failed';

  const incompleteInit = snap.init
    .filter((c) => !('terminated' in c.state && c.state.terminated.exitCode === 0) && !c.started)
    .map((c) => c.name);
  const unready = snap.containers.filter((c) => !c.ready).map((c) => c.name);
  const containersReady = !terminal && snap.initialized && unready.length === 0;
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const failedGates = gates.filter((g) => previous.find((c) => c.type === g)?.status !== 'True');
  const ready = containersReady && failedGates.length === 0;

  const notReadyReason = terminal
    ? 'PodCompleted'
    : unready.length > 0 || !snap.initialized
      ? 'ContainersNotReady'
      : 'ReadinessGatesNotReady';
  const notReadyMessage = terminal
    ? undefined
    : unready.length > 0
      ? `containers with unready status: [${unready.join(' ')}]`
      : failedGates.length > 0
        ? `corresponding condition of pod readiness gate "${failedGates[0]}" does not exist or is not True`
        : undefined;

  const owned: PodCondition[] = [
    condition('PodReadyToStartContainers', snap.sandboxReady && !terminal, previous, now),
    condition(
      'Initialized',
      snap.initialized || (terminal && incompleteInit.length === 0),
      previous,
      now,
      snap.initialized ? undefined : terminal ? 'PodCompleted' : 'ContainersNotInitialized',
      snap.initialized || terminal ? undefined : `containers with incomplete status: [${incompleteInit.join(' ')}]`,
    ),
    condition(
      'ContainersReady',
      containersReady,
      previous,
      now,
      containersReady ? undefined : notReadyReason,
      containersReady ? undefined : notReadyMessage,
    ),
    condition('Ready', ready, previous, now, ready ? undefined : notReadyReason, ready ? undefined : notReadyMessage),
  ];
  const foreign = previous.filter((c) => !(OWNED_CONDITIONS as readonly string[]).includes(c.type));
  const conditions = [...foreign, ...owned];

  return {
    phase,
    conditions,
    hostIP: snap.hostIP,
    hostIPs: [{ ip: snap.hostIP }],
    ...(snap.podIP ? { podIP: snap.podIP, podIPs: [{ ip: snap.podIP }] } : {}),
    ...(snap.startTime ? { startTime: snap.startTime } : {}),
    ...(snap.reason ? { reason: snap.reason } : {}),
    ...(snap.message ? { message: snap.message } : {}),
    initContainerStatuses: snap.init.map(containerStatusJson),
    containerStatuses: snap.containers.map(containerStatusJson),
  };
}
