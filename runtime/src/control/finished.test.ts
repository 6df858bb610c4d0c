import { describe, expect, it } from 'vitest';
import { finishedMessage, parseFinishedMessage } from './finished.ts';

describe('the finished termination message', () => {
  it('round-trips, and fits the kubelet termination message (4096 bytes)', () => {
    const t = {
      slot: 0,
      deploymentId: 'abcd1234-3',
      recordsIn: 5000,
      recordsOut: 4999,
      lastCheckpoint: { id: 12, completedAt: '2026-01-01T00:00:00.000Z', path: '/state/checkpoints/chk-12' },
    };
    const text = finishedMessage(t);
    expect(parseFinishedMessage(text)).toEqual({ tributary: 'finished', ...t });
    expect(Buffer.byteLength(text)).toBeLessThan(4096);
  });

  it('is not read into any other termination message', () => {
    for (const text of [
      undefined,
      '',
      'error TRIB_JOB_FAILED: job failed: boom\n',
      '{"tributary":"finished"}', // no slot or deployment
      '{"tributary":"stopped","slot":0,"deploymentId":"d"}',
      '{not json',
      'null',
    ])
      expect(parseFinishedMessage(text)).toBeUndefined();
  });
});
