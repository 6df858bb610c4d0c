import { describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { ASKS, JobLifecycle, LEGAL_MOVES, type LifecycleState } from './job-lifecycle.ts';

const ALL = Object.keys(LEGAL_MOVES) as LifecycleState[];

/** A way into every state through legal moves only. */
const PATHS: Record<LifecycleState, LifecycleState[]> = {
  CREATED: [],
  RUNNING: ['RUNNING'],
  STOP_REQUESTED: ['RUNNING', 'STOP_REQUESTED'],
  SAVEPOINT_STOPPING: ['RUNNING', 'SAVEPOINT_STOPPING'],
  SAVEPOINT_STOPPING_STOP_REQUESTED: ['RUNNING', 'STOP_REQUESTED', 'SAVEPOINT_STOPPING_STOP_REQUESTED'],
  STOP_REQUESTED_SAVEPOINT_FAILED: [
    'RUNNING',
    'STOP_REQUESTED',
    'SAVEPOINT_STOPPING_STOP_REQUESTED',
    'STOP_REQUESTED_SAVEPOINT_FAILED',
  ],
  FINISHED: ['RUNNING', 'FINISHED'],
  STOPPED: ['RUNNING', 'STOP_REQUESTED', 'STOPPED'],
  FAILED: ['RUNNING', 'FAILED'],
};

function at(state: LifecycleState): JobLifecycle {
  const l = new JobLifecycle();
  for (const s of PATHS[state]) l.transition(s);
  expect(l.state).toBe(state);
  return l;
}

function refusal(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('JobLifecycle', () => {
  it('allows every move of the table', () => {
    for (const from of ALL) {
      for (const to of LEGAL_MOVES[from]) {
        const l = at(from);
        l.transition(to);
        expect(l.state, `${from} → ${to}`).toBe(to);
      }
    }
  });

  it('refuses every other move with TRIB_INVARIANT and keeps its state', () => {
    let refused = 0;
    for (const from of ALL) {
      for (const to of ALL) {
        if (LEGAL_MOVES[from].includes(to)) continue;
        const l = at(from);
        const e = refusal(() => l.transition(to));
        expect(isTributaryError(e, 'TRIB_INVARIANT'), `${from} → ${to}`).toBe(true);
        expect((e as Error).message).toBe(`job lifecycle: no move from ${from} to ${to}`);
        expect(l.state).toBe(from);
        refused++;
      }
    }
    // 81 pairs, 22 legal moves.
    expect(refused).toBe(81 - 22);
  });

  it('ends nowhere: no move leaves FINISHED, STOPPED or FAILED', () => {
    for (const end of ['FINISHED', 'STOPPED', 'FAILED'] as const) expect(LEGAL_MOVES[end]).toEqual([]);
  });

  it('every ask leads along a legal move', () => {
    for (const table of Object.values(ASKS)) {
      for (const [from, to] of Object.entries(table))
        expect(LEGAL_MOVES[from as LifecycleState], `${from} → ${to}`).toContain(to);
    }
  });

  it('reports a plain stop as RUNNING and a stop-with-savepoint as STOPPING', () => {
    const l = new JobLifecycle();
    expect(l.publicState).toBe('CREATED');
    l.start();
    expect(l.publicState).toBe('RUNNING');
    expect(l.requestStop()).toBe(true);
    expect(l.requestStop()).toBe(false);
    expect(l.publicState).toBe('RUNNING');
    expect(l.stopRequested).toBe(true);
    expect(l.beginSavepointStop()).toBe(true);
    expect(l.publicState).toBe('STOPPING');
    expect(l.savepointStopUnderWay).toBe(true);
    // The savepoint failed: stop() still stops the job, which keeps reporting STOPPING.
    expect(l.savepointStopFailed()).toBe(true);
    expect(l.state).toBe('STOP_REQUESTED_SAVEPOINT_FAILED');
    expect(l.publicState).toBe('STOPPING');
    expect(l.savepointStopUnderWay).toBe(false);
    expect(l.savepointStopFailed()).toBe(false);
    expect(l.end()).toBe('STOPPED');
  });

  it('runs on after a failed stop-with-savepoint, and finishes', () => {
    const l = new JobLifecycle();
    l.start();
    expect(l.savepointStopFailed()).toBe(false);
    l.beginSavepointStop();
    expect(l.beginSavepointStop()).toBe(false);
    expect(l.publicState).toBe('STOPPING');
    l.savepointStopFailed();
    expect(l.state).toBe('RUNNING');
    expect(l.stopRequested).toBe(false);
    expect(l.end()).toBe('FINISHED');
    expect(l.requestStop()).toBe(false);
    expect(l.beginSavepointStop()).toBe(false);
    expect(l.state).toBe('FINISHED');
  });

  it('keeps a stop asked before run() as the state run() starts in', () => {
    const l = new JobLifecycle();
    expect(l.requestStop()).toBe(true);
    expect(l.requestStop()).toBe(false);
    expect(l.state).toBe('CREATED');
    expect(l.publicState).toBe('CREATED');
    l.start();
    expect(l.state).toBe('STOP_REQUESTED');
    expect(
      isTributaryError(
        refusal(() => l.start()),
        'TRIB_INVARIANT',
      ),
    ).toBe(true);
  });

  it('keeps a stop-with-savepoint asked before run(), and its failure', () => {
    const l = new JobLifecycle();
    l.beginSavepointStop();
    expect(l.publicState).toBe('CREATED');
    expect(l.savepointStopFailed()).toBe(true);
    l.beginSavepointStop();
    l.start();
    expect(l.state).toBe('SAVEPOINT_STOPPING');
    expect(l.end()).toBe('STOPPED');
  });
});
