// Checkpoint settings a job run locally gets when it names none (`tributary run`, `execute()`,
// and a coordinator given no timeout): one place, so the local paths cannot drift from each
// other. The interval and the retained count are the operator's StreamJob defaults too
// (operator/src/controllers/streamjob/objects/job-config.ts); the timeout is not: a StreamJob's
// defaults to 2 minutes (the CRD's `timeout: 2m`), a local run to Flink's 10 minutes.

/** How long a checkpoint may take before it is aborted (spec.checkpointing.timeout). */
export const DEFAULT_CHECKPOINT_TIMEOUT_MS = 600_000;
/** Completed checkpoints kept (spec.checkpointing.retained). */
export const DEFAULT_RETAINED_CHECKPOINTS = 3;
/**
 * The interval of a supervised run (`--threads`, `--distributed`, `execute({ threads })`), which
 * always checkpoints because its slots restart from the newest checkpoint, as a slot pod does.
 */
export const DEFAULT_SUPERVISED_INTERVAL_MS = 10_000;
/**
 * Consecutive failed checkpoints a job rides out (Flink's execution.checkpointing.tolerable-failed-checkpoints);
 * one more fails it with TRIB_CHECKPOINT_FAILED (failed-checkpoints.ts). At the default 10 s interval, about
 * 100 s of refused storage; storage that does not answer fails each checkpoint only at its timeout.
 */
export const DEFAULT_TOLERABLE_FAILED_CHECKPOINTS = 10;
/**
 * A run without checkpoints: how often its Kafka sources commit their positions behind a commit
 * barrier (commit-barriers.ts), like Kafka's own auto.commit.interval.ms.
 */
export const DEFAULT_OFFSET_COMMIT_INTERVAL_MS = 5_000;
