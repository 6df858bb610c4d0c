// A slot: one single-threaded mailbox loop that runs every task assigned to it. Records,
// watermarks, timers and control actions of a slot never interleave inside an operator:
// everything runs from this loop. All slots of a local job share the process's event loop
// and yield to it every few milliseconds so that I/O (Kafka, files, HTTP) and the other
// slots make progress.
import type { ProcessingTimeService } from '../operators/types.ts';
import { LoadMeter } from '../core/load-meter.ts';

export interface Task {
  readonly name: string;
  readonly done: boolean;
  /** Does a bounded amount of work; returns true when it made progress. */
  step(): boolean;
}

interface ScheduledAction {
  at: number;
  cb: () => void;
}

const YIELD_EVERY_MS = 4;

export class Slot implements ProcessingTimeService {
  readonly index: number;
  /** What can bound this slot's throughput, and how busy it was (StatusResponse.load). */
  readonly load = new LoadMeter();
  private readonly tasks: Task[] = [];
  /** Each task's step as the loop calls it (node-clock.ts timedStep: in its node's frame), aligned with `tasks`. */
  private readonly steps: (() => boolean)[] = [];
  private readonly mailbox: (() => void)[] = [];
  /** Run after every loop iteration, where no task holds a state value (disk stores evict there). */
  private readonly safePoints: (() => void)[] = [];
  private scheduled: ScheduledAction[] = [];
  private woken = false;
  private sleeper: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Every task is done and the loop returned: posted actions run at once from here on. */
  ended = false;
  /** Loop iterations, for tests and diagnostics. */
  iterations = 0;

  constructor(index: number) {
    this.index = index;
  }

  /** Adds `t`; the loop calls `step` for it (a timed step) when given, else `t.step()`. */
  addTask(t: Task, step?: () => boolean): void {
    this.tasks.push(t);
    this.steps.push(step ?? (() => t.step()));
  }

  /** `fn` runs between loop iterations: a point where no task holds a value got from keyed state. */
  addSafePoint(fn: () => void): void {
    this.safePoints.push(fn);
  }

  readonly wake = (): void => {
    this.woken = true;
    const s = this.sleeper;
    if (s) {
      this.sleeper = undefined;
      s();
    }
  };

  now(): number {
    return Date.now();
  }

  /**
   * Runs `cb` from the loop at or after `time` (processing-time timers, rate limits).
   * Scheduling is not work: only a sleeping loop is woken (to re-arm its timer for the earliest
   * action); a running loop reads the earliest action when it next sleeps. Waking a running loop
   * here would let a task that schedules its own wake-up on every idle step (a rate-limited
   * source) spin the loop, and the pile of actions it scheduled block it when they come due.
   */
  schedule(time: number, cb: () => void): void {
    this.scheduled.push({ at: time, cb });
    if (this.scheduled.length > 1 && (this.scheduled[this.scheduled.length - 2] as ScheduledAction).at > time)
      this.scheduled.sort((a, b) => a.at - b.at);
    if (this.sleeper) this.wake();
  }

  /** Runs `cb` from the loop as soon as possible (control messages). */
  post(cb: () => void): void {
    if (this.ended) {
      // No loop any more (checkpoints continue after the tasks finished): run it now.
      cb();
      return;
    }
    this.mailbox.push(cb);
    this.wake();
  }

  /** Ends the loop after the current iteration even if tasks are not done (failure of another slot). */
  abort(): void {
    this.stopped = true;
    this.wake();
  }

  /** Runs queued mailbox actions after the loop ended (completion notifications at shutdown). */
  drainMailbox(): void {
    while (this.mailbox.length > 0) (this.mailbox.shift() as () => void)();
  }

  private runMail(): void {
    while (this.mailbox.length > 0) (this.mailbox.shift() as () => void)();
    if (this.scheduled.length === 0) return;
    const now = Date.now();
    while (this.scheduled.length > 0 && (this.scheduled[0] as ScheduledAction).at <= now)
      (this.scheduled.shift() as ScheduledAction).cb();
  }

  async run(): Promise<void> {
    let lastYield = performance.now();
    while (!this.stopped) {
      this.iterations++;
      this.woken = false;
      this.runMail();
      let progress = false;
      let allDone = true;
      for (let i = 0; i < this.tasks.length; i++) {
        if ((this.tasks[i] as Task).done) continue;
        allDone = false;
        if ((this.steps[i] as () => boolean)()) progress = true;
      }
      for (let i = 0; i < this.safePoints.length; i++) (this.safePoints[i] as () => void)();
      if (allDone) {
        this.ended = true;
        this.drainMailbox();
        return;
      }
      const now = performance.now();
      if (progress || this.woken) {
        if (now - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((r) => setImmediate(r));
          lastYield = performance.now();
        }
        continue;
      }
      await this.sleep();
      lastYield = performance.now();
    }
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const next = this.scheduled[0];
      this.sleeper = () => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = undefined;
        resolve();
      };
      if (this.woken) {
        this.wake();
        return;
      }
      if (next) this.sleepTimer = setTimeout(this.wake, Math.max(0, next.at - Date.now()));
    });
  }
}
