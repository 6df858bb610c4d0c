// What a live rescale reports while it runs and when it is done (JobExecutor.rescale): the
// contract's MigrationStatus (core/migration.ts) without the tracker's outcome fields, so the
// control API serves it as is (plain JSON, no class, no Date).
import type { MigrationPhase, MigrationStatus } from '../core/migration.ts';

export type RescalePhase = MigrationPhase;

/** Counts are the plan's: key groups and bytes (the sizes of the checkpoint it was made from) moved, of all. */
export type RescaleProgress = {
  -readonly [K in keyof Omit<MigrationStatus, 'state' | 'error' | 'code'>]: MigrationStatus[K];
};

/** The progress at the end (phase 'done', finishedAt set). */
export type RescaleReport = RescaleProgress;
