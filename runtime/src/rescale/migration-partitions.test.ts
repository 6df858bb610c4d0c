// The order of a partition move in LiveMigration (migration.ts), with stand-in source
// readers and chains so each slot's barrier can be delivered when the test says: the new owner
// takes a partition over only once its own barrier of the step passed it and the old owner's
// position is there (whichever comes last), at exactly that position; the step is done only
// once the take-over is checked and the old owner's consumer restarted; a take-over that fails
// fails the step. (rescale/migration-kafka.int.test.ts runs the same against the real broker.)
import { describe, expect, it } from 'vitest';
import type { PollResult, SourceReader } from '../connectors/api.ts';
import type { MigrationPlan } from './plan.ts';
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import { LiveMigration } from './migration.ts';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}
function deferred(): Deferred {
  let resolve = (): void => undefined;
  let reject = (_e: Error): void => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A source reader that records what it is asked; its position of every partition is 40 + p. */
function reader(owned: number[], log: string[], name: string) {
  const restarted = deferred();
  const taken = deferred();
  const r: SourceReader = {
    open: () => Promise.resolve(),
    poll: (): PollResult => 'empty',
    close: () => Promise.resolve(),
    movableTopic: () => 't',
    ownedPartitions: () => owned,
    handOverPartitions: (ps) => {
      log.push(`${name} hands over ${ps.join(',')}`);
      return { positions: new Map(ps.map((p) => [p, BigInt(40 + p)])), restarted: restarted.promise };
    },
    takeOverPartitions: (positions, from) => {
      log.push(`${name} takes over ${[...positions].map(([p, o]) => `${p}@${o}`).join(',')} (${from})`);
      return taken.promise;
    },
  };
  return { r, restarted, taken };
}

function setup(): {
  mig: LiveMigration;
  log: string[];
  barrier(slot: number): void;
  old: ReturnType<typeof reader>;
  nu: ReturnType<typeof reader>;
} {
  const log: string[] = [];
  const mig = new LiveMigration({ maxParallelism: 4, parallelism: 2 });
  const old = reader([1], log, 'slot 1');
  const nu = reader([0], log, 'slot 0');
  const chains = [nu, old].map(({ r }, slot) => {
    const chain = { stateful: [], exchanges: [], onStepBarrier: undefined } as unknown as ChainCheckpoint;
    mig.addChain({ slot, chain, gate: undefined, post: (cb) => cb(), source: { name: 'events', reader: r } });
    return chain;
  });
  return { mig, log, old, nu, barrier: (slot) => chains[slot]?.onStepBarrier?.(7) };
}

const plan: MigrationPlan = {
  maxParallelism: 4,
  from: 2,
  to: 2,
  budgetBytes: 1,
  steps: [{ keyGroups: [], partitions: [{ source: 'events', topic: 't', partition: 1, from: 1, to: 0 }], bytes: 0 }],
  totalBytes: 0,
  movedKeyGroups: 0,
  movedPartitions: 1,
};

describe('a partition move between the slots of one job', () => {
  it('the new owner takes it over after its own barrier and the hand-over, at the handed-over position', async () => {
    for (const first of [1, 0]) {
      const s = setup();
      let done = false;
      const run = s.mig
        .run(plan, () => {
          s.mig.onTrigger(7);
          s.barrier(first);
          // One barrier passed: nothing is taken over yet (the old owner first: the new owner's
          // barrier is still to come; the new owner first: the position is not there yet).
          expect(s.log.filter((l) => l.includes('takes over'))).toEqual([]);
          s.barrier(1 - first);
          return Promise.resolve();
        })
        .then(() => (done = true));
      await new Promise((r) => setTimeout(r, 10));
      expect(s.log).toEqual([
        'slot 1 hands over 1',
        'slot 0 takes over 1@41 (the position slot 1 handed over at checkpoint 7)',
      ]);
      expect(done).toBe(false); // the take-over is not checked yet
      s.nu.taken.resolve();
      await new Promise((r) => setTimeout(r, 10));
      expect(done).toBe(false); // the old owner's consumer has not restarted yet
      s.old.restarted.resolve();
      await run;
    }
  });

  it('a take-over that fails fails the step', async () => {
    const s = setup();
    const run = s.mig.run(plan, () => {
      s.mig.onTrigger(7);
      s.barrier(1);
      s.barrier(0);
      return Promise.resolve();
    });
    s.old.restarted.resolve();
    s.nu.taken.reject(new Error('position past the log end'));
    await expect(run).rejects.toThrow('position past the log end');
  });

  it('refuses a move from a slot that does not read the partition, before anything moves', async () => {
    const s = setup();
    const wrong = {
      ...plan,
      steps: [
        {
          ...(plan.steps[0] as MigrationPlan['steps'][number]),
          partitions: [{ source: 'events', topic: 't', partition: 0, from: 1, to: 0 }],
        },
      ],
    };
    await expect(s.mig.run(wrong, () => Promise.resolve())).rejects.toMatchObject({
      code: 'TRIB_RESCALE_PLAN_INVALID',
      message: expect.stringMatching(/partition 0 of source "events" from slot 1, which does not read it/),
    });
    expect(s.log).toEqual([]);
  });
});
