// The life of one pod on this node (one worker per pod uid):
//   sandbox (pod folders, volumes; retried until it works) → init containers in order
//   (sidecars, i.e. init containers with restartPolicy Always, start and keep running) →
//   app containers, each supervised with its restart policy → terminal phase when no
//   container will run again.
// Deletion (deletionTimestamp set): probes stop, preStop hooks run, the stop signal (SIGTERM)
// goes to every container, SIGKILL to their process groups when the grace period
// (metadata.deletionGracePeriodSeconds) runs out, a final status is written, and the pod
// object is deleted with grace 0 — what the kubelet does to finish a graceful deletion.
// Status writes: pod-status-writer.ts; the runners, their restart policies and their launch:
// pod-containers.ts.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sleep } from './backoff.ts';
import type { BackoffConfig } from './backoff.ts';
import { killRecordedProcesses } from './container-process.ts';
import type { ContainerRunner } from './container-runner.ts';
import type { EnvLookups, EnvMap, PodFacts } from './env.ts';
import { errorMessage, isApiStatus } from './errors.ts';
import type { EventRecorder } from './events.ts';
import type { ImageMap } from './image-map.ts';
import type { IpAllocator } from './ip-allocator.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod } from './kube-types.ts';
import { metaTime } from './node-registration.ts';
import {
  createPodRunners,
  prepareContainer,
  recordedAppTermination,
  recordedInitTermination,
} from './pod-containers.ts';
import type { ContainerLaunch } from './pod-containers.ts';
import { PodStatusWriter } from './pod-status-writer.ts';
import { computePhase } from './status.ts';
import type { PodSnapshot } from './status.ts';
import { PodVolumes } from './volumes.ts';

export const HOST_IP = '127.0.0.1';
const VOLUME_RESYNC_MS = 30_000;
/** Grace used when the pod object vanished (force deletion) while containers still ran. */
const VANISHED_GRACE_MS = 2_000;

export interface PodWorkerDeps {
  api: KubeApi;
  nodeName: string;
  podsDir: string;
  logDir: string;
  pvcRoot: string;
  imageMap: ImageMap;
  imageMapSource: string;
  serviceEnv: EnvMap;
  lookups: EnvLookups;
  allocator: IpAllocator;
  nodeAllocatable: PodFacts['nodeAllocatable'];
  backoff: BackoffConfig;
  events: EventRecorder;
  log: Logger;
  /** Called once the worker has nothing left to do for this pod (deleted or agent shutdown). */
  onDone: (uid: string) => void;
}

export function podDirName(pod: Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}_${pod.metadata?.name ?? ''}_${pod.metadata?.uid ?? ''}`;
}

function graceSecondsOf(pod: Pod): number {
  return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
}

export class PodWorker {
  readonly uid: string;
  readonly #d: PodWorkerDeps;
  readonly #log: Logger;
  readonly #podDir: string;
  readonly #podRoot: string;
  readonly #volumes: PodVolumes;
  #pod: Pod;
  #ip: string | undefined;
  #startTime: string | undefined;
  #sandboxReady = false;
  #initialized = false;
  #terminalPhase: 'Succeeded' | 'Failed' | undefined;
  #statusReason: string | undefined;
  #statusMessage: string | undefined;
  readonly #init: ContainerRunner[];
  readonly #apps: ContainerRunner[];
  readonly #runs: Promise<unknown>[] = [];
  readonly #abort = new AbortController();
  #terminating: Promise<void> | undefined;
  /** When termination SIGKILLs whatever still runs. */
  #killAt = Infinity;
  /** Whether #main ran; a worker created only to finish a deletion writes no status. */
  #started = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #status: PodStatusWriter;

  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.#pod = pod;
    this.#d = deps;
    this.uid = pod.metadata?.uid ?? '';
    this.#log = deps.log.child({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, uid: this.uid });
    this.#podDir = join(deps.podsDir, podDirName(pod));
    this.#podRoot = join(this.#podDir, 'root');
    this.#volumes = new PodVolumes(
      () => this.#pod,
      { podDir: this.#podDir, podRoot: this.#podRoot, pvcRoot: deps.pvcRoot },
      () => this.#facts(),
      { api: deps.api, lookups: deps.lookups, log: this.#log },
    );
    this.#status = new PodStatusWriter({
      api: deps.api,
      uid: this.uid,
      pod: () => this.#pod,
      snapshot: () => this.#snapshot(),
      log: this.#log,
    });
    const launch: ContainerLaunch = {
      pod: () => this.#pod,
      podDir: this.#podDir,
      podRoot: this.#podRoot,
      facts: () => this.#facts(),
      volumes: this.#volumes,
      imageMap: deps.imageMap,
      imageMapSource: deps.imageMapSource,
      lookups: deps.lookups,
      serviceEnv: deps.serviceEnv,
      logDir: deps.logDir,
    };
    const runners = createPodRunners({
      pod: () => this.#pod,
      podDir: this.#podDir,
      logDir: deps.logDir,
      backoff: deps.backoff,
      events: deps.events,
      log: this.#log,
      podIP: () => this.#ip ?? HOST_IP,
      prepare: (c) => prepareContainer(c, launch),
      onChange: () => this.#status.request(),
    });
    this.#init = runners.init;
    this.#apps = runners.apps;
  }

  get pod(): Pod {
    return this.#pod;
  }

  get terminal(): boolean {
    return this.#terminalPhase !== undefined;
  }

  #facts(): PodFacts {
    return {
      podIP: this.#ip ?? '',
      hostIP: HOST_IP,
      nodeName: this.#d.nodeName,
      nodeAllocatable: this.#d.nodeAllocatable,
    };
  }

  // ---- lifecycle -------------------------------------------------------------------------

  start(): void {
    this.#started = true;
    void this.#main().catch((err: unknown) => this.#log.error({ err }, 'pod worker failed'));
  }

  /** A newer version of the pod object. */
  update(pod: Pod): void {
    const wasDeleting = this.#pod.metadata?.deletionTimestamp !== undefined;
    this.#pod = pod;
    if (!pod.metadata?.deletionTimestamp) return;
    const graceMs = graceSecondsOf(pod) * 1000;
    if (!wasDeleting || !this.#terminating) void this.#beginTermination(graceMs, true);
    else if (Date.now() + graceMs < this.#killAt) {
      // A second delete shortened the grace period.
      this.#killAt = Date.now() + graceMs;
      setTimeout(() => this.#killAll(), graceMs).unref();
    }
  }

  /** The pod object is gone from the API (deleted with grace 0, or our own final delete). */
  objectDeleted(): void {
    this.#status.markObjectGone();
    void this.#beginTermination(VANISHED_GRACE_MS, false);
  }

  /** The agent is stopping: stop containers (grace capped), write nothing, keep the pod. */
  shutdown(graceCapMs: number): Promise<void> {
    const grace = Math.min(graceCapMs, graceSecondsOf(this.#pod) * 1000);
    return this.#beginTermination(grace, false, true);
  }

  async #main(): Promise<void> {
    const signal = this.#abort.signal;
    const pod = this.#pod;
    // IP: keep the one the pod already has (agent restart), else allocate.
    const prevIP = pod.status?.podIP;
    if (pod.spec?.hostNetwork) this.#ip = HOST_IP;
    else if (prevIP && this.#d.allocator.reserve(this.uid, prevIP)) this.#ip = prevIP;
    else this.#ip = this.#d.allocator.allocate(this.uid);
    this.#startTime = pod.status?.startTime ?? metaTime();
    this.#log.info({ podIP: this.#ip }, 'pod accepted');

    // Processes a previous agent left behind (it was killed hard) are stopped first.
    const orphans = await killRecordedProcesses(this.#podDir, Math.min(10_000, graceSecondsOf(pod) * 1000));
    if (orphans.length > 0)
      this.#log.warn({ containers: orphans }, 'killed containers left running by a previous agent');
    const recovered = (pod.status?.containerStatuses ?? []).length > 0;
    this.#status.request();

    // Sandbox: folders and volumes.
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await mkdir(this.#podRoot, { recursive: true });
        await mkdir(join(this.#podDir, 'tmp'), { recursive: true });
        await mkdir(join(this.#podDir, 'containers'), { recursive: true });
        await this.#volumes.sync();
        this.#sandboxReady = true;
        this.#statusMessage = undefined;
        break;
      } catch (err) {
        const message = errorMessage(err);
        if (attempt === 0 || attempt % 15 === 0) {
          this.#log.warn({ err: message }, 'pod volumes not ready; retrying');
          this.#d.events.emit(this.#pod, 'Warning', 'FailedMount', message);
        }
        this.#statusMessage = message;
        this.#status.request();
        await sleep(2000, signal);
      }
    }
    if (signal.aborted) return;
    this.#resyncTimer = setInterval(() => void this.#resyncVolumes(), VOLUME_RESYNC_MS);
    this.#status.request();

    // Init containers. A pod recovered after an agent restart that was already initialized
    // does not re-run its regular init containers.
    const wasInitialized =
      pod.status?.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True') ?? false;
    for (const runner of this.#init) {
      if (signal.aborted) return;
      if (runner.role === 'sidecar') {
        this.#runs.push(runner.run());
        if (!(await Promise.race([runner.waitStarted(), this.#abortPromise()]))) return;
        continue;
      }
      if (recovered && wasInitialized) {
        const recorded = recordedInitTermination(pod, runner.name);
        runner.restoreTerminated(recorded.state, recorded.restartCount);
        continue;
      }
      const run = runner.run();
      this.#runs.push(run);
      const term = await run;
      if (signal.aborted) return;
      if (!term || term.exitCode !== 0) {
        // run() only returns a failure when no restart follows (restartPolicy Never).
        this.#terminalPhase = 'Failed';
        this.#statusReason = undefined;
        await this.#finishTerminal();
        return;
      }
    }
    this.#initialized = true;
    this.#status.request();

    // App containers. After an agent restart, a container that terminated and would not be
    // restarted keeps its recorded termination instead of running again.
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const appRuns: Promise<unknown>[] = [];
    for (const runner of this.#apps) {
      const recorded = recovered ? recordedAppTermination(pod, policy, runner.name) : undefined;
      if (recorded) {
        runner.restoreTerminated(recorded.state, recorded.restartCount);
        continue;
      }
      const run = runner.run();
      this.#runs.push(run);
      appRuns.push(run);
    }
    this.#status.request();
    await Promise.all(appRuns);
    if (signal.aborted) return;
    // No app container will run again: the pod is terminal.
    const phase = computePhase(policy, this.#snapshot());
    this.#terminalPhase = phase === 'Succeeded' ? 'Succeeded' : 'Failed';
    await this.#finishTerminal();
  }

  #abortPromise(): Promise<false> {
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) resolve(false);
      else signal.addEventListener('abort', () => resolve(false), { once: true });
    });
  }

  /** A terminal pod (not deleted): stop sidecars, free the IP, keep the status. */
  async #finishTerminal(): Promise<void> {
    this.#log.info({ phase: this.#terminalPhase }, 'pod finished');
    const grace = graceSecondsOf(this.#pod) * 1000;
    await Promise.all(this.#init.filter((r) => r.role === 'sidecar').map((r) => r.stop(grace)));
    clearInterval(this.#resyncTimer);
    this.#status.request();
    await this.#status.settled();
    if (this.#ip && this.#ip !== HOST_IP) this.#d.allocator.release(this.uid);
  }

  async #resyncVolumes(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    try {
      await this.#volumes.sync();
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'volume re-sync failed; keeping the previous content');
    }
  }

  #killAll(): void {
    for (const r of [...this.#apps, ...this.#init]) r.killNow();
  }

  /**
   * Stops everything. `finishDeletion`: write the final status and delete the pod object
   * with grace 0. `agentShutdown`: no API writes at all (the pod stays as it is for the next
   * agent to reconcile).
   */
  #beginTermination(graceMs: number, finishDeletion: boolean, agentShutdown = false): Promise<void> {
    if (this.#terminating) {
      if (Date.now() + graceMs < this.#killAt) {
        this.#killAt = Date.now() + graceMs;
        setTimeout(() => this.#killAll(), graceMs).unref();
      }
      return this.#terminating;
    }
    this.#killAt = Date.now() + graceMs;
    this.#abort.abort();
    this.#terminating = this.#terminate(graceMs, finishDeletion, agentShutdown).catch((err: unknown) => {
      this.#log.error({ err }, 'pod termination failed');
    });
    return this.#terminating;
  }

  async #terminate(graceMs: number, finishDeletion: boolean, agentShutdown: boolean): Promise<void> {
    clearInterval(this.#resyncTimer);
    const deadline = Date.now() + graceMs;
    this.#log.info({ graceMs, finishDeletion, agentShutdown }, 'stopping pod');
    if (agentShutdown) this.#status.discardPending();
    // App containers first, then sidecars in reverse order, then anything else still running.
    await Promise.all(this.#apps.map((r) => r.stop(Math.max(0, deadline - Date.now()))));
    for (const r of [...this.#init].reverse()) await r.stop(Math.max(0, deadline - Date.now()));
    await Promise.allSettled(this.#runs);
    // Orphans of a previous agent (this worker may never have started its own containers).
    await killRecordedProcesses(this.#podDir, Math.max(0, deadline - Date.now()));
    if (this.#ip && this.#ip !== HOST_IP) this.#d.allocator.release(this.uid);
    if (agentShutdown) {
      this.#d.onDone(this.uid);
      return;
    }
    if (!this.#terminalPhase) {
      const all = this.#apps.map((r) => r.terminated);
      this.#terminalPhase = all.length > 0 && all.every((t) => t?.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    if (finishDeletion && !this.#status.objectGone) {
      if (this.#started) {
        this.#status.request();
        await this.#status.settled();
      }
      const ns = this.#pod.metadata?.namespace ?? 'default';
      const name = this.#pod.metadata?.name ?? '';
      try {
        await this.#d.api.delete(`/api/v1/namespaces/${ns}/pods/${name}`, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: this.uid },
        });
        this.#log.info('pod deleted');
      } catch (err) {
        if (!isApiStatus(err, 404) && !isApiStatus(err, 409))
          this.#log.warn({ err: errorMessage(err) }, 'final pod delete failed');
      }
    }
    await rm(this.#podDir, { recursive: true, force: true }).catch(() => undefined);
    this.#d.onDone(this.uid);
  }

  // ---- status ----------------------------------------------------------------------------

  #snapshot(): PodSnapshot {
    return {
      init: this.#init.map((r) => r.snapshot()),
      containers: this.#apps.map((r) => r.snapshot()),
      initialized: this.#initialized,
      sandboxReady: this.#sandboxReady,
      podIP: this.#ip,
      hostIP: HOST_IP,
      startTime: this.#startTime,
      ...(this.#terminalPhase ? { terminalPhase: this.#terminalPhase } : {}),
      ...(this.#statusReason ? { reason: this.#statusReason } : {}),
      ...(this.#statusMessage ? { message: this.#statusMessage } : {}),
    };
  }
}
