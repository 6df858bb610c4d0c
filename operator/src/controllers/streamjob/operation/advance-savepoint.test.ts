import { describe, expect, it } from 'vitest';
import { savepointPollMs } from './advance-savepoint.ts';

describe('savepointPollMs', () => {
  it('asks a stop-with-savepoint again within 100 ms: processing is halted until the operator sees it complete', () => {
    expect(savepointPollMs(true, 'triggered')).toBeLessThanOrEqual(100);
    expect(savepointPollMs(true, 'in-progress')).toBeLessThanOrEqual(100);
  });

  it('asks a savepoint that leaves the job running less often', () => {
    expect(savepointPollMs(false, 'triggered')).toBe(300);
    expect(savepointPollMs(false, 'in-progress')).toBe(500);
  });
});
