// What a live migration refuses before anything moves (migration.ts): a plan this process
// cannot carry out. With slots in other processes (a MigrationTransport), a move to or from a
// remote slot is checked against this process's chains of the same graph (every slot runs the
// same tasks). Which partitions a slot reads is checked once its assignment under way is done, by
// the slot itself (migration-prepare.ts), not here.
import { TributaryError } from '../errors.ts';
import type { MigrationPlan } from './plan.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';

export interface PlanCheckContext {
  running: boolean;
  maxParallelism: number;
  parallelism: number;
  chains: readonly MigratingChain[];
  owner: Int32Array;
  /** Slots of the job run in other processes, linked by a MigrationTransport. */
  remote: boolean;
}

export function checkPlan(plan: MigrationPlan, x: PlanCheckContext): void {
  const refuse = (code: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID', why: string): never => {
    throw new TributaryError(code, `live rescale: ${why}`);
  };
  if (x.running) refuse('TRIB_RESCALE_UNSUPPORTED', 'a migration is already running');
  if (plan.maxParallelism !== x.maxParallelism)
    refuse(
      'TRIB_RESCALE_PLAN_INVALID',
      `the plan is for maxParallelism ${plan.maxParallelism}, this job has ${x.maxParallelism}`,
    );
  const local = new Set(x.chains.map((c) => c.slot));
  const runs = (s: number): boolean => (local.has(s) || x.remote) && Number.isInteger(s) && s >= 0;
  for (const c of x.chains)
    for (const op of c.chain.stateful) {
      if (op.keyedBackend === undefined)
        refuse('TRIB_RESCALE_UNSUPPORTED', `step "${op.stateName}" keeps state no key-group hand-off can move`);
      if (c.gate === undefined)
        refuse('TRIB_RESCALE_UNSUPPORTED', `step "${op.stateName}" keeps keyed state in a source task`);
    }
  const moves = plan.steps.flatMap((step, i) => step.keyGroups.map((m) => ({ i, m })));
  for (const [i, step] of plan.steps.entries())
    for (const m of step.partitions) {
      const what = `step ${i} moves partition ${m.partition} of source "${m.source}"`;
      const at = (s: number) => x.chains.find((c) => c.slot === s && c.source?.name === m.source)?.source;
      const any = x.chains.find((c) => c.source?.name === m.source)?.source;
      const [from, to] =
        x.remote && runs(m.from) && runs(m.to) ? [at(m.from) ?? any, at(m.to) ?? any] : [at(m.from), at(m.to)];
      if (!from || !to)
        throw new TributaryError(
          'TRIB_RESCALE_UNSUPPORTED',
          `live rescale: ${what} from slot ${m.from} to ${m.to}: no such source runs there`,
        );
      const topic = from.reader.movableTopic?.();
      if (topic === undefined || !from.reader.handOverPartitions || !to.reader.takeOverPartitions)
        refuse(
          'TRIB_RESCALE_UNSUPPORTED',
          `${what}, which cannot move its input between running slots: only an unbounded Kafka source can ` +
            '(an index source — datagen, collection, file — stripes its input by parallelism)',
        );
      if (topic !== m.topic) refuse('TRIB_RESCALE_PLAN_INVALID', `${what} of topic ${m.topic}, but it reads ${topic}`);
    }
  for (const { i, m } of moves)
    for (const s of [m.from, m.to])
      if (!runs(s) || s >= x.parallelism)
        refuse(
          'TRIB_RESCALE_UNSUPPORTED',
          `step ${i} moves key group ${m.keyGroup} to or from slot ${s}, which does not run here`,
        );
  for (const { i, m } of moves)
    if (x.owner[m.keyGroup] !== m.from)
      refuse(
        'TRIB_RESCALE_PLAN_INVALID',
        `step ${i} moves key group ${m.keyGroup} from slot ${m.from}, but slot ${x.owner[m.keyGroup]} owns it`,
      );
}
