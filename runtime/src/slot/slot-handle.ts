// The slot as the stages of its start share it (slot-main.ts): the control API, the rescale
// host and the signal handlers are up before the slot is built and read it through this.
import type { JobExecutor } from '../job/job-executor.ts';
import type { SlotProcess } from '../process/slot-process.ts';

export interface SlotHandle {
  /** The slot, once built; until it leaves CREATED the control API answers for its restore phase. */
  built?: SlotProcess;
  /** The restore's path as the control API reports it (storage.ts), once resolved. */
  restoredFrom?: string;
  /** Slot 0 after a stop-with-savepoint: the job that took it (its coordinator keeps the result). */
  stoppedBy?: JobExecutor;
  stopRequested: boolean;
  /** SIGTERM, SIGINT and a thread's stop message so far: the second exits at once. */
  signals: number;
  /** Ends the linger of a slot 0 stopped with a savepoint (run.ts). */
  wakeLinger?: () => void;
}
