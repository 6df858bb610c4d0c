// An external dependency a component cannot reach right now, while the component rides the
// fault out within its bound (docs/fault-matrix.md). The slot reports every current outage in
// its GET /v1/status (`unavailable`), in /metrics (`tributary_dependency_unavailable`) and the
// operator turns them into the StreamJob's DependencyUnavailable condition: so a user sees
// which dependency is down and why while the job still runs, not only once it failed.
// Plain JSON: it crosses the control API and the local supervisor's thread boundary as is.

/** The external systems a job depends on. A new one is added here (it is API: alerts match on it). */
export type Dependency = 'kafka' | 's3' | 'kudu' | 'druid' | 'schema-registry';

export interface DependencyOutage {
  readonly dependency: Dependency;
  /** The component that waits, as users name it: `source "in"`, `sink "out"`, `checkpoint storage`. */
  readonly component: string;
  /** Where it tried: brokers, an endpoint, masters (no credentials). */
  readonly target: string;
  /** When the outage started (ISO time); it does not move while the outage lasts. */
  readonly since: string;
  /** The last error, one line. */
  readonly error: string;
  /** What happens if it lasts, e.g. `fails after brokerUnreachableTimeout 30s`; absent: it retries for ever. */
  readonly bound?: string;
}

/** Reported by a component: an outage that started or still lasts, or undefined once it is over. */
export type ReportOutage = (outage: DependencyOutage | undefined) => void;
