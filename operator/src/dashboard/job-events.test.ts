import { describe, expect, it } from 'vitest';
import { eventSelector, exceptionsOf, MAX_EVENTS, toDashboardEvents, type CoreEvent } from './job-events.ts';

describe('job Events for the dashboard', () => {
  it('selects the job by kind, name and uid', () => {
    expect(eventSelector('clicks', 'u1')).toBe(
      'involvedObject.kind=StreamJob,involvedObject.name=clicks,involvedObject.uid=u1',
    );
    expect(eventSelector('clicks', undefined)).toBe('involvedObject.kind=StreamJob,involvedObject.name=clicks');
  });

  it('maps Events newest first, with their count and no credentials, and finds the slot exceptions', () => {
    const items: CoreEvent[] = [
      {
        type: 'Normal',
        reason: 'DeployStarted',
        message: 'deploy to deployment a-1',
        count: 1,
        lastTimestamp: '2026-01-01T00:00:01Z',
      },
      {
        type: 'Warning',
        reason: 'SlotException',
        message: 'slot 2 reports FAILED: s3://key:secret@minio/b: Access Denied',
        count: 3,
        lastTimestamp: '2026-01-01T00:00:09Z',
      },
      {
        type: 'Warning',
        reason: 'SlotFailed',
        message: 'slot(s) 2 failed',
        eventTime: '2026-01-01T00:00:05.123Z',
        series: { count: 4, lastObservedTime: '2026-01-01T00:00:07Z' },
      },
    ];
    const events = toDashboardEvents(items);
    expect(events).toEqual([
      {
        type: 'Warning',
        reason: 'SlotException',
        message: 'slot 2 reports FAILED: s3://minio/b: Access Denied',
        count: 3,
        lastSeen: '2026-01-01T00:00:09.000Z',
      },
      {
        type: 'Warning',
        reason: 'SlotFailed',
        message: 'slot(s) 2 failed',
        count: 4,
        lastSeen: '2026-01-01T00:00:07.000Z',
      },
      {
        type: 'Normal',
        reason: 'DeployStarted',
        message: 'deploy to deployment a-1',
        count: 1,
        lastSeen: '2026-01-01T00:00:01.000Z',
      },
    ]);
    expect(exceptionsOf(events)).toEqual([
      { slot: 2, message: 'slot 2 reports FAILED: s3://minio/b: Access Denied', at: '2026-01-01T00:00:09.000Z' },
    ]);
  });

  it('keeps at most MAX_EVENTS, the newest', () => {
    const items: CoreEvent[] = Array.from({ length: MAX_EVENTS + 5 }, (_, i) => ({
      type: 'Normal',
      reason: `R${i}`,
      lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    }));
    const events = toDashboardEvents(items);
    expect(events).toHaveLength(MAX_EVENTS);
    expect(events[0]!.reason).toBe(`R${MAX_EVENTS + 4}`);
  });
});
