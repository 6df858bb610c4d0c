import { describe, expect, it } from 'vitest';
import type { DependencyOutage } from './outage.ts';
import { OutageBoard } from './outage-board.ts';

const outage = (since: string, error: string, component = 'source "in"'): DependencyOutage => ({
  dependency: 'kafka',
  component,
  target: 'brokers b:9092',
  since,
  error,
});

describe('OutageBoard', () => {
  it('merges slots reporting one outage, keeps its first since, and clears per reporter', () => {
    const board = new OutageBoard();
    const s0 = board.reporter('source:in:0');
    const s1 = board.reporter('source:in:1');
    s0(outage('2026-01-01T00:00:05Z', 'refused'));
    s1(outage('2026-01-01T00:00:02Z', 'refused'));
    s0(outage('2026-01-01T00:00:09Z', 'no answer')); // a later report of the same outage
    expect(board.list()).toEqual([outage('2026-01-01T00:00:02Z', 'refused')]);
    s1(undefined); // slot 1 reaches the broker again: slot 0 still does not
    expect(board.list()).toEqual([outage('2026-01-01T00:00:05Z', 'no answer')]);
    s0(undefined);
    expect(board.list()).toEqual([]);
    expect(board.gauge()).toEqual([{ dependency: 'kafka', component: 'source "in"', unavailable: false }]);
  });

  it('lists different components apart, oldest first, for the gauge too', () => {
    const board = new OutageBoard();
    board.reporter('sink:out:0')(outage('2026-01-01T00:00:07Z', 'refused', 'sink "out"'));
    board.reporter('source:in:0')(outage('2026-01-01T00:00:03Z', 'refused'));
    expect(board.list().map((o) => o.component)).toEqual(['source "in"', 'sink "out"']);
    expect(board.gauge().filter((g) => g.unavailable)).toHaveLength(2);
  });
});
