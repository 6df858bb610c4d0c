// What a completed checkpoint or savepoint reports: its metrics (count, duration, size,
// alignment, the phases up to the metadata) and one info log line with the same figures; and
// the coordinator's start, where the checkpoint-stall alert's clock begins.
import type { Logger } from 'pino';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { CheckpointPhaseTimes } from './checkpoint-phases.ts';
import type { CheckpointKind } from './messages.ts';

export interface CompletionFigures {
  id: number;
  kind: CheckpointKind;
  path: string;
  durationMs: number;
  stateSize: number;
  fullStateSize?: number;
  alignmentMs: number;
  phases: CheckpointPhaseTimes;
  /** The job's first completed checkpoint: milliseconds since the coordinator started. */
  firstAfterStartMs?: number;
  final: boolean;
}

/** The coordinator started: the interval, and the start as the last checkpoint's time until one completes. */
export function reportCoordinatorStart(intervalMs: number, m: JobMetrics | undefined): void {
  m?.checkpointInterval.set(intervalMs / 1000);
  m?.lastCheckpointTime.set(Date.now() / 1000);
}

export function reportCompletion(f: CompletionFigures, logger: Logger, m: JobMetrics | undefined): void {
  const { kind, phases } = f;
  if (m) {
    m.checkpoints.labels(kind, 'completed').inc();
    m.checkpointDuration.labels(kind).observe(f.durationMs / 1000);
    m.checkpointSize.labels(kind).set(f.stateSize);
    m.checkpointFullSize.labels(kind).set(f.fullStateSize ?? f.stateSize);
    m.checkpointAlignment.observe(f.alignmentMs / 1000);
    m.checkpointPhase.labels(kind, 'align').observe(phases.alignMs / 1000);
    m.checkpointPhase.labels(kind, 'snapshot').observe(phases.snapshotMs / 1000);
    m.checkpointPhase.labels(kind, 'upload').observe(phases.uploadMs / 1000);
    m.lastCheckpointId.set(f.id);
    m.lastCheckpointTime.set(Date.now() / 1000);
    if (f.firstAfterStartMs !== undefined) m.firstCheckpoint.set(f.firstAfterStartMs / 1000);
  }
  const ms = (x: number): number => Math.round(x * 10) / 10;
  logger.info(
    {
      id: f.id,
      kind,
      path: f.path,
      ms: Math.round(f.durationMs),
      bytes: f.stateSize,
      ...(f.fullStateSize !== undefined && f.fullStateSize !== f.stateSize ? { fullBytes: f.fullStateSize } : {}),
      phasesMs: {
        align: ms(phases.alignMs),
        snapshot: ms(phases.snapshotMs),
        upload: ms(phases.uploadMs),
        metadata: ms(phases.metadataMs),
      },
      ...(f.firstAfterStartMs !== undefined ? { afterStartMs: Math.round(f.firstAfterStartMs) } : {}),
      ...(f.final ? { final: true } : {}),
    },
    `${kind} completed`,
  );
}
