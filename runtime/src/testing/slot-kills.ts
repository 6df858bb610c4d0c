// Bookkeeping of a process-kill test: a Supervisor (`tributary run --distributed`) whose slot
// processes a test SIGKILLs. It records the attempts, the kills and every slot exit, drains or
// saves the slots' output, waits for checkpoints to complete and kills a running slot of the
// current attempt, then waits until the supervisor reacts (a new attempt, or the job's end).
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { TributaryError } from '../errors.ts';
import type { AttemptInfo, SupervisorOptions } from '../process/supervisor.ts';

export interface SlotKill {
  attempt: number;
  slot: number;
  /** Delay after the trigger (a checkpoint completing) before the kill. */
  afterMs: number;
  /** The latest completed checkpoint when the slot died: the restore point of the next attempt. */
  checkpoint: string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SlotKills {
  readonly attempts: AttemptInfo[] = [];
  readonly kills: SlotKill[] = [];
  /** `a<attempt>/s<slot>:<signal or exit code>` per slot exit, in order. */
  readonly exits: string[] = [];
  private ended = false;
  private readonly stateDir: string;
  private readonly logDir: string | undefined;

  /** `logDir`: each slot's stdout and stderr saved as `a<attempt>-s<slot>.log` (else drained). */
  constructor(o: { stateDir: string; logDir?: string }) {
    this.stateDir = o.stateDir;
    this.logDir = o.logDir;
  }

  /** The Supervisor options that feed this book. */
  hooks(): Pick<SupervisorOptions, 'stdio' | 'onAttempt' | 'onSlotExit'> {
    return {
      stdio: 'pipe',
      onSlotExit: (slot, code, signal) => this.exits.push(`a${this.attempts.length}/s${slot}:${signal ?? code}`),
      onAttempt: (a) => {
        this.attempts.push(a);
        for (const s of a.slots) {
          if (this.logDir) {
            const f = createWriteStream(join(this.logDir, `a${a.attempt}-s${s.slot}.log`));
            s.child.stdout?.pipe(f);
            s.child.stderr?.pipe(f);
          } else {
            s.child.stdout?.resume();
            s.child.stderr?.resume();
          }
        }
      },
    };
  }

  /** Follows the supervisor's run: `finished` once it settles, either way. */
  follow<T>(run: Promise<T>): Promise<T> {
    void run.finally(() => (this.ended = true)).catch(() => undefined);
    return run;
  }

  get finished(): boolean {
    return this.ended;
  }

  /** The latest completed checkpoint in the state dir (undefined: none yet). */
  latestCheckpoint(): Promise<string | undefined> {
    return latestCheckpointPath(this.stateDir);
  }

  /**
   * Waits until a checkpoint later than `since` completes (returning it) or the job ends (returning
   * undefined). Fails after `timeoutMs`.
   */
  async nextCheckpoint(since: string | undefined, timeoutMs = 60_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.ended) return undefined;
      const latest = await this.latestCheckpoint();
      if (latest !== undefined && latest !== since) return latest;
      if (Date.now() > deadline)
        throw new TributaryError('TRIB_INVARIANT', `no checkpoint after ${since ?? 'none'} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Waits for the supervisor's first attempt. */
  async started(timeoutMs = 30_000): Promise<void> {
    await this.waitFor(() => this.attempts.length > 0 || this.ended, timeoutMs, 'no attempt started');
  }

  /**
   * After `afterMs`, SIGKILLs a random running slot of the current attempt and waits for the
   * supervisor's next attempt or the job's end. Undefined (no kill) if the job ended or a new
   * attempt began meanwhile.
   */
  async killRunningSlot(afterMs = 0, timeoutMs = 30_000): Promise<SlotKill | undefined> {
    const attemptNo = this.attempts.length;
    if (afterMs > 0) await sleep(afterMs);
    const a = this.attempts[attemptNo - 1];
    if (this.ended || !a || this.attempts.length !== attemptNo) return undefined;
    const running = a.slots.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    const victim = running[Math.floor(Math.random() * running.length)];
    if (!victim) return undefined;
    const checkpoint = await this.latestCheckpoint();
    victim.child.kill('SIGKILL');
    const kill = { attempt: a.attempt, slot: victim.slot, afterMs, checkpoint };
    this.kills.push(kill);
    await this.waitFor(
      () => this.attempts.length > attemptNo || this.ended,
      timeoutMs,
      `no new attempt after killing slot ${victim.slot}`,
    );
    return kill;
  }

  /** One line for a round's report. */
  summary(): string {
    return `kills ${JSON.stringify(this.kills)}, exits ${this.exits.join(' ')}`;
  }

  private async waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new TributaryError('TRIB_INVARIANT', `${what} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}
