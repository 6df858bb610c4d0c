// The containers of one pod as runners, and what it takes to launch one:
// - restart policy by role: app containers follow the pod's restartPolicy; init containers
//   restart OnFailure (Never when the pod says Never); sidecars (init containers with
//   restartPolicy Always) always restart;
// - recovery after an agent restart: a container's recorded status carries its restart count
//   and last termination over, and containers that finished for good keep their termination
//   instead of running again;
// - launch preparation: image → command (image map), env, `$(VAR)` arguments, volume mounts.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BackoffConfig } from './backoff.ts';
import { ContainerRunner } from './container-runner.ts';
import type { ContainerRole, PreparedContainer } from './container-runner.ts';
import { expandArgs, resolveContainerEnv } from './env.ts';
import type { EnvLookups, EnvMap, PodFacts } from './env.ts';
import { NodeAgentError } from './errors.ts';
import type { EventRecorder } from './events.ts';
import { lookupImage, resolveCommand } from './image-map.ts';
import type { ImageMap } from './image-map.ts';
import type { Container, ContainerStatus, Pod } from './kube-types.ts';
import { metaTime } from './node-registration.ts';
import type { TerminatedState } from './status.ts';
import type { PodVolumes } from './volumes.ts';
import { inspectImage, runtimeMode } from './podman.ts';
import { imageNotPresent, mustBeBuilt, preparePodman } from './podman-launch.ts';

type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** A recorded termination and the restart count that goes with it. */
export interface RecordedTermination {
  state: TerminatedState;
  restartCount: number;
}

/**
 * What a container's status from before an agent restart carries into its new runner: the
 * container ran before, so its next start is a restart; one that was running is recorded as
 * terminated by the agent restart (exit 137, reason NodeAgentRestarted).
 */
export function carriedOver(
  prev: ContainerStatus | undefined,
): { restartCount: number; lastTerminated?: TerminatedState } | undefined {
  if (!prev || !(prev.state?.running || prev.state?.terminated || prev.lastState?.terminated)) return undefined;
  const t = prev.state?.terminated ?? prev.lastState?.terminated;
  const lastTerminated: TerminatedState | undefined = prev.state?.running
    ? {
        exitCode: 137,
        reason: 'NodeAgentRestarted',
        message: 'the node agent restarted; the container was killed and is restarted per restartPolicy',
        startedAt: prev.state.running.startedAt ?? metaTime(),
        finishedAt: metaTime(),
      }
    : t
      ? {
          exitCode: t.exitCode,
          reason: t.reason ?? 'Error',
          finishedAt: t.finishedAt ?? metaTime(),
          ...(t.startedAt ? { startedAt: t.startedAt } : {}),
          ...(t.message ? { message: t.message } : {}),
        }
      : undefined;
  return { restartCount: (prev.restartCount ?? 0) + 1, ...(lastTerminated ? { lastTerminated } : {}) };
}

/** A regular init container of a pod that was already initialized: it does not run again. */
export function recordedInitTermination(pod: Pod, name: string): RecordedTermination {
  const prevStatus = pod.status?.initContainerStatuses?.find((s) => s.name === name);
  const prev = prevStatus?.state?.terminated;
  return {
    state: {
      exitCode: prev?.exitCode ?? 0,
      reason: prev?.reason ?? 'Completed',
      finishedAt: prev?.finishedAt ?? metaTime(),
    },
    restartCount: prevStatus?.restartCount ?? 0,
  };
}

/**
 * An app container of a recovered pod that the restart policy does not run again: one that
 * terminated (any exit with Never, success with OnFailure), or that ran under Never.
 */
export function recordedAppTermination(pod: Pod, policy: string, name: string): RecordedTermination | undefined {
  const prev = pod.status?.containerStatuses?.find((s) => s.name === name);
  const t = prev?.state?.terminated;
  const restartCount = prev?.restartCount ?? 0;
  if (t && (policy === 'Never' || (policy === 'OnFailure' && t.exitCode === 0))) {
    return {
      state: {
        exitCode: t.exitCode,
        reason: t.reason ?? 'Error',
        finishedAt: t.finishedAt ?? metaTime(),
        ...(t.startedAt ? { startedAt: t.startedAt } : {}),
      },
      restartCount,
    };
  }
  if (prev?.state?.running !== undefined && policy === 'Never') {
    const state: TerminatedState = {
      exitCode: 137,
      reason: 'NodeAgentRestarted',
      message: 'the node agent restarted while the container ran; restartPolicy Never forbids running it again',
      ...(prev.state.running.startedAt ? { startedAt: prev.state.running.startedAt } : {}),
      finishedAt: metaTime(),
    };
    return { state, restartCount };
  }
  return undefined;
}

export interface PodRunnersOptions {
  /** The latest pod object (events name it). */
  pod: () => Pod;
  podDir: string;
  logDir: string;
  backoff: BackoffConfig;
  events: EventRecorder;
  log: Logger;
  podIP: () => string;
  prepare: (c: Container) => Promise<PreparedContainer>;
  onChange: () => void;
}

/** The runners of the pod's init containers (in order) and app containers. */
export function createPodRunners(o: PodRunnersOptions): { init: ContainerRunner[]; apps: ContainerRunner[] } {
  const pod = o.pod();
  const podPolicy = (pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
  const previous = new Map<string, ContainerStatus>();
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])])
    previous.set(s.name, s);
  const runner = (c: Container, role: ContainerRole, restartPolicy: RestartPolicy): ContainerRunner => {
    const podName = pod.metadata?.name ?? '';
    const ns = pod.metadata?.namespace ?? 'default';
    const carried = carriedOver(previous.get(c.name));
    const r = new ContainerRunner({
      container: c,
      role,
      restartPolicy,
      podName,
      logFile: join(o.logDir, 'pods', `${ns}_${podName}_${c.name}.log`),
      pidFile: join(o.podDir, 'containers', `${c.name}.pid`),
      podIP: o.podIP,
      prepare: () => o.prepare(c),
      onChange: o.onChange,
      event: (type, reason, message) => o.events.emit(o.pod(), type, reason, message, c.name),
      backoff: o.backoff,
      log: o.log,
      ...(carried ? { previous: carried } : {}),
    });
    r.setDefaultGraceSeconds(pod.spec?.terminationGracePeriodSeconds ?? 30);
    return r;
  };
  const init = (pod.spec?.initContainers ?? []).map((c) => {
    const sidecar = c.restartPolicy === 'Always';
    return runner(c, sidecar ? 'sidecar' : 'init', sidecar ? 'Always' : podPolicy === 'Never' ? 'Never' : 'OnFailure');
  });
  const apps = (pod.spec?.containers ?? []).map((c) => runner(c, 'app', podPolicy));
  return { init, apps };
}

export interface ContainerLaunch {
  pod: () => Pod;
  podDir: string;
  podRoot: string;
  facts: () => PodFacts;
  volumes: PodVolumes;
  imageMap: ImageMap;
  /** Where the image map came from, for the error naming an unmapped image. */
  imageMapSource: string;
  lookups: EnvLookups;
  serviceEnv: EnvMap;
  /** Where container logs go (`<logDir>/pods/<ns>_<pod>_<container>.log`). */
  logDir: string;
}

/** The command, env and working folder of a container, its volumes mounted. */
export async function prepareContainer(c: Container, x: ContainerLaunch): Promise<PreparedContainer> {
  const image = c.image ?? '';
  if (runtimeMode() === 'podman') {
    const info = await inspectImage(image);
    if (info) {
      const k8s = await resolveContainerEnv(x.pod(), c, x.facts(), x.lookups, x.serviceEnv);
      const pod = x.pod();
      const logFile = join(x.logDir, 'pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${c.name}.log`);
      return preparePodman(c, { ...x, logFile }, info, k8s);
    }
    // Only generic OS images and tributary/node fall back to local processes.
    if (mustBeBuilt(image)) throw imageNotPresent(image, c.imagePullPolicy);
  }
  const mapping = lookupImage(x.imageMap, image);
  if (!mapping) {
    throw new NodeAgentError(
      'NODE_AGENT_IMAGE_NOT_MAPPED',
      `image "${image}" is not in the node agent's image map (${x.imageMapSource}); add a "<repo>:<tag pattern>": {"command": [...]} entry to the --image-map file`,
    );
  }
  const k8sEnv = await resolveContainerEnv(x.pod(), c, x.facts(), x.lookups, x.serviceEnv);
  const { argv, imageEnv } = resolveCommand(mapping, image, expandArgs(c.command, k8sEnv), expandArgs(c.args, k8sEnv));
  await x.volumes.mount(c);
  const cwd = c.workingDir ? join(x.podRoot, c.workingDir) : x.podRoot;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    TMPDIR: join(x.podDir, 'tmp'),
    ...imageEnv,
    HOSTNAME: x.pod().spec?.hostname ?? x.pod().metadata?.name ?? '',
    ...k8sEnv,
    TRIBUTARY_POD_ROOT: x.podRoot,
  };
  return { argv, env, cwd, podRoot: x.podRoot };
}
