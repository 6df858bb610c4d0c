// A source's watermark alignment (source-task.ts): the process's hub, its group, its member.
import type { WatermarkAlignment } from '../time/watermark-alignment.ts';

export interface SourceAlignment {
  hub: WatermarkAlignment;
  group: string;
  /** This slot's member id in the group. */
  member: string;
  driftMs: number;
}
