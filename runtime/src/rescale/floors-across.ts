// A moved partition's watermark across processes (exec/watermark-handover.ts; docs/runtime/distributed.md,
// CONTROL messages): `mig-positions` carries the old owner's watermark of each partition it handed over,
// the new owner starts the partition there and, at the first barrier it injects once the partition no
// longer holds it back, sends `mig-caught-up` with that barrier's id to the old owner's slot, which then
// releases its floor after its first barrier at or above it. The old owner registers a floor before its
// `mig-positions` goes, so no report can find it missing. Floors are kept by partition, not by step: a
// report may come long after the step ended (the new owner's output still below the floor).
//
// Bound: a floor released early loses records downstream, so a floor is never released on a timer.
// One not reported within the checkpoint timeout of its hand-over fails the job instead
// (TRIB_RESCALE_FLOOR_STUCK; the restart restores watermarks from nothing). A report that never comes
// means a bug or a lost peer (which fails the job by itself); a new owner that merely lags holds the
// windows downstream below the floor with its own channels, so the floor held meanwhile costs nothing.
// A slot that left the job (scale in) takes its floors with it: its channels ended, they hold nothing.
import { TributaryError } from '../errors.ts';
import type { HandedWatermark } from '../connectors/api.ts';
import type { MigrationRpc, MigrationTransport } from './migration-rpc.ts';
import type { ActiveStep } from './migration-step.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';

type Positions = Extract<MigrationRpc, { m: 'mig-positions' }>;
type CaughtUp = Extract<MigrationRpc, { m: 'mig-caught-up' }>;

interface Held {
  w: HandedWatermark;
  c: MigratingChain;
  timer: NodeJS.Timeout;
}

export class FloorsAcross {
  /** The old owner's floors of partitions handed over to another process, by `<source>|<partition>`. */
  private readonly held = new Map<string, Held>();
  private readonly timeoutMs: number;
  private readonly fail: (e: unknown) => void;

  constructor(o: { timeoutMs: number; fail: (e: unknown) => void }) {
    this.timeoutMs = o.timeoutMs;
    this.fail = o.fail;
  }

  /** Floors still held (tests, diagnostics). */
  get size(): number {
    return this.held.size;
  }

  /**
   * The old owner, at barrier `barrierId`: the `watermarks` of `mig-positions` to slot `to` for
   * `partitions`, whose floors it holds from now on until `release`.
   */
  hand(
    c: MigratingChain,
    at: { source: string; barrierId: number; to: number },
    partitions: readonly number[],
    floors: ReadonlyMap<number, HandedWatermark> | undefined,
  ): [number, number][] {
    const out: [number, number][] = [];
    for (const p of partitions) {
      const w = floors?.get(p);
      if (!w) continue;
      const key = `${at.source}|${p}`;
      const stuck = (): void => {
        if (this.held.get(key)?.w !== w) return;
        const what = `partition ${p} of source "${at.source}", handed over by slot ${c.slot} to slot ${at.to} at checkpoint ${at.barrierId}`;
        this.fail(
          new TributaryError(
            'TRIB_RESCALE_FLOOR_STUCK',
            `live rescale: ${what}: its new owner did not report it caught up within ${this.timeoutMs} ms, so the old owner's watermark stays held at ${w.watermark}`,
          ),
        );
      };
      const timer = setTimeout(stuck, this.timeoutMs);
      timer.unref();
      this.drop(key);
      this.held.set(key, { w, c, timer });
      out.push([p, w.watermark]);
    }
    return out;
  }

  /** The old owner: the new owner caught up (`mig-caught-up`); the floor goes in its chain's loop. */
  release(msg: CaughtUp): void {
    const key = `${msg.source}|${msg.partition}`;
    const f = this.held.get(key);
    if (!f) return;
    this.drop(key);
    f.c.post(() => f.w.releaseAt(msg.barrierId));
  }

  /** Whether slot `slot` holds a floor for a new owner in another process. */
  holds(slot: number): boolean {
    return [...this.held.values()].some((f) => f.c.slot === slot);
  }

  /** Slot `slot` left the job: its floors go with its channels. */
  forgetSlot(slot: number): void {
    for (const [key, f] of this.held) if (f.c.slot === slot) this.drop(key);
  }

  private drop(key: string): void {
    clearTimeout(this.held.get(key)?.timer);
    this.held.delete(key);
  }

  /** The new owner, on `mig-positions`: the floors its take-over starts from; each reports back over `transport`. */
  static received(step: ActiveStep, msg: Positions, transport: MigrationTransport | undefined): void {
    for (const [p, watermark] of msg.watermarks ?? []) {
      const caughtUp = { m: 'mig-caught-up', source: msg.source, partition: p, to: msg.from } as const;
      const releaseAt = (barrierId: number): void => transport?.send(msg.from, { ...caughtUp, barrierId });
      step.floors.set(`${msg.source}|${p}`, { w: { watermark, releaseAt }, post: (cb) => cb() });
    }
  }
}
