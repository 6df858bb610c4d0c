// Where a state storage read that stalls reports its outage (core/outage.ts), besides its log.
// The S3 store is one per process, shared by every caller (state-store-for.ts), so the report
// route cannot be a store option: it is the async context of the read. A caller that wants its
// reads' stalls reported (a slot restoring: control/restore-phase.ts) runs them inside
// `reportingStateReadOutages`; reads started anywhere else report nothing. Scoped by
// AsyncLocalStorage, never a module variable: two slots (or two tests) in one process never see
// each other's reads.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ReportOutage } from '../../core/outage.ts';

export interface ReadOutageReporters {
  /** The component that waits for the reads, as users name it (e.g. `checkpoint storage (restore)`). */
  readonly component: string;
  /** A reporter per read (`key` unique per read), so concurrent reads never clear each other's report. */
  reporter(key: string): ReportOutage;
}

const context = new AsyncLocalStorage<ReadOutageReporters>();

/** Runs `fn` with the stalls of every state storage read it starts reported through `reporters`. */
export function reportingStateReadOutages<T>(reporters: ReadOutageReporters, fn: () => Promise<T>): Promise<T> {
  return context.run(reporters, fn);
}

/** The reporters of the read starting now, if its caller asked for reports. */
export function stateReadOutageReporters(): ReadOutageReporters | undefined {
  return context.getStore();
}
