// The dashboard's source for `tributary run --ui`: the one local job, namespace `local`. The
// run feeds it what it already sees: every slot's /v1/status answer per sampling round, each
// attempt the supervisor starts (a restart after the first), each slot process or thread that
// exited. Rescales: a local run has none, so the list stays empty.
//
// Memory: the series store's bound (series-store.ts) plus at most MAX_ROWS checkpoints, events
// and exceptions each, oldest dropped first.
import type { StatusResponse } from '../control/contract.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import { addCheckpoints, reportedCheckpoints } from './checkpoint-table.ts';
import { SeriesStore, slotSampleFromStatus } from './series-store.ts';
import type { DashboardSource } from './dashboard-server.ts';
import {
  DASHBOARD_API_VERSION,
  DashboardPaths,
  type DashboardCheckpoint,
  type DashboardEdge,
  type DashboardEvent,
  type DashboardException,
  type DashboardJobDetail,
  type DashboardJobs,
  type DashboardJobSummary,
  type DashboardNode,
} from './model.ts';

export const LOCAL_NAMESPACE = 'local';
const MAX_ROWS = 50;

export interface LocalSourceOptions {
  readonly jobName: string;
  readonly graph: ValidatedGraph;
  readonly parallelism: number;
  readonly intervalSeconds: number;
  readonly capacity?: number;
  /** The run's clock (tests). */
  readonly now?: () => number;
}

/** The job graph as the dashboard draws it: side outputs (late, error records) are steps of their kind. */
export function dashboardGraph(graph: ValidatedGraph): { nodes: DashboardNode[]; edges: DashboardEdge[] } {
  const nodes: DashboardNode[] = [];
  const edges: DashboardEdge[] = [];
  for (const name of graph.order) {
    const n = graph.nodes.get(name);
    if (n === undefined) continue;
    nodes.push({ id: n.name, role: n.role === 'sideOutput' ? 'step' : n.role, kind: n.kind });
    for (const from of n.inputs)
      edges.push({ from, to: n.name, exchange: graph.nodes.get(from)?.kind === 'keyBy' ? 'hash' : 'forward' });
  }
  return { nodes, edges };
}

export class LocalDashboardSource implements DashboardSource {
  private readonly o: LocalSourceOptions;
  private readonly now: () => number;
  private readonly store: SeriesStore;
  private readonly graph: { nodes: DashboardNode[]; edges: DashboardEdge[] };
  private readonly checkpoints: DashboardCheckpoint[] = [];
  private readonly events: DashboardEvent[] = [];
  private readonly exceptions: DashboardException[] = [];
  private attempts = 0;
  /** The attempt has had its failing exit: the supervisor then stops the other slots, which is no failure of theirs. */
  private attemptFailed = false;
  private lastCheckpointAt: number | undefined;
  private phase = 'CREATED';

  constructor(o: LocalSourceOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.store = new SeriesStore({
      intervalSeconds: o.intervalSeconds,
      ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
    });
    this.graph = dashboardGraph(o.graph);
  }

  /** One sampling round: every slot's answer, undefined where a slot did not answer. */
  record(statuses: readonly (StatusResponse | undefined)[]): void {
    const at = this.now();
    const answered = statuses.filter((s): s is StatusResponse => s !== undefined);
    const slot0 = answered.find((s) => s.slot === 0);
    const ck = slot0?.lastCheckpoint;
    addCheckpoints(this.checkpoints, reportedCheckpoints(slot0), MAX_ROWS);
    if (ck !== undefined) this.lastCheckpointAt = Date.parse(ck.completedAt);
    for (const s of answered) if (s.error !== undefined) this.exception(s.slot, s.error);
    if (answered.length > 0) {
      // One slot failed: the job failed; slots in different states (starting, stopping): the first's.
      const states = answered.map((s) => s.state);
      this.phase = states.includes('FAILED') ? 'FAILED' : (states[0] as string);
    }
    this.store.record({
      at,
      slots: answered.map(slotSampleFromStatus),
      ...(ck !== undefined
        ? {
            checkpoint: {
              id: ck.id,
              ...(ck.durationMs !== undefined ? { durationMs: ck.durationMs } : {}),
              ...(ck.bytes !== undefined ? { bytes: ck.bytes } : {}),
            },
          }
        : {}),
    });
  }

  /** The supervisor started attempt `attempt` (1 = the first; every later one is a restart of all slots). */
  attemptStarted(attempt: number, restoreFrom: string | undefined): void {
    this.attempts = attempt;
    this.attemptFailed = false;
    if (attempt > 1) {
      this.phase = 'RESTARTING';
      this.event(
        'Warning',
        'Restarted',
        `all ${this.o.parallelism} slots restarted (attempt ${attempt})${restoreFrom ? ` from ${restoreFrom}` : ''}`,
      );
    } else this.event('Normal', 'Started', `${this.o.parallelism} slots started`);
  }

  /**
   * A slot process or thread exited. The first exit that is not clean in an attempt is that slot's
   * exception; the exits after it are the supervisor stopping the others for the restart.
   */
  slotExited(slot: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (code === 0) return;
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    if (this.attemptFailed) {
      this.event('Normal', 'SlotStopped', `slot ${slot} stopped for the restart (${how})`);
      return;
    }
    this.attemptFailed = true;
    this.exception(slot, `slot ${slot} ${how}`);
    this.event('Warning', 'SlotExited', `slot ${slot} ${how}`);
  }

  private exception(slot: number, message: string): void {
    const newest = this.exceptions.find((x) => x.slot === slot);
    if (newest?.message === message) return;
    this.exceptions.unshift({ slot, message, at: new Date(this.now()).toISOString() });
    this.exceptions.length = Math.min(this.exceptions.length, MAX_ROWS);
  }

  private event(type: DashboardEvent['type'], reason: string, message: string): void {
    const lastSeen = new Date(this.now()).toISOString();
    const same = this.events.findIndex((e) => e.reason === reason && e.message === message);
    const count = same >= 0 ? (this.events[same] as DashboardEvent).count + 1 : 1;
    if (same >= 0) this.events.splice(same, 1);
    this.events.unshift({ type, reason, message, count, lastSeen });
    this.events.length = Math.min(this.events.length, MAX_ROWS);
  }

  private summary(): DashboardJobSummary {
    const latest = this.store.latest();
    return {
      namespace: LOCAL_NAMESPACE,
      name: this.o.jobName,
      phase: this.phase,
      replicas: this.o.parallelism,
      ...latest,
      ...(this.lastCheckpointAt !== undefined && Number.isFinite(this.lastCheckpointAt)
        ? { lastCheckpointAgeSeconds: Math.max(0, (this.now() - this.lastCheckpointAt) / 1000) }
        : {}),
      restarts: Math.max(0, this.attempts - 1),
      url: DashboardPaths.jobPage(LOCAL_NAMESPACE, this.o.jobName),
    };
  }

  jobs(): Promise<DashboardJobs> {
    return Promise.resolve({
      apiVersion: DASHBOARD_API_VERSION,
      generatedAt: new Date(this.now()).toISOString(),
      jobs: [this.summary()],
    });
  }

  job(namespace: string, name: string): Promise<DashboardJobDetail | undefined> {
    if (namespace !== LOCAL_NAMESPACE || name !== this.o.jobName) return Promise.resolve(undefined);
    const rates = this.store.nodeRates();
    return Promise.resolve({
      apiVersion: DASHBOARD_API_VERSION,
      generatedAt: new Date(this.now()).toISOString(),
      summary: this.summary(),
      graph: {
        nodes: this.graph.nodes.map((n) => ({ ...n, ...rates.get(n.id) })),
        edges: this.graph.edges,
      },
      series: this.store.series(),
      checkpoints: [...this.checkpoints],
      events: [...this.events],
      exceptions: [...this.exceptions],
      rescales: [],
    });
  }
}
