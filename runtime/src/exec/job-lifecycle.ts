// The lifecycle of a job executor: ONE state, changed only by transition(), which refuses a
// move the table below does not list (TRIB_INVARIANT: a bug, never user input). The stop
// asks (stop(), a stop-with-savepoint, its failure) are part of the state, so that "how will
// this job end" and "what does it report" are read from one place:
//
//   CREATED ──run()──▶ RUNNING ─────────────────────────────────────────▶ FINISHED
//                        │ stop()              │ stop-with-savepoint
//                        ▼                     ▼
//                  STOP_REQUESTED        SAVEPOINT_STOPPING ──failed──▶ RUNNING
//                        │ savepoint           │ stop()
//                        ▼                     ▼
//          SAVEPOINT_STOPPING_STOP_REQUESTED ◀─failed/retried─▶ STOP_REQUESTED_SAVEPOINT_FAILED
//   every stop state ──▶ STOPPED; every started state ──▶ FAILED
//
// A stop asked before run() (a slot process told to stop while it linked with its peers) is
// kept in CREATED as the state run() starts in. The public state (JobStatus.state) is a view:
// a plain stop() reports RUNNING until the job ended, as it always did; the public STOPPING
// is a stop-with-savepoint's (and stays once one was asked together with stop()).
import { TributaryError } from '../errors.ts';

/** A state of a started job that has not ended. */
export type ActiveState =
  | 'RUNNING'
  | 'STOP_REQUESTED'
  | 'SAVEPOINT_STOPPING'
  | 'SAVEPOINT_STOPPING_STOP_REQUESTED'
  | 'STOP_REQUESTED_SAVEPOINT_FAILED';
export type EndState = 'FINISHED' | 'STOPPED' | 'FAILED';
export type LifecycleState = 'CREATED' | ActiveState | EndState;

/** What JobStatus reports. */
export type PublicJobState = 'CREATED' | 'RUNNING' | 'STOPPING' | 'FINISHED' | 'FAILED' | 'STOPPED';

const STARTED: readonly ActiveState[] = [
  'RUNNING',
  'STOP_REQUESTED',
  'SAVEPOINT_STOPPING',
  'SAVEPOINT_STOPPING_STOP_REQUESTED',
  'STOP_REQUESTED_SAVEPOINT_FAILED',
];

/** Every legal move; anything else is refused. */
export const LEGAL_MOVES: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  CREATED: STARTED,
  RUNNING: ['STOP_REQUESTED', 'SAVEPOINT_STOPPING', 'FINISHED', 'FAILED'],
  STOP_REQUESTED: ['SAVEPOINT_STOPPING_STOP_REQUESTED', 'STOPPED', 'FAILED'],
  SAVEPOINT_STOPPING: ['RUNNING', 'SAVEPOINT_STOPPING_STOP_REQUESTED', 'STOPPED', 'FAILED'],
  SAVEPOINT_STOPPING_STOP_REQUESTED: ['STOP_REQUESTED_SAVEPOINT_FAILED', 'STOPPED', 'FAILED'],
  STOP_REQUESTED_SAVEPOINT_FAILED: ['SAVEPOINT_STOPPING_STOP_REQUESTED', 'STOPPED', 'FAILED'],
  FINISHED: [],
  STOPPED: [],
  FAILED: [],
};

const PUBLIC: Readonly<Record<LifecycleState, PublicJobState>> = {
  CREATED: 'CREATED',
  RUNNING: 'RUNNING',
  STOP_REQUESTED: 'RUNNING',
  SAVEPOINT_STOPPING: 'STOPPING',
  SAVEPOINT_STOPPING_STOP_REQUESTED: 'STOPPING',
  STOP_REQUESTED_SAVEPOINT_FAILED: 'STOPPING',
  FINISHED: 'FINISHED',
  STOPPED: 'STOPPED',
  FAILED: 'FAILED',
};

/** Where each ask leads from each started state; a state it does not name ignores the ask. */
const ON_STOP: Partial<Record<ActiveState, ActiveState>> = {
  RUNNING: 'STOP_REQUESTED',
  SAVEPOINT_STOPPING: 'SAVEPOINT_STOPPING_STOP_REQUESTED',
};
const ON_SAVEPOINT_STOP: Partial<Record<ActiveState, ActiveState>> = {
  RUNNING: 'SAVEPOINT_STOPPING',
  STOP_REQUESTED: 'SAVEPOINT_STOPPING_STOP_REQUESTED',
  STOP_REQUESTED_SAVEPOINT_FAILED: 'SAVEPOINT_STOPPING_STOP_REQUESTED',
};
const ON_SAVEPOINT_STOP_FAILED: Partial<Record<ActiveState, ActiveState>> = {
  SAVEPOINT_STOPPING: 'RUNNING',
  SAVEPOINT_STOPPING_STOP_REQUESTED: 'STOP_REQUESTED_SAVEPOINT_FAILED',
};
export const ASKS = {
  stop: ON_STOP,
  savepointStop: ON_SAVEPOINT_STOP,
  savepointStopFailed: ON_SAVEPOINT_STOP_FAILED,
} as const;

/** The one state: before run() it carries the state run() starts in. */
type Current =
  { readonly name: 'CREATED'; readonly startsIn: ActiveState } | { readonly name: Exclude<LifecycleState, 'CREATED'> };

function isActive(s: LifecycleState): s is ActiveState {
  return (STARTED as readonly LifecycleState[]).includes(s);
}

function refuse(from: LifecycleState, to: LifecycleState): never {
  throw new TributaryError('TRIB_INVARIANT', `job lifecycle: no move from ${from} to ${to}`);
}

export class JobLifecycle {
  private current: Current = { name: 'CREATED', startsIn: 'RUNNING' };

  get state(): LifecycleState {
    return this.current.name;
  }

  get publicState(): PublicJobState {
    return PUBLIC[this.current.name];
  }

  /** The only way the state changes. */
  transition(to: LifecycleState): void {
    const from = this.current.name;
    if (!LEGAL_MOVES[from].includes(to)) refuse(from, to);
    this.current = { name: to as Exclude<LifecycleState, 'CREATED'> };
  }

  /** run() begins: CREATED → RUNNING, or the stop state asked for before it. */
  start(): void {
    const c = this.current;
    if (c.name !== 'CREATED') refuse(c.name, 'RUNNING');
    this.transition(c.startsIn);
  }

  /** stop(): true when this call asked it (the sources are to be told), false when already asked or ended. */
  requestStop(): boolean {
    return this.ask(ON_STOP);
  }

  /** A stop-with-savepoint is under way (triggered here, or its barrier reached this process). */
  beginSavepointStop(): boolean {
    return this.ask(ON_SAVEPOINT_STOP);
  }

  /** The stop-with-savepoint failed: true when one was under way (the job then runs on). */
  savepointStopFailed(): boolean {
    return this.ask(ON_SAVEPOINT_STOP_FAILED);
  }

  /** The job ends as STOPPED (no final checkpoint; sinks close as 'stopped'). */
  get stopRequested(): boolean {
    const s = this.started;
    return s !== undefined && s !== 'RUNNING';
  }

  /** A stop-with-savepoint is under way: the end waits for its outcome. */
  get savepointStopUnderWay(): boolean {
    const s = this.started;
    return s === 'SAVEPOINT_STOPPING' || s === 'SAVEPOINT_STOPPING_STOP_REQUESTED';
  }

  /** The job ran to its end: FINISHED, or STOPPED when a stop was asked. */
  end(): 'FINISHED' | 'STOPPED' {
    const to = this.stopRequested ? 'STOPPED' : 'FINISHED';
    this.transition(to);
    return to;
  }

  /** The active state, or the one run() will start in; undefined once ended. */
  private get started(): ActiveState | undefined {
    const c = this.current;
    if (c.name === 'CREATED') return c.startsIn;
    return isActive(c.name) ? c.name : undefined;
  }

  private ask(table: Partial<Record<ActiveState, ActiveState>>): boolean {
    const c = this.current;
    const from = this.started;
    const to = from === undefined ? undefined : table[from];
    if (from === undefined || to === undefined) return false;
    if (c.name !== 'CREATED') this.transition(to);
    else if (LEGAL_MOVES[from].includes(to)) this.current = { name: 'CREATED', startsIn: to };
    else refuse(from, to);
    return true;
  }
}
