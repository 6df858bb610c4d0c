// The membership generations a slot's data plane accepts peers of (live rescale across
// processes, docs/design/live-rescale.md §4). A deployment starts at generation 0 (or at the
// generation a joining slot was started with) and parallelism p; a live rescale to p' is
// generation g+1. The running slots are told of it (`prepare`) before the new slots start, so
// a HELLO of generation g+1 from slot p..p'−1 is accepted from then on, while every slot still
// accepts the generations it knew. `commit` retires the older ones: a HELLO of a generation
// below the oldest one kept is stale.
//
// Invariant: generations are kept in increasing order, the first is `floor`; each names the
// parallelism (the members are slots 0..parallelism−1) and the job hash its members present.
import { TributaryError } from '../errors.ts';
import type { Refusal } from './handshake.ts';

export interface Generation {
  generation: number;
  parallelism: number;
  /** The job hash members of this generation present (today it includes the parallelism). */
  jobHash: string;
}

/** The identity part of a HELLO that the membership decides on (already authenticated). */
export interface MemberClaim {
  generation?: unknown;
  parallelism?: unknown;
  jobHash?: unknown;
  fromSlot?: unknown;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

export class Membership {
  private readonly gens: Generation[];
  private readonly self: number;

  constructor(first: Generation, selfSlot: number) {
    if (!isCount(first.generation) || !isCount(first.parallelism) || first.parallelism < 1)
      throw new TributaryError(
        'TRIB_PEER_CONFIG',
        `generation ${String(first.generation)} with parallelism ${String(first.parallelism)} is not a membership`,
      );
    this.gens = [first];
    this.self = selfSlot;
  }

  /** The oldest generation accepted: a HELLO below it is stale. */
  get floor(): number {
    return (this.gens[0] as Generation).generation;
  }

  /** The newest generation known (prepared or started with): this slot dials new peers as a member of it. */
  get newest(): Generation {
    return this.gens.at(-1) as Generation;
  }

  get(generation: number): Generation | undefined {
    return this.gens.find((g) => g.generation === generation);
  }

  /** Accepts peers of `g` from now on; generations only grow (a repeated or older one is a caller's bug). */
  prepare(g: Generation): void {
    if (!isCount(g.generation) || g.generation <= this.newest.generation)
      throw new TributaryError(
        'TRIB_PEER_CONFIG',
        `generation ${String(g.generation)} is not newer than generation ${this.newest.generation}`,
      );
    if (!isCount(g.parallelism) || g.parallelism < 1)
      throw new TributaryError('TRIB_PEER_CONFIG', `generation ${g.generation}: parallelism ${g.parallelism}`);
    this.gens.push(g);
  }

  /** Generations below `generation` are stale from now on (the migration to it completed). */
  commit(generation: number): void {
    if (!this.get(generation))
      throw new TributaryError('TRIB_PEER_CONFIG', `generation ${generation} was never prepared`);
    while (this.floor < generation) this.gens.shift();
  }

  /**
   * Decides on an authenticated HELLO's membership fields. A refusal names the peer's values
   * and the field, never this slot's expected values (handshake.ts).
   */
  check(h: MemberClaim): Refusal | undefined {
    const gen = h.generation;
    if (!isCount(gen)) return { reason: 'malformed', message: `generation ${String(gen)} is not a generation` };
    if (gen < this.floor) return { reason: 'generation', message: `peer generation ${gen} is stale` };
    const g = this.get(gen);
    if (!g) return { reason: 'generation', message: `peer generation ${gen} is not prepared on this slot` };
    if (h.parallelism !== g.parallelism)
      return {
        reason: 'parallelism',
        message: `peer parallelism ${String(h.parallelism)} is not that of generation ${gen}`,
      };
    if (h.jobHash !== g.jobHash)
      return { reason: 'job', message: `peer job ${JSON.stringify(h.jobHash)} is not this slot's` };
    const from = h.fromSlot;
    if (!isCount(from) || from >= g.parallelism)
      return { reason: 'slot', message: `peer slot ${String(from)} is outside the membership of generation ${gen}` };
    if (from === this.self)
      return { reason: 'slot', message: `peer slot ${from} is not another member of generation ${gen}` };
    return undefined;
  }
}
