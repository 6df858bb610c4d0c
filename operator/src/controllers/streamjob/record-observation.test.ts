import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import { waitingCondition } from './record-observation.ts';
import { sampleJob, sampleSpec as spec } from './testing/sample-job.ts';

const deployed = { id: 'x-1', specHash: 'h', parallelism: 2, startedAt: '' };
const rt = (o: Partial<StatusResponse>): StatusResponse => ({
  contractVersion: 1,
  jobName: 'j',
  deploymentId: 'x-1',
  slot: 0,
  parallelism: 2,
  state: 'RUNNING',
  ...o,
});

describe('waitingCondition', () => {
  it('names every waiting source and its topic; says every source reads once none waits', () => {
    const job = sampleJob(spec, { deployed });
    const w = waitingCondition(job, {
      runtime: rt({
        waitingForInput: [
          { source: 'clicks', topic: 'clicks-in', since: '2026-01-01T00:00:00Z' },
          { source: 'views', topic: 'views-in', since: '2026-01-01T00:00:01Z' },
        ],
      }),
    });
    expect(w).toEqual({
      waiting: true,
      message:
        'waiting for topic clicks-in (source clicks, since 2026-01-01T00:00:00Z); topic views-in (source views, since 2026-01-01T00:00:01Z): the job runs and reads once it exists',
    });
    expect(waitingCondition(job, { runtime: rt({}) })).toEqual({
      waiting: false,
      message: 'every source reads its input',
    });
  });

  it('says nothing without a RUNNING answer from slot 0 or without a deployment (the condition keeps its last value)', () => {
    expect(waitingCondition(sampleJob(spec, { deployed }), { runtime: undefined })).toBeUndefined();
    expect(waitingCondition(sampleJob(spec, { deployed }), { runtime: rt({ state: 'RESTORING' }) })).toBeUndefined();
    expect(waitingCondition(sampleJob(spec, {}), { runtime: rt({}) })).toBeUndefined();
  });
});
