// Stops kafkajs 2.2.4's request queue from polling every millisecond for the whole life of a
// connection (kafkajs issues #1556 and #1704; fixes were proposed upstream, none merged). After
// each response the queue schedules a check of its pending requests in
// `throttledUntil - Date.now()` ms; unthrottled, `throttledUntil` is -1, so the delay is minus
// the epoch, which Node clamps to 1 ms (and on Node 24 reports as a TimeoutNegativeWarning), and
// each check schedules the next: ~900 timer callbacks a second per connection, in every slot,
// with or without records flowing (bench/kafka-idle.ts: three idle clients, 188 → 30 ms of CPU
// per 5 s). The repository's own kafkajs carries the same schedule (patches/kafkajs+2.2.4.patch,
// applied by npm ci); this replacement is for the installed package and the image, where
// kafkajs comes unpatched.
//
// The replacement schedules a check only when one can do something: requests are pending (as
// kafkajs does: at the throttle's end, else in 10 ms), or a throttle is in force (at its end).
// With nothing pending and no throttle nothing is scheduled; a new request is either sent at
// once or queued, and queueing schedules a check (RequestQueue.push), so no request waits on a
// check that never comes. Installed on the class's prototype, so it takes effect whenever it is
// installed, for connections made before as well; a kafkajs whose queue does not have the
// expected shape keeps the original (wasteful, not wrong).
import { isMarked, kafkajsModule, withMark } from './kafkajs-module-patch.ts';

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** The RequestQueue fields the schedule reads and writes. */
export interface QueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

/** When to check the pending requests next, in ms from now; undefined: no check is needed. */
export function nextCheckDelay(pending: number, throttledUntil: number, now: number): number | undefined {
  const untilThrottleEnds = throttledUntil - now;
  if (pending > 0) return untilThrottleEnds > 0 ? untilThrottleEnds : CHECK_PENDING_REQUESTS_INTERVAL_MS;
  return untilThrottleEnds > 0 ? untilThrottleEnds : undefined;
}

function scheduleCheckPendingRequests(this: QueueState): void {
  if (this.throttleCheckTimeoutId) return;
  const delay = nextCheckDelay(this.pending.length, this.throttledUntil, Date.now());
  if (delay === undefined) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

const MARK = Symbol.for('tributary.kafkajs.requestQueueSchedule');
const QUEUE_FILE = 'kafkajs/src/network/requestQueue/index.js';

function install(): boolean {
  const RequestQueue = kafkajsModule(QUEUE_FILE) as { prototype?: Record<string, unknown> } | undefined;
  const proto = RequestQueue?.prototype;
  if (!proto || typeof proto['scheduleCheckPendingRequests'] !== 'function') return false;
  if (typeof proto['checkPendingRequests'] !== 'function') return false;
  if (isMarked(proto['scheduleCheckPendingRequests'], MARK)) return true;
  proto['scheduleCheckPendingRequests'] = withMark(scheduleCheckPendingRequests, MARK);
  return true;
}

/** True when kafkajs's request queues schedule with the replacement. */
export const requestQueuePatched = install();
