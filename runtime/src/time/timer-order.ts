// What a TimerService orders its timers with: the heap queue (timer-queue.ts) or, with the disk
// state backend, an index in the step's local store (disk-timer-queue.ts).
import type { Timer } from './timer.ts';

export interface TimerOrder {
  /** Queues `t`; the caller guarantees no live timer of the same (kg, key, ns, ts) is queued. */
  add(t: Timer): void;
  /** `t` (its ts, kg, key and ns; marked deleted by the caller) no longer fires. */
  removed(t: Timer): void;
  /** The earliest live timer's timestamp. */
  nextTimestamp(): number | undefined;
  /**
   * Hands `fire` each live timer with ts ≤ time in (ts, kg, key, ns) order, including ones added
   * while firing; a timer is out of the queue before `fire` gets it.
   */
  drain(time: number, fire: (t: Timer) => void): void;
  clear(): void;
}
