// process/alignment-exchange.ts: watermark alignment reports go to the job's slots now (a live rescale
// joins and drains slots), a slot that joined is admitted from its own first report and gets the full
// set when its link is up, reports that reach a joining slot before its job exists are applied once it
// does, and a slot that left is forgotten for good.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceSpec } from '../graph/spec.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { WatermarkAlignment, type AlignmentReport } from '../time/watermark-alignment.ts';
import { AlignmentExchange } from './alignment-exchange.ts';

const timed = { name: 'in', kafka: {}, timestamp: { field: 'ts', format: 'millis' } } as unknown as SourceSpec;
const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

/** Slot `slot`'s exchange with the job's members declared at `parallelism`, as job-executor.ts does. */
function exchange(slot: number, parallelism: number, peers: Set<number>) {
  const hub = new WatermarkAlignment();
  const sent: [number, AlignmentReport[]][] = [];
  const x = new AlignmentExchange({
    hub,
    sources: [timed],
    slot,
    peers: () => peers,
    send: (to, reports) => sent.push([to, reports]) > 0,
    logger: pino({ level: 'silent' }),
  });
  stops.push(() => x.stop());
  const declare = (): void => {
    for (let s = 0; s < parallelism; s++) hub.declare('in', `in#${s}`, s === slot);
  };
  return { hub, sent, x, declare };
}

/** Slot 0 of a job running at 2: its member at 5000, slot 1's reported at 4000. */
function runningSlot0(peers: Set<number>) {
  const old = exchange(0, 2, peers);
  old.declare();
  old.x.jobBuilt();
  old.hub.report('in', 'in#0', 5000);
  old.x.received(1, [['in', 'in#1', 4000]]);
  return old;
}

describe('AlignmentExchange', () => {
  it('a running slot admits the joined slot from its own report and sends to it; the joiner hears everyone', () => {
    const peers = new Set([1]);
    const old = runningSlot0(peers);
    expect(old.hub.min('in')).toBe(4000);

    // Slot 2 joins: its process declares every member at 3; reports reach it before its job exists.
    const joiner = exchange(2, 3, new Set([0, 1]));
    joiner.x.received(1, [['in', 'in#1', 4000]]);
    peers.add(2); // prepareJoin (rescale-leave.ts joining)
    old.sent.length = 0;
    old.x.peerLinked(2);
    expect(old.sent, 'the full set at once').toEqual([[2, [['in', 'in#0', 5000]]]]);
    joiner.x.received(0, old.sent[0]?.[1] ?? []);
    joiner.declare();
    joiner.x.jobBuilt();
    joiner.hub.report('in', 'in#2', 4500);
    expect(joiner.hub.min('in'), 'no member left at −∞').toBe(4000);

    old.x.received(1, [['in', 'in#2', 1]]); // only slot 2 brings its member in
    expect(old.hub.min('in')).toBe(4000);
    old.x.received(2, [['in', 'in#2', 3000]]);
    expect(old.hub.min('in')).toBe(3000);
    old.sent.length = 0;
    old.hub.report('in', 'in#0', 6000);
    old.x.stop(true);
    expect(old.sent.map(([to]) => to).sort()).toEqual([1, 2]);
  });

  it('forgets a slot that left: its members hold nothing back and a late report does not bring them back', () => {
    const peers = new Set([1, 2]);
    const s0 = exchange(0, 3, peers);
    s0.declare();
    s0.x.jobBuilt();
    s0.hub.report('in', 'in#0', 9000);
    s0.x.received(1, [['in', 'in#1', 8000]]);
    s0.x.received(2, [['in', 'in#2', 2000]]);
    expect(s0.hub.min('in')).toBe(2000);
    peers.delete(2); // mig-left
    s0.x.peerLeft(2);
    expect(s0.hub.min('in')).toBe(8000);
    s0.x.received(2, [['in', 'in#2', 1000]]);
    expect(s0.hub.min('in')).toBe(8000);
  });

  it('the full set a joiner sends before its sources reported holds no running slot back', () => {
    const peers = new Set([1]);
    const old = runningSlot0(peers);
    peers.add(2);
    const joiner = exchange(2, 3, new Set([0, 1]));
    joiner.declare();
    joiner.x.jobBuilt(); // its first full set: its own member still at its declaration's −∞
    const first = joiner.sent.find(([to]) => to === 0)?.[1] ?? [];
    expect(first).toEqual([['in', 'in#2', MIN_WATERMARK]]);
    old.x.received(2, first);
    expect(old.hub.min('in'), 'not admitted at −∞: reading goes on').toBe(4000);
    old.x.received(2, [['in', 'in#2', 3000]]);
    expect(old.hub.min('in'), 'admitted from its first report above −∞').toBe(3000);
  });
});
