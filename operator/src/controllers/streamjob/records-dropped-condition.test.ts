import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { jobCondition } from './conditions.ts';
import { droppedState, recordDropped } from './records-dropped-condition.ts';
import type { SlotRuntime } from './slot-runtime.ts';

const noOverload = { step: 'even', code: 'TRIB_EXPR_EVAL', error: 'no such overload: dyn<double> % int' };
const slot0 = (recordsDropped?: StatusResponse['recordsDropped'], state = 'RUNNING') =>
  ({ state, ...(recordsDropped ? { recordsDropped } : {}) }) as unknown as StatusResponse;

describe('RecordsDropped', () => {
  it("sums every running slot's drops per step, naming the first error of each", () => {
    const slots = new Map<number, SlotRuntime>([
      [1, { state: 'RUNNING', recordsDropped: [{ ...noOverload, count: 700 }] }],
      [2, { error: 'refused' }],
    ]);
    const st = droppedState({
      runtime: slot0([
        { ...noOverload, count: 300 },
        { step: 'parse', code: 'TRIB_FUNCTION_FAILED', error: 'bad json', count: 2 },
      ]),
      slotRuntime: slots,
    });
    expect(st).toEqual({
      total: 1002,
      reason: 'ExpressionFailed',
      message:
        '1002 record(s) dropped on failed expressions: step "even" dropped 1000 (first: TRIB_EXPR_EVAL: no such overload: dyn<double> % int); ' +
        'step "parse" dropped 2 (first: TRIB_FUNCTION_FAILED: bad json); see the job\'s logs for their origin, or give the step an errorOutput',
    });
  });

  it('is False while the running slots dropped none, and says nothing when none answered', () => {
    expect(droppedState({ runtime: slot0() })).toMatchObject({ total: 0, reason: 'NoneDropped' });
    expect(droppedState({ runtime: slot0([{ ...noOverload, count: 1 }], 'STARTING') })).toBeUndefined();
    expect(droppedState({ runtime: undefined, slotRuntime: new Map([[1, { error: 'x' }]]) })).toBeUndefined();
  });

  it('sets the condition on a deployed job and removes it when nothing is deployed', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const st = { deployed: { deploymentId: 'd1' } } as unknown as StreamJobStatus;
    recordDropped(st, droppedState({ runtime: slot0([{ ...noOverload, count: 3 }]) }), 1, now);
    expect(jobCondition(st, 'RecordsDropped')).toMatchObject({ status: 'True', reason: 'ExpressionFailed' });
    expect(jobCondition(st, 'RecordsDropped')?.message).toMatch(/step "even" dropped 3/);
    delete (st as { deployed?: unknown }).deployed;
    recordDropped(st, undefined, 1, now);
    expect(jobCondition(st, 'RecordsDropped')).toBeUndefined();
  });
});
