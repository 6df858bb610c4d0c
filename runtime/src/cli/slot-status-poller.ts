// The job-wide status of a supervised run (`tributary run --threads`, `--distributed`) for its
// progress line: every slot's GET /v1/status (its control API, the run's job secret as token),
// read every half second. Records in and out are the slots' sums, the watermark the lowest
// slot's. A slot that does not answer (starting, restarting, busy past the timeout) keeps its
// last answer within the attempt, so the sums never dip for a slow reply; a new attempt
// (restart after a failure) starts from zero, as its slots do. A slot's watermark only rises
// within an attempt; a slot whose sources ended reports none (its watermark is +∞, which the
// contract omits), so the last one it reported stands for it instead of hiding the job's. A slot
// that never reported one (its sources ended before the first poll) keeps the job's unknown:
// its status cannot tell "none yet" from "ended".
import type { StatusResponse } from '../control/contract.ts';
import type { JobStatus } from '../exec/job-status.ts';
import type { SlotHandle } from '../process/supervisor.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';

const POLL_MS = 500;

/** Reads one slot's status; undefined when it does not answer. */
export type StatusReader = (h: SlotHandle) => Promise<StatusResponse | undefined>;

export class SlotStatusPoller {
  private readonly slots: () => readonly SlotHandle[];
  // Keyed by the handle: each attempt has new handles, so an old attempt's answers drop out.
  private readonly last = new WeakMap<SlotHandle, StatusResponse>();
  private readonly watermarks = new WeakMap<SlotHandle, number>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly read: StatusReader;

  constructor(slots: () => readonly SlotHandle[], read: StatusReader = readStatus) {
    this.slots = slots;
    this.read = read;
  }

  /** Polls every half second; `onStatus` gets the job's status after each poll (the line's rate is per poll). */
  start(onStatus: (s: JobStatus) => void): void {
    this.timer = setInterval(() => {
      void this.poll().then(() => {
        if (this.timer) onStatus(this.status());
      });
    }, POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads every slot of the running attempt once; a poll still in flight is not overlapped but awaited. */
  poll(): Promise<void> {
    this.inFlight ??= this.readAll().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readAll(): Promise<void> {
    const slots = this.slots();
    const answers = await Promise.all(slots.map((h) => this.read(h)));
    answers.forEach((a, i) => {
      if (!a) return;
      const h = slots[i] as SlotHandle;
      this.last.set(h, a);
      if (a.watermarkMs !== undefined) this.watermarks.set(h, a.watermarkMs);
    });
  }

  /** The job's status from the slots' last answers. */
  status(): JobStatus {
    const slots = this.slots();
    let recordsIn = 0;
    let recordsOut = 0;
    let watermark: number | undefined;
    let all = slots.length > 0;
    for (const h of slots) {
      const s = this.last.get(h);
      if (!s) {
        all = false;
        continue;
      }
      recordsIn += s.recordsIn ?? 0;
      recordsOut += s.recordsOut ?? 0;
      const wm = this.watermarks.get(h);
      if (wm === undefined) all = false;
      else watermark = watermark === undefined ? wm : Math.min(watermark, wm);
    }
    return {
      state: 'RUNNING',
      parallelism: slots.length,
      recordsIn,
      recordsOut,
      // The job's watermark is known only once every slot has one.
      watermark: all && watermark !== undefined ? watermark : MIN_WATERMARK,
    };
  }
}

/** One slot's GET /v1/status under the run's token; undefined when it does not answer within the poll. */
export async function readStatus(h: SlotHandle): Promise<StatusResponse | undefined> {
  try {
    const res = await fetch(`http://${h.controlAddress}/v1/status`, {
      headers: { authorization: `Bearer ${h.controlToken}` },
      signal: AbortSignal.timeout(POLL_MS),
    });
    if (!res.ok) return undefined;
    return (await res.json()) as StatusResponse;
  } catch {
    return undefined;
  }
}
