// Checkpoint settings a job run locally gets when it names none (`tributary run`, `execute()`):
// one place, so the local paths cannot drift from each other; they are the operator's defaults
// for a StreamJob (operator/src/controllers/streamjob/objects/job-config.ts).

/** How long a checkpoint may take before it is aborted (spec.checkpointing.timeout). */
export const DEFAULT_CHECKPOINT_TIMEOUT_MS = 600_000;
/** Completed checkpoints kept (spec.checkpointing.retained). */
export const DEFAULT_RETAINED_CHECKPOINTS = 3;
/**
 * The interval of a supervised run (`--threads`, `--distributed`, `execute({ threads })`), which
 * always checkpoints because its slots restart from the newest checkpoint, as a slot pod does.
 */
export const DEFAULT_SUPERVISED_INTERVAL_MS = 10_000;
