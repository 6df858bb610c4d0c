// Local supervisor of a distributed run (`tributary run --distributed`, `--threads`): starts one
// slot (runtime/src/main.ts) per slot on loopback ports and watches them — a process per slot,
// or with `host: 'thread'` a worker_thread per slot in this process (slot-launch.ts starts one),
// the same slot code either way.
//
//   * all slots exit 0 → the job finished (or stopped);
//   * any slot exits otherwise (crash, SIGKILL, failure) → the attempt failed: every other slot
//     is stopped, then after a backoff all slots start again as a new deployment (a new
//     deployment id, so a straggler of the old attempt is refused by the new one) from the
//     latest completed checkpoint, found through the `findRestorePoint` seam;
//   * progress: while an attempt runs, checkpoints completing in the state directory are
//     watched; attempts in a row that end before any completed are reported (warn log,
//     metric) and bound the backoff (restart-progress.ts);
//   * more than `maxRestarts` failed attempts → the run fails with the last slot's error;
//   * `stop()` (Ctrl-C) sends SIGTERM to every slot and waits; SIGKILL after `stopGraceMs`.
// Slot processes watch their parent (TRIBUTARY_PARENT_PID): if the supervisor dies, they exit,
// so no slot outlives it (thread slots die with the process). Each run writes its own random
// job secret (a 0600 file in its work folder), or takes the control token a user gave: the
// slots' control API and data-plane handshake require it, as in a pod.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import type { JobConfig } from '../control/contract.ts';
import { TributaryError } from '../errors.ts';
import { freePorts } from './loopback-ports.ts';
import { RestartProgress } from './restart-progress.ts';
import { launchSlot, type SlotHandle, type SlotHostOptions } from './slot-launch.ts';
import { threadsOverTcpFromEnv } from './thread-slot.ts';
import { threadPortMesh, type ThreadPorts } from '../net/port-socket.ts';
import type { SupervisorMetrics } from './supervisor-metrics.ts';
import { SupervisorRescaleHost } from './rescale-host-supervisor.ts';

export type { SlotHandle };

/**
 * Seam: the checkpoint directory to restart from after a failure (undefined = from scratch).
 * Default: the newest completed checkpoint under the job's stateDir (checkpoint module).
 */
export type FindRestorePoint = (stateDir: string) => Promise<string | undefined>;
export const restartFromScratch: FindRestorePoint = () => Promise.resolve(undefined);
/** `p`, or TRIB_STATE_STORAGE `message` once `ms` passed. */
function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TributaryError('TRIB_STATE_STORAGE', message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const restartFromLatestCheckpoint: FindRestorePoint = (stateDir) => latestCheckpointPath(stateDir);

export interface AttemptInfo {
  attempt: number;
  deploymentId: string;
  restoreFrom: string | undefined;
  slots: SlotHandle[];
}

export interface SupervisorOptions extends SlotHostOptions {
  config: Omit<JobConfig, 'restoreFrom'>;
  /**
   * Checkpoint or savepoint the first attempt starts from, and a restart too while this run has
   * completed no checkpoint of its own.
   */
  restoreFrom?: string;
  /**
   * Slot threads link over loopback TCP, as slot processes do, instead of MessagePorts (to compare
   * the two). Default: TRIBUTARY_THREAD_DATA_PLANE=tcp in the environment.
   */
  threadsOverTcp?: boolean;
  /** Failed attempts restarted before giving up. Default 3. */
  maxRestarts?: number;
  /**
   * First backoff; doubles per consecutive failure up to `maxBackoffMs` (bounded while no checkpoint completes:
   * restart-progress.ts). Defaults 500 ms, 10 s.
   */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Attempts in a row ending before any checkpoint completed before it is reported (warn). Default 3. */
  noProgressAfter?: number;
  /** How often the state directory is looked at for completed checkpoints while an attempt runs. Default 200 ms. */
  progressPollMs?: number;
  metrics?: SupervisorMetrics;
  stopGraceMs?: number;
  findRestorePoint?: FindRestorePoint;
  /** Slot 0's control API port (`run --control-port`); default a free port per attempt, as every other slot's. */
  slot0ControlPort?: number;
  /** The job's secret and its file (a control token the user gave); default a fresh one in the run's work folder. */
  secret?: { token: string; file: string };
  onAttempt?: (a: AttemptInfo) => void;
  onSlotExit?: (slot: number, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface SupervisorResult {
  state: 'FINISHED' | 'STOPPED';
  attempts: number;
  restarts: number;
}

/** How long a failure by exit code waits for a slot's exit by a signal, which names the cause better. */
const SIGNALLED_EXIT_WAIT_MS = 250;

interface Exit {
  slot: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What ended a slot thread, when its exit code cannot say. */
  reason?: string | undefined;
}

/** A failed slot's exit for the attempt's failure: how it ended, and why when a thread could say. */
function describeExit(e: Exit): string {
  const how = e.signal ? `killed by ${e.signal}` : `exited with code ${String(e.code)}`;
  return `slot ${e.slot} ${how}${e.reason ? ` (${e.reason})` : ''}`;
}

export class Supervisor {
  private readonly o: SupervisorOptions;
  private readonly runId = randomUUID().slice(0, 8);
  private readonly workDir = mkdtempSync(join(tmpdir(), 'tributary-run-'));
  private readonly secret: string;
  private readonly secretFile: string;
  private current: SlotHandle[] = [];
  private stopping = false;
  private wakeStop: (() => void) | undefined;
  private baseline: string | undefined;
  private readonly progress: RestartProgress;
  private threadsOverTcp = false;
  /** Slots the next attempt starts: the config's, until a live rescale records another (rescale-host-supervisor.ts). */
  private parallelism: number;

  constructor(o: SupervisorOptions) {
    this.o = o;
    this.parallelism = o.config.parallelism;
    if (o.secret) {
      this.secret = o.secret.token;
      this.secretFile = o.secret.file;
    } else {
      this.secret = randomBytes(32).toString('base64url');
      this.secretFile = join(this.workDir, 'job-secret');
      writeFileSync(this.secretFile, this.secret, { mode: 0o600 });
    }
    this.progress = new RestartProgress({
      backoffMs: o.backoffMs,
      maxBackoffMs: o.maxBackoffMs,
      warnAfter: o.noProgressAfter,
    });
  }

  /** The slots of the running attempt. */
  get slots(): readonly SlotHandle[] {
    return this.current;
  }

  async run(): Promise<SupervisorResult> {
    const o = this.o;
    if (o.host === 'thread') this.threadsOverTcp = o.threadsOverTcp ?? threadsOverTcpFromEnv(process.env);
    const maxRestarts = o.maxRestarts ?? 3;
    let restarts = 0;
    let consecutiveFailures = 0;
    // A checkpoint already in stateDir before this run belongs to an earlier run: never restart from it.
    // Not caught: state storage that cannot be read fails the run here, before any slot starts.
    this.baseline = await (o.findRestorePoint ?? restartFromLatestCheckpoint)(o.config.stateDir);
    try {
      for (let attempt = 1; ; attempt++) {
        const failure = await this.runAttempt(attempt);
        if (!failure) return { state: this.stopping ? 'STOPPED' : 'FINISHED', attempts: attempt, restarts };
        if (this.stopping) return { state: 'STOPPED', attempts: attempt, restarts };
        consecutiveFailures++;
        const verdict = this.progress.attemptFailed();
        o.metrics?.attemptsWithoutCheckpoint.set(verdict.streak);
        if (verdict.noProgress) {
          o.logger.warn(
            {
              attempts: verdict.streak,
              lastFailure: failure,
              timeToFirstCheckpointMs: this.progress.timeToFirstCheckpointMs ?? null,
              backoffMs: verdict.backoffMs,
            },
            `no checkpoint completed in the last ${verdict.streak} attempts: the job is not making progress (each restart replays from the same checkpoint)`,
          );
        }
        if (restarts >= maxRestarts) {
          throw new TributaryError(
            'TRIB_JOB_FAILED',
            `job ${o.config.jobName} failed ${consecutiveFailures} time(s); restart limit ${maxRestarts} reached; last failure: ${failure}`,
          );
        }
        restarts++;
        const backoff = verdict.backoffMs;
        o.metrics?.restarts.inc();
        o.metrics?.backoff.set(backoff / 1000);
        o.logger.warn(
          { attempt, failure, backoffMs: backoff, restarts, maxRestarts, attemptsWithoutCheckpoint: verdict.streak },
          'job failed; restarting all slots',
        );
        await this.sleepUnlessStopped(backoff);
        if (this.stopping) return { state: 'STOPPED', attempts: attempt, restarts };
      }
    } finally {
      rmSync(this.workDir, { recursive: true, force: true });
    }
  }

  /** Ctrl-C: every slot stops (SIGTERM), the run ends after they exit. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeStop?.();
    for (const s of this.current) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
    const graceMs = this.o.stopGraceMs ?? 10_000;
    const grace = setTimeout(() => {
      const left = this.current.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
      if (left.length === 0) return;
      // Said, never silent: a slot killed here took no final checkpoint (and a drain did not finish).
      this.o.logger.warn(
        { slots: left.map((s) => s.slot), graceMs },
        `slots still running ${graceMs / 1000} s after the stop: killed, without their final checkpoint`,
      );
      for (const s of left) s.child.kill('SIGKILL');
    }, graceMs);
    grace.unref();
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wakeStop = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /** Runs all slots once; resolves undefined when all exited 0, else a description of the first failure. */
  private async runAttempt(attempt: number): Promise<string | undefined> {
    const o = this.o;
    const deploymentId = `${o.config.jobName}-${this.runId}-a${attempt}`;
    let latest: string | undefined;
    // State storage that cannot be read (S3 away) fails this attempt, never starts it fresh: the
    // restart policy retries with backoff and gives up at its limit, naming the storage's error.
    // Bounded by the checkpoint timeout: storage that does not answer fails the attempt like one that refuses.
    if (attempt > 1)
      try {
        latest = await withTimeout(
          (o.findRestorePoint ?? restartFromLatestCheckpoint)(o.config.stateDir),
          o.config.checkpointing.timeoutMs,
          `the state storage did not answer within ${o.config.checkpointing.timeoutMs} ms (checkpointing timeout)`,
        );
      } catch (e) {
        const code = (e as { code?: string }).code;
        return `cannot find the latest checkpoint in ${o.config.stateDir}: ${code ? `${code}: ` : ''}${(e as Error).message}`;
      }
    const restoreFrom = latest === undefined || latest === this.baseline ? o.restoreFrom : latest;
    const p = this.parallelism;
    const cfg: JobConfig = { ...o.config, parallelism: p, ...(restoreFrom ? { restoreFrom } : {}) };
    const cfgFile = join(this.workDir, `job-a${attempt}.json`);
    writeFileSync(cfgFile, JSON.stringify(cfg));
    let ports = await freePorts(3 * p);
    // Slot 0's control port is the user's: no other port of the attempt may be it.
    for (let tries = 0; o.slot0ControlPort !== undefined && ports.includes(o.slot0ControlPort) && tries < 5; tries++)
      ports = await freePorts(3 * p);
    if (o.slot0ControlPort !== undefined) ports[p] = o.slot0ControlPort;
    // Per slot: data, control, metrics. Slots that join later get theirs when they are asked for.
    const slotPorts = new Map(
      Array.from({ length: p }, (_, s) => [s, [ports[s], ports[p + s], ports[2 * p + s]] as number[]]),
    );
    const data = (): string[] =>
      [...slotPorts.keys()].sort((a, b) => a - b).map((s) => `127.0.0.1:${slotPorts.get(s)?.[0]}`);
    const threads = o.host === 'thread';
    // Slot threads link over MessagePorts (net/port-socket.ts) unless TCP is asked for.
    const mesh = threads && !this.threadsOverTcp ? threadPortMesh(p) : undefined;
    const exits: Exit[] = [];
    let wake: (() => void) | undefined;
    this.current = [];
    // From the spawn on: checkpoints completing during this attempt are its progress.
    const watch = this.watchCheckpoints();
    const launch = (s: number, parallelism: number, generation?: number, dataPorts?: ThreadPorts): SlotHandle => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null, reason?: string): void => {
        exits.push({ slot: s, code, signal, reason });
        o.onSlotExit?.(s, code, signal);
        wake?.();
      };
      // A joining slot reads the job config at the parallelism it joins, and restores nothing (its
      // state arrives by the rescale's steps).
      let jobConfigFile = cfgFile;
      if (generation !== undefined) {
        jobConfigFile = join(this.workDir, `job-a${attempt}-g${generation}.json`);
        const { restoreFrom: _r, restoreLatest: _l, ...joining } = cfg;
        writeFileSync(jobConfigFile, JSON.stringify({ ...joining, parallelism }));
      }
      const [dataPort, control, metrics] = slotPorts.get(s) as number[];
      const h = launchSlot(o, {
        slot: s,
        parallelism,
        maxParallelism: o.config.maxParallelism,
        jobName: o.config.jobName,
        deploymentId,
        jobConfigFile,
        peers: data(),
        ports: { data: dataPort as number, control: control as number, metrics: metrics as number },
        secret: { token: this.secret, file: this.secretFile },
        ...(dataPorts ? { dataPorts } : {}),
        ...(generation !== undefined ? { joinGeneration: generation } : {}),
        onExit,
      });
      this.current.push(h);
      return h;
    };
    const hosted = new SupervisorRescaleHost({
      slots: () => this.current,
      parallelism: p,
      overPorts: mesh !== undefined,
      reserve: async (slots) => {
        const more = await freePorts(3 * slots.length);
        slots.forEach((s, i) => slotPorts.set(s, [more[3 * i], more[3 * i + 1], more[3 * i + 2]] as number[]));
      },
      dataAddress: (s) => `127.0.0.1:${slotPorts.get(s)?.[0]}`,
      launch: (s, parallelism, generation, dataPorts) => launch(s, parallelism, generation, dataPorts),
      setParallelism: (n) => (this.parallelism = n),
      timeoutMs: o.config.checkpointing.timeoutMs,
      logger: o.logger,
    });
    for (let s = 0; s < p; s++) hosted.attach(launch(s, p, undefined, mesh?.[s]));
    o.logger.info(
      {
        attempt,
        deploymentId,
        slots: this.current.map((h) => ({ slot: h.slot, pid: h.pid, data: h.dataAddress, control: h.controlAddress })),
        restoreFrom,
        host: threads ? 'thread' : 'process',
      },
      'slots started',
    );
    o.onAttempt?.({ attempt, deploymentId, restoreFrom, slots: this.current });
    if (this.stopping) this.stopAll('SIGTERM');

    const failed = (e: Exit): boolean => e.code !== 0;
    // Wait for the first failure or for every slot to exit (slots that joined or left meanwhile included).
    await new Promise<void>((r) => {
      wake = () => {
        if (exits.length === this.current.length || exits.some(failed)) r();
      };
      wake();
    });
    hosted.close(); // the attempt is over: a rescale under way gets no more answers
    await watch.stop();
    let first = exits.find(failed);
    // A slot SIGKILLed from outside makes its peers exit 1 on the lost link; the kernel reaps them together, in
    // no set order. Its own exit names the cause, so it is awaited briefly before the peers are stopped.
    if (first && !first.signal) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, SIGNALLED_EXIT_WAIT_MS);
        wake = () => {
          if (!exits.some((e) => e.signal) && exits.length < this.current.length) return;
          clearTimeout(t);
          r();
        };
        wake();
      });
      first = exits.find((e) => e.signal) ?? exits.find((e) => e.reason !== undefined) ?? first;
    }
    if (first) {
      // One slot failed: the job failed. Stop the others now instead of letting each notice a lost link.
      this.stopAll('SIGKILL');
      await new Promise<void>((r) => {
        wake = () => {
          if (exits.length === this.current.length) r();
        };
        wake();
      });
      return describeExit(first);
    }
    return undefined;
  }

  /**
   * Polls the state directory for checkpoints newer than the newest at the attempt's start
   * (ids only grow); stop() looks one last time, as one may complete just before a failure.
   */
  private watchCheckpoints(): { stop(): Promise<void> } {
    const storage = new CheckpointStorage(this.o.config.stateDir);
    const latestId = (): Promise<number> =>
      storage.latestCompletedCheckpoint().then(
        (c) => c?.id ?? 0,
        () => 0,
      );
    this.progress.attemptStarted(Date.now());
    let seen: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const look = async (): Promise<void> => {
      const id = await latestId();
      if (seen === undefined) seen = id;
      else if (id > seen) {
        seen = id;
        this.progress.checkpointCompleted(Date.now());
        if (this.progress.timeToFirstCheckpointMs !== undefined)
          this.o.metrics?.timeToFirstCheckpoint.set(this.progress.timeToFirstCheckpointMs / 1000);
        this.o.metrics?.attemptsWithoutCheckpoint.set(0);
      }
    };
    let running = look();
    const tick = (): void => {
      timer = setTimeout(() => {
        running = running.then(look).finally(() => {
          if (!stopped) tick();
        });
      }, this.o.progressPollMs ?? 200);
      timer.unref();
    };
    tick();
    return {
      // Progress only: state storage that does not answer holds the attempt's end at most the checkpoint timeout.
      stop: async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        const timeoutMs = this.o.config.checkpointing.timeoutMs;
        await withTimeout(running.then(look), timeoutMs, 'no answer').catch(() => undefined);
      },
    };
  }

  private stopAll(signal: NodeJS.Signals): void {
    for (const s of this.current) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill(signal);
  }
}
