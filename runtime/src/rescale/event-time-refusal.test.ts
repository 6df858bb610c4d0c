// rescale/event-time-refusal.ts: a job whose sources assign event time is refused a live rescale
// across processes (a moved partition's watermark does not travel between processes yet).
import { describe, expect, it } from 'vitest';
import { eventTimeRefusal } from './event-time-refusal.ts';

describe('eventTimeRefusal', () => {
  it('names the first source that assigns event time; none without one', () => {
    expect(eventTimeRefusal([{ name: 'a' }, { name: 'b' }])).toBeUndefined();
    expect(
      eventTimeRefusal([
        { name: 'a' },
        { name: 'b', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0ms' } },
      ]),
    ).toMatch(/source "b" assigns event time: .* watermark/);
  });
});
