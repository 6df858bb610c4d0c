// The switch between a fetch thread and the slot's own thread for Kafka consumers.
import { describe, expect, it } from 'vitest';
import { FETCH_THREAD_ENV, fetchThreadEnabled } from './fetch-thread.ts';

describe('TRIBUTARY_KAFKA_FETCH_THREAD', () => {
  it('is off unless set to on', () => {
    expect(fetchThreadEnabled({})).toBe(false);
    expect(fetchThreadEnabled({ [FETCH_THREAD_ENV]: '' })).toBe(false);
    expect(fetchThreadEnabled({ [FETCH_THREAD_ENV]: 'off' })).toBe(false);
    expect(fetchThreadEnabled({ [FETCH_THREAD_ENV]: 'on' })).toBe(true);
  });

  it('refuses any other value, naming the variable', () => {
    expect(() => fetchThreadEnabled({ [FETCH_THREAD_ENV]: 'false' })).toThrow(
      expect.objectContaining({ code: 'TRIB_JOB_CONFIG', message: expect.stringContaining(FETCH_THREAD_ENV) }),
    );
  });
});
