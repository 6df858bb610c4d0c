// Supervises one container of a pod: prepare (image map, env, mounts) → start the process →
// probes → exit → restart per policy with crash-loop backoff, until the container is done or
// stopped. It owns the container's status fields (state, lastState, ready, started,
// restartCount) and reports every change through `onChange`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CrashBackoff, sleep } from './backoff.ts';
import type { BackoffConfig } from './backoff.ts';
import { ContainerProcess } from './container-process.ts';
import type { ContainerEnd } from './podman.ts';
import type { ExitInfo } from './container-process.ts';
import { NodeAgentError, errorMessage } from './errors.ts';
import type { Container } from './kube-types.ts';
import { ProbeWorker, execCommand, runProbe } from './probes.ts';
import type { ProbeKind } from './probes.ts';
import type { ContainerSnapshot, ContainerState, TerminatedState } from './status.ts';
import { metaTime } from './node-registration.ts';

export type ContainerRole = 'init' | 'sidecar' | 'app';

export interface PreparedContainer {
  argv: [string, ...string[]];
  env: Record<string, string>;
  cwd: string;
  podRoot: string;
  /** Container mode: reads how the podman container ended and removes it (podman.ts). */
  finish?: (podmanExit: number) => Promise<ContainerEnd>;
}

export interface ContainerRunnerOptions {
  container: Container;
  role: ContainerRole;
  /** Effective restart policy of this container (init containers: OnFailure or Never). */
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  podName: string;
  logFile: string;
  pidFile: string;
  podIP: () => string;
  /** Resolves command and env; throws NodeAgentError (IMAGE_NOT_MAPPED, ENV, VOLUME, ...). */
  prepare: () => Promise<PreparedContainer>;
  onChange: () => void;
  event: (type: 'Normal' | 'Warning', reason: string, message: string) => void;
  backoff: BackoffConfig;
  log: Logger;
  /** Carried over from a previous agent's status (restart reconciliation). */
  previous?: { restartCount: number; lastTerminated?: TerminatedState };
}

/** Waiting reason for a preparation error. */
function waitingReason(err: unknown): string {
  if (err instanceof NodeAgentError) {
    if (err.code === 'NODE_AGENT_IMAGE_NOT_MAPPED') return 'ImageNotMapped';
    if (err.code === 'NODE_AGENT_IMAGE_MAP') return 'CreateContainerError';
    if (err.code === 'NODE_AGENT_IMAGE_NOT_PRESENT') return 'ErrImageNeverPull';
    if (err.code === 'NODE_AGENT_SECURITY') return 'CreateContainerConfigError';
    if (err.code === 'NODE_AGENT_CREATE_CONTAINER') return 'CreateContainerError';
    if (err.code === 'NODE_AGENT_VOLUME' || err.code === 'NODE_AGENT_TOKEN') return 'ContainerCreating';
  }
  return 'CreateContainerConfigError';
}

export class ContainerRunner {
  readonly name: string;
  readonly role: ContainerRole;
  readonly #o: ContainerRunnerOptions;
  #state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  #lastTerminated: TerminatedState | undefined;
  #restartCount = 0;
  #ready = false;
  #started = false;
  #proc: ContainerProcess | undefined;
  #prepared: PreparedContainer | undefined;
  #probes: ProbeWorker[] = [];
  readonly #stop = new AbortController();
  #stopGraceMs = 0;
  readonly #backoff: CrashBackoff;
  #startedWaiters: ((started: boolean) => void)[] = [];
  #killReason: string | undefined;
  #defaultGraceSec = 30;

  constructor(o: ContainerRunnerOptions) {
    this.#o = o;
    this.name = o.container.name;
    this.role = o.role;
    this.#backoff = new CrashBackoff(o.backoff);
    if (o.previous) {
      this.#restartCount = o.previous.restartCount;
      this.#lastTerminated = o.previous.lastTerminated;
    }
  }

  snapshot(): ContainerSnapshot {
    return {
      name: this.name,
      image: this.#o.container.image ?? '',
      state: this.#state,
      ...(this.#lastTerminated ? { lastTerminated: this.#lastTerminated } : {}),
      ready: this.#ready,
      started: this.#started,
      restartCount: this.#restartCount,
      ...(this.#proc && this.#proc.pid > 0 ? { containerID: `tributary://${this.#proc.pid}` } : {}),
    };
  }

  get terminated(): TerminatedState | undefined {
    return 'terminated' in this.#state ? this.#state.terminated : undefined;
  }

  get isRunning(): boolean {
    return this.#proc !== undefined && !this.#proc.hasExited;
  }

  /** Resolves true once the container counts as started (sidecars gate later init containers). */
  waitStarted(): Promise<boolean> {
    if (this.#started) return Promise.resolve(true);
    if (this.#stop.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => this.#startedWaiters.push(resolve));
  }

  #setStarted(v: boolean): void {
    this.#started = v;
    if (v) for (const w of this.#startedWaiters.splice(0)) w(true);
  }

  /** Runs until the container will not be started again; resolves with its last termination. */
  async run(): Promise<TerminatedState | undefined> {
    const signal = this.#stop.signal;
    try {
      while (!signal.aborted) {
        let prepared: PreparedContainer;
        try {
          prepared = await this.#o.prepare();
        } catch (err) {
          const reason = waitingReason(err);
          const message = errorMessage(err);
          const changed = !('waiting' in this.#state) || this.#state.waiting.message !== message;
          this.#state = { waiting: { reason, message } };
          if (changed) {
            this.#o.log.warn({ container: this.name, reason, err: message }, 'container cannot start yet');
            this.#o.event('Warning', reason === 'ContainerCreating' ? 'FailedMount' : 'Failed', message);
            this.#o.onChange();
          }
          // Image-map entries only change with an agent restart; other errors (a missing
          // ConfigMap, the CA ConfigMap not yet published) usually resolve within seconds.
          await sleep(reason === 'ImageNotMapped' ? 30_000 : 2_000, signal);
          continue;
        }
        if (signal.aborted) break;
        this.#prepared = prepared;
        const exit = await this.#runOnce(prepared);
        if (exit.createError !== undefined && !signal.aborted) {
          const message = exit.createError;
          this.#state = { waiting: { reason: 'CreateContainerError', message } };
          this.#o.log.warn({ container: this.name, err: message }, 'container could not be created');
          this.#o.event('Warning', 'Failed', `Error: ${message}`);
          this.#o.onChange();
          await sleep(this.#backoff.next(0), signal);
          continue;
        }
        const term = exit.term;
        if (signal.aborted) {
          this.#state = { terminated: term };
          break;
        }
        const restart =
          this.#o.restartPolicy === 'Always' || (this.#o.restartPolicy === 'OnFailure' && term.exitCode !== 0);
        if (!restart) {
          this.#state = { terminated: term };
          this.#o.onChange();
          break;
        }
        this.#lastTerminated = term;
        const delay = this.#backoff.next(exit.runMs);
        this.#state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.name} pod=${this.#o.podName}`,
          },
        };
        this.#o.event(
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${this.name} in pod ${this.#o.podName}`,
        );
        this.#o.onChange();
        if (!(await sleep(delay, signal))) break;
        this.#restartCount++;
      }
    } finally {
      for (const w of this.#startedWaiters.splice(0)) w(false);
    }
    return this.terminated;
  }

  async #runOnce(
    prepared: PreparedContainer,
  ): Promise<{ term: TerminatedState; runMs: number; createError?: string | undefined }> {
    const c = this.#o.container;
    const startedAt = metaTime();
    this.#killReason = undefined;
    const proc = await ContainerProcess.start({
      argv: prepared.argv,
      env: prepared.env,
      cwd: prepared.cwd,
      logFile: this.#o.logFile,
      pidFile: this.#o.pidFile,
      banner: `----- ${new Date().toISOString()} tributary node agent: container ${this.name} start #${this.#restartCount}: ${JSON.stringify(prepared.argv)} -----`,
    });
    this.#proc = proc;
    // stop() may have come while the process was being spawned: it found no process to kill.
    if (this.#stop.signal.aborted) void this.#terminate(proc, this.#stopGraceMs);
    const t0 = Date.now();
    if (proc.pid > 0) {
      this.#state = { running: { startedAt } };
      this.#ready = false;
      this.#setStarted(!c.startupProbe);
      if (!c.readinessProbe && this.#started) this.#ready = true;
      this.#o.log.info({ container: this.name, pid: proc.pid, argv: prepared.argv }, 'container started');
      this.#o.event('Normal', 'Started', `Started container ${this.name}`);
      this.#startProbes();
      this.#o.onChange();
    }
    const exit: ExitInfo = await proc.exited;
    const end = prepared.finish ? await prepared.finish(exit.exitCode) : undefined;
    this.#stopProbes();
    const wasReady = this.#ready;
    this.#ready = false;
    this.#setStarted(false);
    const message = exit.startError ?? this.#killReason ?? (await this.#terminationMessage(prepared, exit.exitCode));
    const term: TerminatedState = {
      exitCode: exit.exitCode,
      reason: exit.startError
        ? 'StartError'
        : end?.oomKilled
          ? 'OOMKilled'
          : exit.exitCode === 0
            ? 'Completed'
            : 'Error',
      startedAt,
      finishedAt: metaTime(),
      ...(exit.signal ? { signal: exit.exitCode - 128 } : {}),
      ...(message ? { message } : {}),
      ...(proc.pid > 0 ? { containerID: `tributary://${proc.pid}` } : {}),
    };
    this.#o.log.info(
      { container: this.name, exitCode: exit.exitCode, signal: exit.signal, startError: exit.startError, wasReady },
      'container exited',
    );
    if (exit.startError) this.#o.event('Warning', 'Failed', exit.startError);
    this.#state = { terminated: term };
    this.#o.onChange();
    return { term, runMs: Date.now() - t0, createError: end?.createError };
  }

  /** `terminationMessagePath` (default /dev/termination-log) under the pod root, or the log tail. */
  async #terminationMessage(prepared: PreparedContainer, exitCode: number): Promise<string | undefined> {
    const c = this.#o.container;
    const path = c.terminationMessagePath || '/dev/termination-log';
    try {
      const text = (await readFile(join(prepared.podRoot, path), 'utf8')).slice(0, 4096);
      if (text) return text;
    } catch {
      // no termination message file
    }
    if (c.terminationMessagePolicy === 'FallbackToLogsOnError' && exitCode !== 0) {
      try {
        const log = await readFile(this.#o.logFile, 'utf8');
        return log.split('\n').slice(-80).join('\n').slice(-2048);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  #probeTarget(): { podIP: string; container: Container; env: Record<string, string>; cwd: string } {
    return {
      podIP: this.#o.podIP(),
      container: this.#o.container,
      env: this.#prepared?.env ?? {},
      cwd: this.#prepared?.cwd ?? '/',
    };
  }

  #startProbes(): void {
    const c = this.#o.container;
    const make = (kind: ProbeKind, probe: NonNullable<Container['readinessProbe']>) =>
      new ProbeWorker({
        kind,
        probe,
        target: () => this.#probeTarget(),
        onChange: (ok, msg) => this.#onProbe(kind, ok, msg),
      });
    if (c.startupProbe && !this.#started) {
      const w = make('startup', c.startupProbe);
      this.#probes.push(w);
      w.start();
    } else {
      this.#startRunningProbes();
    }
  }

  #startRunningProbes(): void {
    const c = this.#o.container;
    // Sidecar and app containers only; regular init containers may not have these probes.
    if (this.role === 'init') return;
    for (const [kind, probe] of [
      ['readiness', c.readinessProbe],
      ['liveness', c.livenessProbe],
    ] as const) {
      if (!probe) continue;
      const w = new ProbeWorker({
        kind,
        probe,
        target: () => this.#probeTarget(),
        onChange: (ok, msg) => this.#onProbe(kind, ok, msg),
      });
      this.#probes.push(w);
      w.start();
    }
  }

  #stopProbes(): void {
    for (const p of this.#probes) p.stop();
    this.#probes = [];
  }

  #onProbe(kind: ProbeKind, ok: boolean, message: string): void {
    if (this.#stop.signal.aborted || !this.isRunning) return;
    this.#o.log.info({ container: this.name, probe: kind, ok, message }, 'probe result changed');
    if (!ok)
      this.#o.event('Warning', 'Unhealthy', `${kind[0]?.toUpperCase()}${kind.slice(1)} probe failed: ${message}`);
    if (kind === 'readiness') {
      this.#ready = ok;
      this.#o.onChange();
    } else if (kind === 'startup') {
      if (ok) {
        this.#setStarted(true);
        if (!this.#o.container.readinessProbe) this.#ready = true;
        this.#startRunningProbes();
        this.#o.onChange();
      } else {
        this.#kill(
          `Container ${this.name} failed startup probe, will be restarted`,
          this.#o.container.startupProbe?.terminationGracePeriodSeconds,
        );
      }
    } else if (!ok) {
      this.#kill(
        `Container ${this.name} failed liveness probe, will be restarted`,
        this.#o.container.livenessProbe?.terminationGracePeriodSeconds,
      );
    }
  }

  #kill(message: string, probeGraceSeconds: number | undefined): void {
    const proc = this.#proc;
    if (!proc || proc.hasExited) return;
    this.#killReason = message;
    this.#o.event('Normal', 'Killing', message);
    this.#stopProbes();
    const graceMs = (probeGraceSeconds ?? this.#defaultGraceSec) * 1000;
    void this.#terminate(proc, graceMs);
  }

  /** The pod's terminationGracePeriodSeconds, used for probe-triggered kills. */
  setDefaultGraceSeconds(seconds: number): void {
    this.#defaultGraceSec = seconds;
  }

  /** preStop hook, then the stop signal, then SIGKILL to the group when the grace runs out. */
  async #terminate(proc: ContainerProcess, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    const preStop = this.#o.container.lifecycle?.preStop;
    if (preStop && graceMs > 0) {
      const target = this.#probeTarget();
      const budget = Math.max(1, graceMs);
      let result;
      if (preStop.exec) result = await execCommand(preStop.exec.command ?? [], target, budget);
      else if (preStop.httpGet)
        result = await runProbe({ httpGet: preStop.httpGet, timeoutSeconds: Math.ceil(budget / 1000) }, target);
      else if (preStop.sleep) {
        await sleep(Math.min(budget, preStop.sleep.seconds * 1000));
        result = { ok: true, message: '' };
      }
      if (result && !result.ok) this.#o.event('Warning', 'FailedPreStopHook', `PreStop hook failed: ${result.message}`);
    }
    const stopSignal = this.#o.container.lifecycle?.stopSignal as NodeJS.Signals | undefined;
    const remaining = Math.max(0, deadline - Date.now());
    if (stopSignal && stopSignal !== 'SIGTERM' && remaining > 0) {
      proc.signal(stopSignal);
      await Promise.race([proc.exited, sleep(remaining)]);
      await proc.stop(0);
    } else {
      await proc.stop(remaining);
    }
  }

  /** SIGKILL now (the pod's grace period was cut short, or its object is gone). */
  killNow(): void {
    this.#stop.abort();
    this.#stopProbes();
    void this.#proc?.stop(0);
  }

  /** Restores a termination recorded by a previous agent for a container that will not run again. */
  restoreTerminated(term: TerminatedState, restartCount?: number): void {
    this.#state = { terminated: term };
    if (restartCount !== undefined) this.#restartCount = restartCount;
    this.#stop.abort();
  }

  /**
   * Stops the container for good: no more restarts; preStop + SIGTERM + SIGKILL after
   * `graceMs`. Resolves once the process is gone.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopGraceMs = graceMs;
    this.#stop.abort();
    this.#stopProbes();
    this.#ready = false;
    const proc = this.#proc;
    if (proc && !proc.hasExited) {
      this.#o.event('Normal', 'Killing', `Stopping container ${this.name}`);
      await this.#terminate(proc, this.#stopGraceMs);
    }
  }
}
