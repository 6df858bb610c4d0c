// A job's sampled history for the dashboard: a sampler (the operator's, or `tributary run --ui`)
// hands it every slot's cumulative counters once per interval; it keeps rates, lags and
// checkpoints in a ring buffer of `capacity` points and the newest interval's per-node rates.
//
// Memory per job, bounded and independent of run time: the ring holds (5 + S) Float64Arrays of
// `capacity` numbers (time, input rate, output rate, checkpoint duration, checkpoint size, and one
// lag column per source, S ≤ `maxSources`): (5 + S) × 8 × capacity bytes. The default 360 points
// (30 min at 5 s) are 14,400 B plus 2,880 B per source. Beside it: the previous counters of each
// slot (one NodeLoad-sized entry per node and slot) and the newest rate per node, with a stateful
// step's keyed state of the newest sample (one entry per slot: gauges, no history).
//
// Invariants:
// - a rate is the difference of two cumulative counters of the same slot process over the
//   difference of their clocks (SlotLoad.uptimeMs when the slot reports it, else sample time);
// - a counter or clock that went down means the slot restarted: that slot starts a new
//   interval and contributes nothing to this one; no rate is ever negative;
// - a slot is keyed by (incarnation, slot): a new deployment never differentiates against the
//   old one's counters; a slot missing from `staleAfter` samples in a row is forgotten.
import type { NodeLoad, StatusResponse } from '../control/contract.ts';
import type { DashboardNode, DashboardSeries, DashboardSlotState, DashboardStateFigures } from './model.ts';
import { TributaryError } from '../errors.ts';

export interface SlotSample {
  readonly slot: number;
  /** What distinguishes one run of the slots from another (the deploymentId); absent = one run. */
  readonly incarnation?: string;
  /** The slot's own clock (SlotLoad.uptimeMs); absent = the sample's time is used. */
  readonly uptimeMs?: number;
  /** Records the slot's sources read / its sinks wrote, cumulative. */
  readonly recordsIn?: number;
  readonly recordsOut?: number;
  /** Slot-wide busy ms per resource (SlotLoad.busyMs; the busy share is the largest ratio) and backpressured ms. */
  readonly busyMs?: Readonly<Record<string, number>>;
  readonly backpressuredMs?: number;
  readonly nodes?: readonly NodeLoad[];
  /** Records behind per source of this slot (a gauge). */
  readonly lag?: Readonly<Record<string, number>>;
}

export interface JobSample {
  /** Epoch ms of the sample. */
  readonly at: number;
  readonly slots: readonly SlotSample[];
  /** The newest completed checkpoint the job reports; a new id adds its duration and size to this interval. */
  readonly checkpoint?: { readonly id: number; readonly durationMs?: number; readonly bytes?: number };
}

/** A node's numbers of the newest interval (busyScope `slot`: the slot's shares, no per-node timing). */
export type NodeRates = Omit<DashboardNode, 'id' | 'role' | 'kind'>;

export interface SeriesStoreOptions {
  readonly intervalSeconds: number;
  /** Points kept per series (default 360). */
  readonly capacity?: number;
  /** Lag columns kept at most; sources beyond it are summed into the job's lag only (default 32). */
  readonly maxSources?: number;
  /** Samples a slot may be missing from before its counters are forgotten (default 3). */
  readonly staleAfter?: number;
}

export const DEFAULT_SERIES_CAPACITY = 360;

interface SlotMemory {
  clock: number;
  sample: SlotSample;
  missed: number;
}

interface NodeAcc {
  inRate?: number;
  outRate?: number;
  busy?: number;
  backpressured?: number;
  watermarkLagMs?: number;
  busyScope?: 'node' | 'slot';
  keyedState?: Mutable<DashboardStateFigures> & { slots: DashboardSlotState[] };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class SeriesStore {
  readonly capacity: number;
  readonly intervalSeconds: number;
  private readonly maxSources: number;
  private readonly staleAfter: number;
  private readonly t: Float64Array;
  private readonly input: Float64Array;
  private readonly output: Float64Array;
  private readonly ckDuration: Float64Array;
  private readonly ckBytes: Float64Array;
  private readonly lag = new Map<string, Float64Array>();
  /** Index the next point goes to, and points held. */
  private head = 0;
  private count = 0;
  private slots = new Map<string, SlotMemory>();
  private lastCheckpointId: number | undefined;
  private nodes = new Map<string, NodeRates>();
  private latestLag: number | undefined;

  constructor(options: SeriesStoreOptions) {
    const capacity = options.capacity ?? DEFAULT_SERIES_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 100_000)
      throw new TributaryError(
        'TRIB_DASHBOARD_CONFIG',
        `series capacity must be an integer in [2, 100000]: ${capacity}`,
      );
    if (!(options.intervalSeconds > 0))
      throw new TributaryError(
        'TRIB_DASHBOARD_CONFIG',
        `series intervalSeconds must be > 0: ${options.intervalSeconds}`,
      );
    this.capacity = capacity;
    this.intervalSeconds = options.intervalSeconds;
    this.maxSources = options.maxSources ?? 32;
    this.staleAfter = options.staleAfter ?? 3;
    this.t = new Float64Array(capacity);
    this.input = new Float64Array(capacity);
    this.output = new Float64Array(capacity);
    this.ckDuration = new Float64Array(capacity);
    this.ckBytes = new Float64Array(capacity);
  }

  /** Bytes the ring holds now (the bound stated in the header). */
  ringBytes(): number {
    return (5 + this.lag.size) * 8 * this.capacity;
  }

  record(sample: JobSample): void {
    let inputRate: number | undefined;
    let outputRate: number | undefined;
    const nodes = new Map<string, NodeAcc>();
    const lagBySource = new Map<string, number>();
    const seen = new Map<string, SlotMemory>();
    for (const slot of sample.slots) {
      const key = `${slot.incarnation ?? ''}/${slot.slot}`;
      const clock = slot.uptimeMs ?? sample.at;
      const prev = this.slots.get(key);
      seen.set(key, { clock, sample: slot, missed: 0 });
      for (const [source, lag] of Object.entries(slot.lag ?? {}))
        lagBySource.set(source, (lagBySource.get(source) ?? 0) + lag);
      addGauges(nodes, slot, sample.at);
      if (prev === undefined || !(clock > prev.clock)) continue;
      const dtMs = clock - prev.clock;
      const rate = (now: number | undefined, before: number | undefined): number | undefined =>
        now === undefined || before === undefined || now < before ? undefined : ((now - before) * 1000) / dtMs;
      const share = (now: number | undefined, before: number | undefined): number | undefined =>
        now === undefined || before === undefined || now < before ? undefined : Math.min(1, (now - before) / dtMs);
      const inR = rate(slot.recordsIn, prev.sample.recordsIn);
      if (inR !== undefined) inputRate = (inputRate ?? 0) + inR;
      const outR = rate(slot.recordsOut, prev.sample.recordsOut);
      if (outR !== undefined) outputRate = (outputRate ?? 0) + outR;
      let slotBusy: number | undefined;
      for (const [resource, ms] of Object.entries(slot.busyMs ?? {})) {
        const r = share(ms, prev.sample.busyMs?.[resource]);
        if (r !== undefined) slotBusy = Math.max(slotBusy ?? 0, r);
      }
      const slotBp = share(slot.backpressuredMs, prev.sample.backpressuredMs);
      const before = new Map((prev.sample.nodes ?? []).map((n) => [n.node, n]));
      for (const n of slot.nodes ?? []) {
        const b = before.get(n.node);
        if (b === undefined) continue;
        const acc = nodeAcc(nodes, n.node);
        const ni = rate(n.recordsIn, b.recordsIn);
        if (ni !== undefined) acc.inRate = (acc.inRate ?? 0) + ni;
        const no = rate(n.recordsOut, b.recordsOut);
        if (no !== undefined) acc.outRate = (acc.outRate ?? 0) + no;
        const own = n.busyMs !== undefined;
        const busy = own ? share(n.busyMs, b.busyMs) : slotBusy;
        const bp = n.backpressuredMs !== undefined ? share(n.backpressuredMs, b.backpressuredMs) : slotBp;
        if (busy !== undefined) acc.busy = Math.max(acc.busy ?? 0, busy);
        if (bp !== undefined) acc.backpressured = Math.max(acc.backpressured ?? 0, bp);
        if (!own && busy !== undefined) acc.busyScope = 'slot';
      }
    }
    for (const [key, memory] of this.slots) {
      if (seen.has(key) || memory.missed + 1 >= this.staleAfter) continue;
      seen.set(key, { ...memory, missed: memory.missed + 1 });
    }
    this.slots = seen;
    this.nodes = new Map([...nodes].map(([id, acc]) => [id, acc as NodeRates]));
    this.latestLag = lagBySource.size === 0 ? undefined : [...lagBySource.values()].reduce((a, b) => a + b, 0);

    const ck = sample.checkpoint;
    const newCheckpoint = ck !== undefined && this.lastCheckpointId !== undefined && ck.id !== this.lastCheckpointId;
    // The first sample's checkpoint may have completed long before: it sets the baseline only.
    if (ck !== undefined) this.lastCheckpointId = ck.id;
    const i = this.head;
    this.t[i] = sample.at;
    this.input[i] = inputRate ?? NaN;
    this.output[i] = outputRate ?? NaN;
    this.ckDuration[i] = newCheckpoint ? (ck.durationMs ?? NaN) : NaN;
    this.ckBytes[i] = newCheckpoint ? (ck.bytes ?? NaN) : NaN;
    for (const column of this.lag.values()) column[i] = NaN;
    for (const [source, lag] of lagBySource) {
      let column = this.lag.get(source);
      if (column === undefined) {
        if (this.lag.size >= this.maxSources) continue;
        column = new Float64Array(this.capacity).fill(NaN);
        this.lag.set(source, column);
      }
      column[i] = lag;
    }
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest interval's numbers per node (absent: no two samples of it yet). */
  nodeRates(): ReadonlyMap<string, NodeRates> {
    return this.nodes;
  }

  /** The newest point's job-level numbers. */
  latest(): { inputRate?: number; outputRate?: number; lag?: number } {
    if (this.count === 0) return {};
    const i = (this.head - 1 + this.capacity) % this.capacity;
    return {
      ...(Number.isNaN(this.input[i]) ? {} : { inputRate: this.input[i] }),
      ...(Number.isNaN(this.output[i]) ? {} : { outputRate: this.output[i] }),
      ...(this.latestLag === undefined ? {} : { lag: this.latestLag }),
    };
  }

  series(): DashboardSeries {
    const start = (this.head - this.count + this.capacity) % this.capacity;
    const read = (column: Float64Array): (number | null)[] => {
      const out: (number | null)[] = [];
      for (let k = 0; k < this.count; k++) {
        const v = column[(start + k) % this.capacity] ?? NaN;
        // Thousandths are more than a chart shows, and halve the JSON a poll carries.
        out.push(Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
      }
      return out;
    };
    const lag: Record<string, (number | null)[]> = {};
    for (const [source, column] of this.lag) lag[source] = read(column);
    return {
      intervalSeconds: this.intervalSeconds,
      capacity: this.capacity,
      t: read(this.t) as number[],
      inputRate: read(this.input),
      outputRate: read(this.output),
      lag,
      checkpointDurationMs: read(this.ckDuration),
      checkpointBytes: read(this.ckBytes),
    };
  }
}

/**
 * What a slot's answer says now, whatever the interval (no previous answer needed): each node's
 * watermark lag (the largest over slots) and a stateful step's keyed state (summed, and per slot).
 */
function addGauges(nodes: Map<string, NodeAcc>, slot: SlotSample, at: number): void {
  for (const n of slot.nodes ?? []) {
    if (n.watermarkMs !== undefined) {
      const acc = nodeAcc(nodes, n.node);
      acc.watermarkLagMs = Math.max(acc.watermarkLagMs ?? 0, Math.max(0, at - n.watermarkMs));
    }
    const st = n.keyedState;
    if (st === undefined) continue;
    const acc = nodeAcc(nodes, n.node);
    const sum = (acc.keyedState ??= { backend: st.backend, keys: 0, slots: [] });
    if (st.backend === 'disk') sum.backend = 'disk';
    sum.keys += st.keys;
    for (const field of ['fullSnapshotBytes', 'deltaBytes', 'localBytes', 'cachedEntries'] as const) {
      const v = st[field];
      if (v !== undefined) sum[field] = (sum[field] ?? 0) + v;
    }
    // Only the fields the runtime reports: a newer runtime's unknown ones stay out of the answer.
    sum.slots.push({ slot: slot.slot, ...stateFigures(st) });
    sum.slots.sort((a, b) => a.slot - b.slot);
  }
}

function stateFigures(st: DashboardStateFigures): DashboardStateFigures {
  const { backend, keys, fullSnapshotBytes, deltaBytes, localBytes, cachedEntries } = st;
  return {
    backend,
    keys,
    ...(fullSnapshotBytes === undefined ? {} : { fullSnapshotBytes }),
    ...(deltaBytes === undefined ? {} : { deltaBytes }),
    ...(localBytes === undefined ? {} : { localBytes }),
    ...(cachedEntries === undefined ? {} : { cachedEntries }),
  };
}

function nodeAcc(nodes: Map<string, NodeAcc>, id: string): NodeAcc {
  let acc = nodes.get(id);
  if (acc === undefined) {
    acc = {};
    nodes.set(id, acc);
  }
  return acc;
}

/** A slot's /v1/status answer as a sample (what both samplers poll). */
export function slotSampleFromStatus(status: StatusResponse): SlotSample {
  const load = status.load;
  const lag: Record<string, number> = {};
  for (const s of load?.sources ?? []) lag[s.source] = (lag[s.source] ?? 0) + s.lag;
  return {
    slot: status.slot,
    incarnation: status.deploymentId,
    ...(load === undefined
      ? {}
      : { uptimeMs: load.uptimeMs, backpressuredMs: load.backpressuredMs, busyMs: load.busyMs }),
    ...(status.recordsIn === undefined ? {} : { recordsIn: status.recordsIn }),
    ...(status.recordsOut === undefined ? {} : { recordsOut: status.recordsOut }),
    ...(status.nodes === undefined ? {} : { nodes: status.nodes }),
    ...(load === undefined || load.sources.length === 0 ? {} : { lag }),
  };
}
