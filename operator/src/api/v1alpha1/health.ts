// The StreamJob's health check (spec.health): the operator's counterpart of the Flink
// operator's job health check (kubernetes.operator.cluster.health-check.checkpoint-progress.*).
// Part of the API's source of truth (streamjob.ts says how the CRD is generated from it).
// No field has a schema default: absent fields take the defaults docs/operator/health.md
// documents, and a default the apiserver filled in would rewrite every stored job.

export interface HealthSpec {
  /**
   * A running job whose last completed checkpoint (or, when none completed since, its deployment's start) is older
   * than this duration is unhealthy: condition CheckpointProgress False (reason CheckpointsStalled) and a Warning
   * Event. It bounds how long checkpoints may stop completing: the runtime fails a job only after
   * checkpointing.tolerableFailedCheckpoints checkpoints failed in a row, and a storage that hangs makes each one
   * wait for checkpointing.timeout first (10 × 2m by default). Set it above checkpointing.interval plus the time a
   * checkpoint takes. Absent = no checkpoint health check (the condition is not written). Reference:
   * docs/operator/health.md.
   * @duration
   */
  checkpointTimeout?: string;
  /**
   * With checkpointTimeout: an unhealthy job is restarted from its last completed checkpoint, as after a slot
   * failure (restartPolicy's backoff, and the restart counts against maxRestarts), never while another operation is
   * pending. Default false: the condition and the Event only.
   */
  restartOnUnhealthy?: boolean;
}
