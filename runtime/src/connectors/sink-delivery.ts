// Which delivery each sink of a job gets, and why: the one decision behind the writer the
// registry builds (registry.ts) and behind refusing a promise the run cannot keep.
//
// Invariants:
//   * a sink that can commit on checkpoints (kafka, druid) is exactly-once by default exactly
//     when the job takes checkpoints (it has a state directory: output commits when a
//     checkpoint completes), at-least-once otherwise; `delivery: at-least-once` opts out;
//   * `delivery: exactly-once` written in the graph is a promise: a job without checkpointing
//     refuses to start (TRIB_JOB_CONFIG at `graph.sinks[i].<kind>.delivery`) instead of writing
//     at-least-once behind the user's back (docs/runtime/graph.md, "Delivery");
//   * console and file sinks are not transactional and have no `delivery` field: a restart
//     from a checkpoint writes again what followed it (at-least-once), except into a file with
//     one writer, which the restore first cuts back to its checkpointed length (file-sink.ts).
import { TributaryError } from '../errors.ts';
import type { SinkSpec } from '../graph/spec.ts';

export type Delivery = 'exactly-once' | 'at-least-once';

export interface SinkDelivery {
  name: string;
  /** The field that chose it (or would): `graph.sinks[i].<kind>.delivery`. */
  path: string;
  delivery: Delivery;
  /** Written in the graph; false = the default for this run. */
  explicit: boolean;
  reason: string;
}

/** The run's checkpointing as the delivery rule sees it. */
export interface DeliveryRun {
  /** The job takes checkpoints (a state directory). */
  checkpointing: boolean;
  /** Periodic checkpoints; absent with checkpointing = only the final one (end of input) and savepoints. */
  intervalMs?: number;
}

/** What to add to a run without checkpointing; the CLI passes its flags. */
export const EXECUTOR_REMEDY =
  'give the job checkpointing (a stateDir; tributary run: --checkpoint-interval 10s, checkpoints into --state-dir)';

function transactionalSink(spec: SinkSpec): { kind: 'kafka' | 'druid'; delivery: Delivery | undefined } | undefined {
  if (spec.kafka) return { kind: 'kafka', delivery: spec.kafka.delivery };
  if (spec.druid) return { kind: 'druid', delivery: spec.druid.delivery };
  return undefined;
}

/** The delivery of one sink in a run with or without checkpointing (never refuses: see checkSinkDeliveries). */
export function deliveryOf(spec: SinkSpec, checkpointing: boolean): Delivery {
  const t = transactionalSink(spec);
  return t && checkpointing && t.delivery !== 'at-least-once' ? 'exactly-once' : 'at-least-once';
}

/** Every transactional-capable sink (kafka, druid) with its delivery in this run and the reason. */
export function sinkDeliveries(sinks: readonly SinkSpec[], run: DeliveryRun, graphPath = 'graph'): SinkDelivery[] {
  const out: SinkDelivery[] = [];
  sinks.forEach((s, i) => {
    const t = transactionalSink(s);
    if (!t) return;
    const path = `${graphPath}.sinks[${i}].${t.kind}.delivery`;
    const delivery = deliveryOf(s, run.checkpointing);
    let reason: string;
    if (t.delivery === 'at-least-once')
      reason = 'delivery: at-least-once (plain sends; a restart may write records again)';
    else if (!run.checkpointing)
      reason =
        'the job takes no checkpoints, and exactly-once commits on checkpoints (set delivery: exactly-once to refuse such a run)';
    else if (run.intervalMs)
      reason = `the job takes checkpoints every ${run.intervalMs} ms: Kafka transactions commit when each completes`;
    else
      reason =
        'the job takes no periodic checkpoints: output commits at the final checkpoint (end of input) or a stop-with-savepoint';
    out.push({ name: s.name, path, delivery, explicit: t.delivery !== undefined, reason });
  });
  return out;
}

/** Refuses `delivery: exactly-once` in a run without checkpointing; `remedy` says what to add. */
export function checkSinkDeliveries(
  sinks: readonly SinkSpec[],
  run: DeliveryRun,
  graphPath = 'graph',
  remedy = EXECUTOR_REMEDY,
): void {
  if (run.checkpointing) return;
  const refused: string[] = [];
  sinks.forEach((s, i) => {
    const t = transactionalSink(s);
    if (t?.delivery === 'exactly-once') refused.push(`${graphPath}.sinks[${i}].${t.kind}.delivery`);
  });
  if (refused.length === 0) return;
  throw new TributaryError(
    'TRIB_JOB_CONFIG',
    `${refused.join(', ')}: exactly-once needs checkpoints (output commits when a checkpoint completes) and this run takes none: ${remedy}, or set delivery: at-least-once`,
    {
      path: refused[0] as string,
      issues: refused.map((path) => ({ path, message: 'exactly-once needs checkpoints' })),
    },
  );
}
