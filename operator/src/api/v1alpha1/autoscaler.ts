// The StreamJob's autoscaler: its spec (spec.autoscaler) and what it reports (status.autoscaler).
// Part of the API's source of truth (streamjob.ts says how the CRD is generated from it).
// No field has a schema default: absent fields take the defaults the operator documents
// (docs/operator/autoscaler.md), so a newer operator can change a default without rewriting
// stored objects.

export type AutoscalerMode = 'Recommend' | 'Scale';

export interface AutoscalerSpec {
  /** Turns the autoscaler on. Default false. */
  enabled?: boolean;
  /**
   * `Recommend` computes the parallelism the job needs and reports it (status.autoscaler, Events, metrics) without
   * changing anything; `Scale` also writes it to spec.replicas through the scale subresource (field manager
   * tributary-autoscaler). Default Recommend.
   */
  mode?: AutoscalerMode;
  /**
   * Fewest replicas the autoscaler sets. Default 1.
   * @minimum 1
   * @maximum 32768
   * @format int32
   */
  minReplicas?: number;
  /**
   * Most replicas the autoscaler sets; never more than maxParallelism, and never more than the partitions of the
   * job's Kafka sources (a slot more reads nothing). Default maxParallelism.
   * @minimum 1
   * @maximum 32768
   * @format int32
   */
  maxReplicas?: number;
  /**
   * Share of its capacity each slot should be busy at, in (0, 1]. Default 0.7.
   * @minimum 0.05
   * @maximum 1
   */
  targetUtilization?: number;
  /**
   * No rescale while the busy ratio stays within targetUtilization ± this and the lag does not grow, in [0, 1).
   * Default 0.2.
   * @minimum 0
   * @maximum 0.95
   */
  utilizationBoundary?: number;
  /** Span of metrics a decision looks at, a duration. Default 1m. @duration */
  metricsWindow?: string;
  /** After a rescale: no decision until this long after the job is Ready again, a duration. Default 1m. @duration */
  stabilization?: string;
  /**
   * A scale-up is made once the need for it has lasted this long (0 = at the first decision that needs it), a
   * duration. Default 0s.
   * @duration
   */
  scaleUpGracePeriod?: string;
  /**
   * A scale-down is made only after every decision for this long asked for fewer replicas, and to the largest of
   * their recommendations, a duration. Default 5m.
   * @duration
   */
  scaleDownDelay?: string;
  /** The backlog (Kafka lag) should drain within this long after a decision, a duration. Default 5m. @duration */
  catchUpDuration?: string;
  /**
   * Rescales the autoscaler may make in any hour; past it, decisions are reported but not made. Default 6.
   * @minimum 1
   * @maximum 60
   * @format int32
   */
  maxRescalesPerHour?: number;
}

/** The inputs of the last decision, over its metrics window. */
export interface AutoscalerInputs {
  /** Records per second the job's sources read. */
  processingRate: number;
  /** Records per second arriving (processingRate plus the lag's growth). */
  inputRate: number;
  /** Records per second arriving over the newest quarter of the window: a step in the rate shows here first. */
  recentInputRate?: number;
  /** Records behind the end of the sources' partitions, summed. */
  lag: number;
  /** Busy share of the busiest slot's bottleneck, in [0, 1]. */
  busyRatio: number;
  /** The resource that bounds the slots (`eventLoop` or an async step's name). */
  bottleneck?: string;
  /** Records per second the job could process with every slot fully busy. */
  capacity?: number;
  /** Largest partition count of the job's Kafka sources. */
  partitions?: number;
  /** Seconds of metrics the decision saw. */
  windowSeconds: number;
  /**
   * Slots of the deployment the metrics are of; a decision waits while it differs from spec.replicas (a rescale
   * not yet carried out).
   * @format int32
   */
  parallelism?: number;
}

export interface AutoscalerDecision {
  /**
   * When it was decided (RFC 3339).
   * @format date-time
   */
  time: string;
  /** ScaleUp, ScaleDown, Hold or Recommend (a change in Recommend mode). */
  action: 'ScaleUp' | 'ScaleDown' | 'Hold' | 'Recommend';
  /**
   * Replicas when it was decided.
   * @format int32
   */
  from: number;
  /**
   * Replicas it set (ScaleUp, ScaleDown), would set (Recommend), or was held back from (Hold).
   * @format int32
   */
  to: number;
  /**
   * Why, in words: the numbers that made it and the rule that applied.
   * @maxLength 2048
   */
  reason: string;
}

export interface AutoscalerStatus {
  /**
   * Replicas the job needs now by the last decision; absent while there is not enough data.
   * @format int32
   */
  recommendedReplicas?: number;
  /**
   * Why there is no decision now (e.g. NotReady, Stabilizing, CollectingMetrics, NoLoadMetrics); absent when
   * there is one.
   * @maxLength 1024
   */
  waiting?: string;
  /** The inputs of the last decision. */
  inputs?: AutoscalerInputs;
  /** The last decisions that changed something or were held back, newest last (at most 10). */
  decisions?: AutoscalerDecision[];
  /**
   * When the autoscaler rescaled the job within the last hour (RFC 3339): the budget's count.
   */
  rescaleTimes?: string[];
  /**
   * Rescales that did not raise the processing capacity: the autoscaler does not scale up to these again until the
   * given time.
   */
  ineffective?: AutoscalerIneffective[];
  /**
   * The autoscaler's last scale-up, until the first decision after it has judged whether it raised the capacity
   * (then removed).
   */
  lastRescale?: AutoscalerRescale;
  /**
   * A change the decisions have asked for but not yet made: since when every decision asked for more (Up) or for
   * fewer (Down) replicas, and the replicas it would set (for Down, the largest recommendation since then).
   */
  pendingChange?: AutoscalerPendingChange;
}

export interface AutoscalerIneffective {
  /**
   * Replicas the scale-up set: no scale-up to this many or more before `until`.
   * @format int32
   */
  replicas: number;
  /**
   * Replicas before that scale-up.
   * @format int32
   */
  from: number;
  /**
   * Until when it is remembered (RFC 3339).
   * @format date-time
   */
  until: string;
}

export interface AutoscalerRescale {
  /**
   * When the autoscaler wrote it (RFC 3339).
   * @format date-time
   */
  time: string;
  /**
   * Replicas before it.
   * @format int32
   */
  from: number;
  /**
   * Replicas it set.
   * @format int32
   */
  to: number;
  /** Records per second the job could process before it (inputs.capacity), absent when it was not measurable. */
  capacityBefore?: number;
}

export interface AutoscalerPendingChange {
  /** Up (more replicas) or Down (fewer). */
  direction: 'Up' | 'Down';
  /**
   * The first decision of the run that asked for this direction (RFC 3339).
   * @format date-time
   */
  since: string;
  /**
   * The replicas it would set now.
   * @format int32
   */
  replicas: number;
}
