import { describe, expect, it } from 'vitest';
import { CreditGate } from './credit-gate.ts';

describe('credit gate', () => {
  it('never sends more frames than credits granted, in order', () => {
    const g = new CreditGate();
    const sent: number[] = [];
    const write = (f: Buffer): void => {
      sent.push(f.readUInt8(0));
      expect(g.sent).toBeLessThanOrEqual(g.granted);
    };
    for (let i = 0; i < 5; i++) g.enqueue(Buffer.from([i]));
    expect(g.drain(write)).toBe(0);
    g.grant(2);
    expect(g.drain(write)).toBe(2);
    expect(g.queued).toBe(3);
    g.grant(10);
    g.drain(write);
    expect(sent).toEqual([0, 1, 2, 3, 4]);
    expect(g.available).toBe(7);
    g.enqueue(Buffer.from([5]));
    g.drain(write);
    expect(g.available).toBe(6);
    expect(g.sent).toBe(6);
    expect(g.granted).toBe(12);
  });

  it('ignores non-positive grants', () => {
    const g = new CreditGate();
    g.grant(0);
    g.grant(-3);
    expect(g.available).toBe(0);
  });
});
