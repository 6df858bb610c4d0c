// Watermark alignment groups (Flink's FLIP-182/217): every source slot of an aligned source is
// a member of its group and reports its watermark; a partition whose watermark runs more than
// the source's maxDrift ahead of the group's minimum stops reading until it is not.
//
// One hub per process holds every member of the job, declared up front (all slots, local or
// not): a member that has not reported yet counts as −∞ and holds the group back, so no slot
// races ahead while another is still connecting. Idle and finished members report +∞ (they
// hold nothing back). Members in other processes arrive through `applyRemote` (the slot
// process carries each slot's reports to its peers over the data plane's CONTROL frames);
// `takeLocalChanges` yields what this process's members reported since the last call.
import { MIN_WATERMARK } from '../core/watermark.ts';

/** A member's reported watermark, as it travels between processes. */
export type AlignmentReport = readonly [group: string, member: string, watermark: number];

export class WatermarkAlignment {
  private readonly groups = new Map<string, Map<string, number>>();
  private readonly mins = new Map<string, number>();
  private readonly listeners = new Map<string, (() => void)[]>();
  private readonly local = new Set<string>();
  private changed = new Map<string, AlignmentReport>();

  /** Declares a member (−∞ until it reports); `local` members' reports go to the other processes. */
  declare(group: string, member: string, local: boolean): void {
    let g = this.groups.get(group);
    if (!g) {
      g = new Map();
      this.groups.set(group, g);
    }
    if (!g.has(member)) g.set(member, MIN_WATERMARK);
    if (local) this.local.add(`${group}\u0000${member}`);
    this.mins.set(group, MIN_WATERMARK);
  }

  /** Calls `fn` whenever the group's minimum changes (a slot wakes its paused source); returns what stops it. */
  onChange(group: string, fn: () => void): () => void {
    const l = this.listeners.get(group) ?? [];
    l.push(fn);
    this.listeners.set(group, l);
    return () => {
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0 && this.listeners.get(group) === l) this.listeners.delete(group);
    };
  }

  /**
   * The member leaves its group (its slot left the job: a live rescale drained it); a group with
   * no member left is dropped. The minimum is recomputed without it.
   */
  remove(group: string, member: string): void {
    const g = this.groups.get(group);
    if (!g?.delete(member)) return;
    const key = `${group}\u0000${member}`;
    this.local.delete(key);
    this.changed.delete(key);
    if (g.size > 0) return this.recompute(group, g);
    this.groups.delete(group);
    this.mins.delete(group);
  }

  /** The minimum watermark over the group's members (−∞ while any has not reported). */
  min(group: string): number {
    return this.mins.get(group) ?? MIN_WATERMARK;
  }

  report(group: string, member: string, watermark: number): void {
    const g = this.groups.get(group);
    if (!g || g.get(member) === watermark) return;
    g.set(member, watermark);
    if (this.local.has(`${group}\u0000${member}`))
      this.changed.set(`${group}\u0000${member}`, [group, member, watermark]);
    this.recompute(group, g);
  }

  /**
   * Reports of members in other processes (their latest values). A member not declared here joins
   * its (declared) group with its report when `admit` says so: a slot that joined the job in a live
   * rescale, which the processes running before it never declared (process/alignment-exchange.ts).
   */
  applyRemote(
    reports: readonly AlignmentReport[],
    admit?: (group: string, member: string, watermark: number) => boolean,
  ): void {
    const touched = new Set<string>();
    for (const [group, member, wm] of reports) {
      const g = this.groups.get(group);
      if (!g || this.local.has(`${group}\u0000${member}`) || typeof wm !== 'number') continue;
      if (!g.has(member) && !admit?.(group, member, wm)) continue;
      g.set(member, wm);
      touched.add(group);
    }
    for (const group of touched) this.recompute(group, this.groups.get(group) as Map<string, number>);
  }

  /** Local members' reports since the last call (latest value per member). */
  takeLocalChanges(): AlignmentReport[] {
    if (this.changed.size === 0) return [];
    const out = [...this.changed.values()];
    this.changed = new Map();
    return out;
  }

  /** Every local member's current value (sent to a peer that just linked, or periodically). */
  localSnapshot(): AlignmentReport[] {
    const out: AlignmentReport[] = [];
    for (const [group, g] of this.groups)
      for (const [member, wm] of g) if (this.local.has(`${group}\u0000${member}`)) out.push([group, member, wm]);
    return out;
  }

  get hasGroups(): boolean {
    return this.groups.size > 0;
  }

  private recompute(group: string, g: Map<string, number>): void {
    let min = Number.POSITIVE_INFINITY;
    for (const wm of g.values()) if (wm < min) min = wm;
    if (min === this.mins.get(group)) return;
    this.mins.set(group, min);
    for (const fn of this.listeners.get(group) ?? []) fn();
  }
}
