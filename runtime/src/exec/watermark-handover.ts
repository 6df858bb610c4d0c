// A source's side of a moved partition's watermark in a live rescale (docs/design/live-rescale.md
// §3 item 6). The old owner keeps the partition's watermark as a floor (PartitionWatermarks
// floorPartition); the new owner starts the partition at that watermark and, at the first barrier
// it injects once the partition no longer holds it back (caughtUpWithOutput), reports that
// barrier's id. The old owner idles the floor right after the first barrier it injects with an id
// at or above it: every record of the partition the new owner emitted before the report precedes
// that barrier on the new owner's channels, and the old owner's jump follows it on its own, so
// barrier alignment downstream delivers those records before the jump can make them late.
import type { SourceReaderContext } from '../connectors/api.ts';
import type { PartitionWatermarks } from '../time/partition-watermarks.ts';

export class WatermarkHandover {
  private readonly wms: PartitionWatermarks;
  /** Floors to idle: watermark partition → the least barrier id after which it may. */
  private readonly releases = new Map<number, number>();
  /** Taken partitions not caught up yet: watermark partition → whom to tell. */
  private readonly reports = new Map<number, (barrierId: number) => void>();

  constructor(wms: PartitionWatermarks) {
    this.wms = wms;
  }

  /** The reader context's part (SourceReaderContext floorPartition, reportCaughtUp). */
  readerContext(): Required<Pick<SourceReaderContext, 'floorPartition' | 'reportCaughtUp'>> {
    return {
      floorPartition: (p) => ({ watermark: this.wms.floorPartition(p), releaseAt: (id) => this.releaseAt(p, id) }),
      reportCaughtUp: (p, report) => this.reportCaughtUp(p, report),
    };
  }

  /** The old owner: idle the floor of `p` after the first barrier injected with an id ≥ `barrierId`. */
  releaseAt(p: number, barrierId: number): void {
    const was = this.releases.get(p);
    this.releases.set(p, was === undefined ? barrierId : Math.min(was, barrierId));
  }

  /** The new owner: tell `report` the first barrier injected at which `p` no longer holds this source back. */
  reportCaughtUp(p: number, report: (barrierId: number) => void): void {
    this.reports.set(p, report);
  }

  /** Once this source's barrier `id` is on every channel of its chain (nothing emitted in between). */
  afterBarrier(id: number): void {
    for (const [p, report] of this.reports)
      if (!this.releases.has(p) && this.wms.caughtUpWithOutput(p)) {
        this.reports.delete(p);
        report(id);
      }
    for (const [p, after] of this.releases)
      if (id >= after) {
        this.releases.delete(p);
        this.wms.releaseFloor(p);
        // Moved on (A → B → C) before it caught up here: C caught up at `after`, so A may go too.
        const report = this.reports.get(p);
        this.reports.delete(p);
        report?.(id);
      }
  }
}
