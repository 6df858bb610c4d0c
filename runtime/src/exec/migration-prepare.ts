// Before a live migration across processes moves anything (live-migration.ts), slot 0 asks every
// slot of another process that the plan touches whether it can take part (mig-prepare → mig-ready):
// a slot whose tasks finished (end of input) or are ending would never see a step's barrier, so
// its part would never be done. A refusal, or no answer within the step timeout, refuses the plan
// (TRIB_RESCALE_UNSUPPORTED, naming the slot); nothing moved, so the job runs on as it is.
// A slot that ends after answering is caught by the step's deadline (migration-deadline.ts).
import { TributaryError } from '../errors.ts';
import type { MigrationPlan } from '../rescale/plan.ts';
import type { MigrationRpc, MigrationTransport } from './migration-rpc.ts';
import type { MigratingChain } from './migration-step.ts';

/** Every slot a plan moves key groups or partitions to or from. */
export function slotsOfPlan(plan: MigrationPlan): Set<number> {
  const out = new Set<number>();
  for (const step of plan.steps) {
    for (const m of step.keyGroups) out.add(m.from).add(m.to);
    for (const m of step.partitions) out.add(m.from).add(m.to);
  }
  return out;
}

/** Why slot `slot` of this process cannot take part, or undefined: a task of it finished or is ending. */
export function unableToMigrate(chains: readonly MigratingChain[], slot: number): string | undefined {
  const ended = chains.filter((c) => c.slot === slot && c.chain.done);
  if (ended.length === 0) return undefined;
  const name = (c: MigratingChain): string =>
    c.source ? `source task "${c.source.name}"` : `task of step "${c.chain.stateful[0]?.stateName ?? '?'}"`;
  const what = ended.map(name).join(', ');
  return `its ${what} finished (end of input): it would never see a step's barrier`;
}

/** One round of mig-prepare, driven by slot 0: settles once every asked slot answered yes. */
export class PrepareRound {
  private static next = 1;
  readonly id = PrepareRound.next++;
  private readonly waiting: Set<number>;
  private settle: (e?: Error) => void = () => undefined;
  readonly done: Promise<void>;

  constructor(transport: MigrationTransport, slots: readonly number[], timeoutMs: number) {
    this.waiting = new Set(slots);
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (e) => (e ? reject(e) : resolve());
    });
    const timer = setTimeout(() => {
      const missing = [...this.waiting].sort((a, b) => a - b).join(', ');
      this.settle(
        new TributaryError(
          'TRIB_RESCALE_UNSUPPORTED',
          `live rescale: slot ${missing} did not answer whether it can take part (mig-prepare) within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    void this.done.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    if (this.waiting.size === 0) this.settle();
    for (const s of slots) transport.send(s, { m: 'mig-prepare', id: this.id, slot: s });
  }

  /** A mig-ready of this round. */
  answer(msg: Extract<MigrationRpc, { m: 'mig-ready' }>): void {
    if (msg.id !== this.id || !this.waiting.has(msg.slot)) return;
    if (msg.error !== undefined)
      this.settle(new TributaryError('TRIB_RESCALE_UNSUPPORTED', `live rescale: slot ${msg.slot}: ${msg.error}`));
    this.waiting.delete(msg.slot);
    if (this.waiting.size === 0) this.settle();
  }
}
