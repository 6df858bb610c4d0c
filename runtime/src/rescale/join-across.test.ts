// JoinAcross (join-across.ts): slot 0's order of a join across processes — join-state, join-built,
// the exclusive section entered only once the last checkpoint issued completed, join-wire to every
// other running slot, every join-wired, then admission — the deadline naming a slot whose
// join-wired never came, and the running side's answer to join-wire. The transport is a recorder
// that delivers (or drops) messages on a later turn, as the data plane would.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../telemetry/logger.ts';
import type { JoinRpc } from './join-rpc.ts';
import { JoinAcross, type JoinAcrossContext } from './join-across.ts';

const later = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** Slot 0 of `running` slots (1..running−1 in other processes) with a joiner; `peers` answer as processes would. */
function setup(o: { running?: number; quietAfter?: number; drop?: (to: number, m: JoinRpc) => boolean } = {}) {
  const running = o.running ?? 2;
  const log: string[] = [];
  let quietAfter = o.quietAfter ?? 0;
  let inExclusive = false;
  const failed: unknown[] = [];
  // eslint-disable-next-line prefer-const
  let join: JoinAcross;
  const c: JoinAcrossContext = {
    transport: {
      send: (to, m) => {
        log.push(`send ${m.m} ${m.slot} → ${to}`);
        if (o.drop?.(to, m)) return;
        // The joiner answers join-state once built; a running slot answers join-wire once wired.
        if (m.m === 'join-state') void later().then(() => join.receive(to, { m: 'join-built', slot: m.slot }));
        if (m.m === 'join-wire') void later().then(() => join.receive(to, { m: 'join-wired', slot: m.slot }));
      },
    },
    coordinator: {
      exclusive: async <T>(fn: () => Promise<T>): Promise<T> => {
        inExclusive = true;
        try {
          return await fn();
        } finally {
          inExclusive = false;
        }
      },
      get lastIssuedCompleted() {
        return quietAfter === 0;
      },
      parallelism: running,
    },
    local: [0],
    triggerCheckpoint: async () => {
      if (inExclusive) throw new Error('a checkpoint triggered inside the exclusive section');
      log.push('trigger');
      quietAfter = Math.max(0, quietAfter - 1);
      await later();
    },
    owners: () => Int32Array.from([0, 1, 0, 1]),
    migrating: () => false,
    wireLocal: async (s) => {
      log.push(`wire local ${s}${inExclusive ? ' (exclusive)' : ''}`);
      await later();
    },
    admit: (s) => log.push(`admit ${s}${inExclusive ? ' (exclusive)' : ''}`),
    timeoutMs: 200,
    fail: (e) => failed.push(e),
    logger: silentLogger(),
  };
  join = new JoinAcross(c);
  return { join, c, log, failed };
}

describe('JoinAcross: a slot of another process joins', () => {
  it('join-state, join-built, then inside the section: join-wire, local wiring, every join-wired, admission', async () => {
    const { join, log, failed } = setup({ running: 3 });
    await join.join(3);
    expect(log).toEqual([
      'send join-state 3 → 3',
      'send join-wire 3 → 1',
      'send join-wire 3 → 2',
      'wire local 3 (exclusive)',
      'admit 3 (exclusive)',
    ]);
    expect(failed).toEqual([]);
  });

  it('the owner table goes with join-state', async () => {
    const sent: JoinRpc[] = [];
    const { join, c } = setup();
    const send = c.transport.send.bind(c.transport);
    c.transport.send = (to, m) => {
      sent.push(m);
      send(to, m);
    };
    await join.join(2);
    expect(sent[0]).toEqual({ m: 'join-state', slot: 2, owners: [0, 1, 0, 1] });
  });

  it('after a failed checkpoint, triggers one more (outside the section) before wiring', async () => {
    const { join, log } = setup({ quietAfter: 2 });
    await join.join(2);
    expect(log).toEqual([
      'send join-state 2 → 2',
      'trigger',
      'trigger',
      'send join-wire 2 → 1',
      'wire local 2 (exclusive)',
      'admit 2 (exclusive)',
    ]);
  });

  it('gives up, changing nothing, when no checkpoint completes', async () => {
    const { join, log, failed } = setup({ quietAfter: 1000 });
    await expect(join.join(2)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/slot 2 cannot join: 5 checkpoints in a row failed/) as unknown,
    });
    expect(log.filter((l) => l.includes('wire') || l.includes('admit'))).toEqual([]);
    expect(failed).toEqual([]);
  });

  it('a join-wired that never comes fails by the deadline naming the slot; the job fails, no admission', async () => {
    const { join, log, failed } = setup({ running: 3, drop: (to, m) => m.m === 'join-wire' && to === 2 });
    const t0 = Date.now();
    await expect(join.join(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message:
        "live rescale: slot 3's wiring into the running slots was not done within 200 ms: no join-wired from slot 2",
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(log.some((l) => l.startsWith('admit'))).toBe(false);
    expect(failed).toHaveLength(1);
  });

  it('a join-built that never comes fails by the deadline, before anything is wired (the job runs on)', async () => {
    const { join, log, failed } = setup({ drop: (_to, m) => m.m === 'join-state' });
    await expect(join.join(2)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: "live rescale: slot 2's build was not done within 200 ms: no join-built from slot 2",
    });
    expect(log).toEqual(['send join-state 2 → 2']);
    expect(failed).toEqual([]);
  });

  it('refuses a slot that is not the next one, and a join during a migration', async () => {
    const { join, c } = setup();
    await expect(join.join(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: 'slot 3 cannot join: the next slot to join is 2',
    });
    c.migrating = () => true;
    await expect(join.join(2)).rejects.toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
  });

  it('a running slot wires on join-wire and answers join-wired to slot 0; a wiring failure fails its job', async () => {
    const { c, log, failed } = setup();
    const sent: [number, JoinRpc][] = [];
    const running = new JoinAcross({
      ...c,
      coordinator: undefined,
      local: [1],
      transport: { send: (to, m) => sent.push([to, m]) },
    });
    running.receive(0, { m: 'join-wire', slot: 2 });
    await expect.poll(() => sent).toEqual([[0, { m: 'join-wired', slot: 2 }]]);
    expect(log).toEqual(['wire local 2']);
    const broken = new JoinAcross({
      ...c,
      coordinator: undefined,
      transport: { send: (to, m) => sent.push([to, m]) },
      wireLocal: () => Promise.reject(new Error('no hash exchange')),
    });
    broken.receive(0, { m: 'join-wire', slot: 2 });
    await expect.poll(() => failed.length).toBe(1);
    expect(sent).toHaveLength(1);
    await expect(broken.join(2)).rejects.toMatchObject({ code: 'TRIB_INVARIANT' });
  });
});
