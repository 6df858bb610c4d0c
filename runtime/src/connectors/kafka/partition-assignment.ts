// Which partitions of its topic a Kafka source's slot takes when it finds them — at start and
// by discovery — and how a live rescale changes that (docs/design/live-rescale.md §3 item 6):
// - by `partitionOwner(topic, p, parallelism)`: every slot applies the one rule to partitions no
//   slot owns, so exactly one takes each;
// - a slot that joins a running job takes none by itself: its partitions come by the plan's steps;
// - while a rescale runs, no slot takes a partition by itself: owners are in flux (a partition the
//   rule at the old parallelism gives a draining slot would be read by no one once it left); one
//   found then waits;
// - after a rescale to N', by the rule at N': what a restart at N' would do;
// - a partition the slot handed over it never takes back by itself (a later step may give it back).
// A slot that took part in a live rescale never ends for owning none: a later one may give it some.
// Holding and placing come from rescale/rescale-local.ts in one process, and across threads, processes and
// pods from slot 0's messages (rescale/placement.ts); exec/unowned-partitions.ts alarms on a miss.
import type { Logger } from 'pino';
import { partitionOwner } from './client.ts';

export class PartitionAssignment {
  private readonly topic: string;
  private readonly slot: number;
  private parallelism: number;
  private held: boolean;
  private movable: boolean;
  /** Handed over to another slot and not taken back. */
  private readonly given = new Set<number>();
  private leftLogged = '';

  constructor(topic: string, slot: number, parallelism: number, joining: boolean) {
    this.topic = topic;
    this.slot = slot;
    this.parallelism = parallelism;
    this.held = joining;
    this.movable = joining;
  }

  /** This slot takes `p`, a partition no slot owns, now. */
  takes(p: number): boolean {
    return !this.held && !this.given.has(p) && partitionOwner(this.topic, p, this.parallelism) === this.slot;
  }

  /**
   * Of the topic's partitions `all`, those this slot takes now (`owns`: read here already). The ones left to
   * other slots are logged at debug whenever they change, with what decided it: a partition read by no one
   * (exec/unowned-partitions.ts alarms) is then traced to the slot that should have taken it.
   */
  toTake(all: readonly number[], owns: (p: number) => boolean, log: Logger, source: string): number[] {
    const taken: number[] = [];
    const left: number[] = [];
    for (const p of all) if (!owns(p)) (this.takes(p) ? taken : left).push(p);
    const key = `${left.join(',')}|${this.parallelism}|${this.held}`;
    if (left.length > 0 && key !== this.leftLogged)
      log.debug(
        { source, slot: this.slot, topic: this.topic, left, parallelism: this.parallelism, held: this.held },
        'kafka source: partitions found, left to other slots',
      );
    this.leftLogged = key;
    return taken;
  }

  /** The source keeps running with no partition (none may come otherwise: it ends). */
  get keepsRunning(): boolean {
    return this.movable || this.given.size > 0;
  }

  handedOver(parts: Iterable<number>): void {
    for (const p of parts) this.given.add(p);
    this.movable = true;
  }

  takenOver(parts: Iterable<number>): void {
    for (const p of parts) this.given.delete(p);
  }

  /** A rescale begins: no partition is taken by the rule until `place`. */
  hold(): void {
    this.held = true;
    this.movable = true;
  }

  /** The job runs at `parallelism` from now on: partitions found from now on go by the rule at it. */
  place(parallelism: number): void {
    this.parallelism = parallelism;
    this.held = false;
  }
}
