// A source's watermark alignment (source-task.ts): the process's hub, its group, its member.
import type { WatermarkAlignment } from '../time/watermark-alignment.ts';

export interface SourceAlignment {
  hub: WatermarkAlignment;
  group: string;
  /** This slot's member id in the group. */
  member: string;
  driftMs: number;
}

/**
 * Wakes the slot (`wake`) whenever the group's minimum changes; the returned function undoes that
 * and takes the member out of its group (a source slot that closes: a drained one must not stay).
 */
export function listenToAlignment(a: SourceAlignment | undefined, wake: () => void): () => void {
  if (!a) return () => undefined;
  const stop = a.hub.onChange(a.group, wake);
  return () => {
    stop();
    a.hub.remove(a.group, a.member);
  };
}
