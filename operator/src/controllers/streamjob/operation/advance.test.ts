import { describe, expect, it } from 'vitest';
import type { OperationStep } from '../../../api/v1alpha1/streamjob.ts';
import { parseKillPoint } from '../fault-kill.ts';
import { OLD_PODS_RUN } from '../readiness.ts';
import { isStatusWrite, OPERATION_WRITES, OTHER_WRITES, STATUS_WRITES, type StatusWrite } from '../status-writes.ts';
import { ENDED_BY, isOperationStep, STEPS, stepsAfter } from './advance.ts';
import { prepareState } from './prepare-state.ts';

const steps = Object.keys(STEPS) as OperationStep[];
const placed = (w: StatusWrite) => stepsAfter(w).length > 0;

describe('the write-ahead steps (operation/advance.ts STEPS) and the status writes', () => {
  it('every step has a handler per kind and is recorded by a write; no write records two steps', () => {
    expect(steps).toEqual([
      'recorded',
      'savepoint-triggered',
      'savepoint-failed',
      'state-ready',
      'old-pods-gone',
      'starting',
      'migrating',
      'migrated',
    ]);
    for (const s of steps) {
      expect(typeof STEPS[s].deploys, s).toBe('function');
      expect(typeof STEPS[s].suspends, s).toBe('function');
      expect(STEPS[s].enteredBy.length, `${s} is recorded by no status write`).toBeGreaterThan(0);
    }
    for (const w of STATUS_WRITES)
      expect(steps.filter((s) => STEPS[s].enteredBy.includes(w)).length, w).toBeLessThanOrEqual(1);
  });

  it('each write of the operation is placed in the table (records, holds or ends), and no other write is', () => {
    for (const w of OPERATION_WRITES) expect(placed(w), `${w} is in no step and ends nothing`).toBe(true);
    for (const w of OTHER_WRITES) expect(placed(w), `${w} is outside operations`).toBe(false);
    const named = [...steps.flatMap((s) => [...STEPS[s].enteredBy, ...STEPS[s].heldBy]), ...ENDED_BY];
    for (const w of named) expect(isStatusWrite(w), w).toBe(true);
    expect(new Set(STATUS_WRITES).size).toBe(STATUS_WRITES.length);
  });

  it('every status write is a fault-kill point, and the steps it leaves exist', () => {
    for (const w of STATUS_WRITES) {
      expect(parseKillPoint(`ns/job:${w}@2`)).toEqual({ namespace: 'ns', job: 'job', write: w, generation: 2 });
      for (const s of stepsAfter(w)) expect(s === undefined || isOperationStep(s), `${w} → ${s}`).toBe(true);
    }
  });

  it('the pending step after each write of a savepoint-mode rescale (the operator-kill e2e kill points)', () => {
    const after = Object.fromEntries(
      (['intent', 'savepoint-triggered', 'state-ready', 'old-pods-gone', 'starting', 'waiting', 'done'] as const).map(
        (w) => [w, stepsAfter(w)],
      ),
    );
    expect(after).toEqual({
      intent: ['recorded'],
      'savepoint-triggered': ['savepoint-triggered'],
      'state-ready': ['state-ready'],
      'old-pods-gone': ['old-pods-gone'],
      starting: ['starting'],
      waiting: ['starting'],
      done: [undefined],
    });
  });

  it('the steps before state-ready (prepareState) are those during which the old pods run (readiness.ts)', () => {
    for (const s of steps) expect(OLD_PODS_RUN.has(s), s).toBe(STEPS[s].deploys === prepareState);
    expect(OLD_PODS_RUN.has(undefined)).toBe(true);
    expect(isOperationStep('toString')).toBe(false);
    expect(isOperationStep(undefined)).toBe(false);
  });
});
