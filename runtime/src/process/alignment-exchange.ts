// Watermark alignment between slot processes (time/watermark-alignment.ts): every updateInterval the
// reports of this process's members that changed go to every peer in a `wm` CONTROL frame, the full
// set every 5 s so a peer that missed one catches up.
//
// The peers are the job's slots NOW, not at start: a live rescale joins and drains slots while the
// job runs. A joining slot's process declares every member of the job at its parallelism (−∞ until
// reported), so it must hear from every running slot: each sends it its full set as soon as their
// link is up (`peerLinked`), and reports that reach it before its job declared the groups are kept
// and applied once it has (`jobBuilt`). The running processes never declared the joiner's members:
// they admit each from its own slot's first report above −∞ (never at −∞: not declared up front, and
// not from the full set the joiner sends before its sources reported, either of which would pause
// every running slot's reading until the joiner reported), and forget a slot's members once it left the
// job (`peerLeft`: after its links are retired, so no late report brings one back). Without this a
// joining slot's group minimum stayed −∞ for good, its source paused every partition it took over,
// its watermark stayed where the hand-over seeded it, and no window after that ever fired.
import type { Logger } from 'pino';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { alignmentMember, resolveAlignment } from '../graph/alignment.ts';
import type { SourceSpec } from '../graph/spec.ts';
import type { AlignmentReport, WatermarkAlignment } from '../time/watermark-alignment.ts';

export interface AlignmentExchangeOptions {
  hub: WatermarkAlignment;
  sources: readonly SourceSpec[];
  /** This process's slot. */
  slot: number;
  /** The job's other slots now (joined ones included, left ones not). */
  peers: () => Iterable<number>;
  /** Sends a `wm` frame to slot `to` (false: the link is down). */
  send: (to: number, reports: AlignmentReport[]) => boolean;
  logger: Logger;
}

const FULL_EVERY_MS = 5000;

export class AlignmentExchange {
  private readonly o: AlignmentExchangeOptions;
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Reports that arrived before this process's job declared its groups (a joining slot), by sender. */
  private early: [number, AlignmentReport[]][] | undefined = [];

  constructor(o: AlignmentExchangeOptions) {
    this.o = o;
    this.everyMs = Math.min(...o.sources.map((s) => resolveAlignment(s)?.updateIntervalMs ?? Infinity));
  }

  /** The job is built (its members declared): applies what came early, starts the periodic reports. */
  jobBuilt(): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const [from, reports] of early) this.received(from, reports);
    if (!Number.isFinite(this.everyMs)) return;
    let ticks = 0;
    const fullEvery = Math.max(1, Math.round(FULL_EVERY_MS / this.everyMs));
    this.timer = setInterval(() => this.sendAll(++ticks % fullEvery === 0), this.everyMs);
    this.timer.unref();
    this.sendAll(true); // a joining slot's peers hold it at −∞ until it reports
  }

  /** Stops the periodic reports (`final`: sends the full set once more first). */
  stop(final = false): void {
    if (final && this.timer !== undefined) this.sendAll(true);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A `wm` frame from slot `from`: a member of `from` not declared here is admitted (it joined) once above −∞. */
  received(from: number, reports: readonly AlignmentReport[]): void {
    if (this.early) {
      this.early.push([from, [...reports]]);
      return;
    }
    const own = new Set(this.o.sources.map((s) => alignmentMember(s.name, from)));
    const isPeer = [...this.o.peers()].includes(from);
    this.o.hub.applyRemote(reports, (_group, member, wm) => isPeer && own.has(member) && wm > MIN_WATERMARK);
  }

  /** A data-plane link with a slot that joined is up: it gets this process's full set at once. */
  peerLinked(slot: number): void {
    if (this.timer === undefined) return;
    const reports = this.o.hub.localSnapshot();
    if (reports.length > 0) this.o.send(slot, reports);
  }

  /** Slot `slot` left the job (its links retired): its members hold nothing back here any more. */
  peerLeft(slot: number): void {
    for (const s of this.o.sources) {
      const a = resolveAlignment(s);
      if (a) this.o.hub.remove(a.group, alignmentMember(s.name, slot));
    }
  }

  private sendAll(full: boolean): void {
    const changed = this.o.hub.takeLocalChanges();
    const reports = full ? this.o.hub.localSnapshot() : changed;
    if (reports.length === 0) return;
    for (const s of this.o.peers())
      if (s !== this.o.slot && !this.o.send(s, reports))
        this.o.logger.debug({ to: s }, 'alignment report not sent: link to the slot is down');
  }
}
