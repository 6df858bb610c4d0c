// Late records are counted per step and outcome — sent to a window's lateOutput, dropped, or
// (dedupe) decided at once — and the counts equal what the test computes from its seeded
// input: a watermark after every record (max timestamp so far − bound − 1), as in Flink.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { CollectingSink, type Emitted } from '../testing/harness.ts';
import { seededRandom, type Ev } from '../testing/event-time-reference.ts';
import { JobExecutor } from '../job/job-executor.ts';

const BOUND = 1000;
const SIZE = 10_000;
const LATENESS = 2000;
const GAP = 100;

/** 6,000 events 10 ms apart, displaced by up to 800 ms, plus 40 events 30 s behind the stream. */
function events(): Ev[] {
  const rnd = seededRandom(11);
  const out: Ev[] = [];
  for (let i = 0; i < 6000; i++) {
    out.push({ id: i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 + Math.floor(rnd() * 800) });
    if (i % 150 === 149) out.push({ id: 10_000 + i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 - 30_000 });
  }
  return out;
}

/** Records for which `late(ts, watermark)` holds against the watermark as of the records before them. */
function countLate(evs: readonly Ev[], late: (ts: number, wm: number) => boolean): number {
  let max = Number.NEGATIVE_INFINITY;
  let n = 0;
  for (const e of evs) {
    if (late(e.ts, max - BOUND - 1)) n++;
    max = Math.max(max, e.ts);
  }
  return n;
}

const tumblingLate = (lateness: number) => (ts: number, wm: number) => ts - (ts % SIZE) + SIZE - 1 + lateness <= wm;
// A record's own session [ts, ts + gap): the late events are 30 s behind, and no key's session
// lasts anywhere near that long (its records are ~50 ms apart, displaced by up to 800 ms), so
// none lands in a session still held and the merged session is the record's own.
const sessionLate = (ts: number, wm: number) => ts + GAP - 1 + LATENESS <= wm;

async function run(withLateOutput: boolean): Promise<{ metrics: JobMetrics; out: Map<string, Emitted[]> }> {
  const env = new StreamEnvironment();
  const src = env.fromCollection(events() as unknown as Record<string, unknown>[], {
    name: 'events',
    timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND}ms`, alignment: { maxDrift: '5s' } },
  });
  const byK = src.keyBy('k', 'by-k');
  const late = (name: string) => (withLateOutput ? { lateOutput: name } : {});
  const tumble = byK.window(
    { tumbling: { size: `${SIZE}ms` }, allowedLateness: `${LATENESS}ms`, ...late('tumble-late') },
    'tumble',
  );
  tumble.aggregate({ n: 'count()' }, 'tumble-n').toConsole('tumble-out');
  const session = byK.window(
    { session: { gap: `${GAP}ms` }, allowedLateness: `${LATENESS}ms`, ...late('session-late') },
    'session',
  );
  session.aggregate({ n: 'count()' }, 'session-n').toConsole('session-out');
  if (withLateOutput) {
    tumble.lateRecords().toConsole('tumble-late-out');
    session.lateRecords().toConsole('session-late-out');
  }
  byK
    .window({ tumbling: { size: `${SIZE}ms` } })
    .aggregate({ create: () => 0, add: (a: number) => a + 1, result: (a: number) => ({ n: a }) }, 'fwin')
    .toConsole('fwin-out');
  byK.dedupe('1s', 'dd').toConsole('dd-out');
  byK.intervalJoin(src.keyBy('k', 'by-k2'), { lowerBound: '0ms', upperBound: '0ms' }, 'jn').toConsole('jn-out');
  const graph = validateGraph(env.toGraph());
  const metrics = new JobMetrics();
  const out = new Map<string, Emitted[]>(graph.spec.sinks.map((s) => [s.name, []]));
  await new JobExecutor(graph, {
    parallelism: 2,
    batchSize: 64,
    metrics,
    functions: env.functions,
    sinkWriter: (spec) => new CollectingSink(out.get(spec.name)),
  }).run();
  return { metrics, out };
}

async function counts(metrics: JobMetrics): Promise<Record<string, number>> {
  const got: Record<string, number> = {};
  for (const v of (await metrics.lateRecords.get()).values)
    got[`${String(v.labels.step)}/${String(v.labels.outcome)}`] = v.value;
  for (const v of (await metrics.lateRecordsDropped.get()).values)
    got[`${String(v.labels.step)}/dropped_total`] = v.value;
  return got;
}

describe('late records per step', () => {
  const evs = events();
  const tumbling = countLate(evs, tumblingLate(LATENESS));
  const sessions = countLate(evs, sessionLate);
  const functionWindows = countLate(evs, tumblingLate(0)); // this function window sets no allowed lateness
  const joined = countLate(evs, (ts, wm) => ts < wm);
  const dedupe = countLate(evs, (ts, wm) => ts <= wm);

  it('the input has late records for every step (the minute-late ones), and only those', () => {
    for (const n of [tumbling, sessions, functionWindows, joined, dedupe]) expect(n).toBe(40);
  });

  it('are counted as sent when the window has a lateOutput, and the late outputs hold them', async () => {
    const { metrics, out } = await run(true);
    expect(await counts(metrics)).toEqual({
      'tumble/sent': tumbling,
      'session/sent': sessions,
      'fwin/dropped': functionWindows,
      'fwin/dropped_total': functionWindows,
      // Both inputs of the join read every event: each late one is dropped on either side.
      'jn/dropped': 2 * joined,
      'jn/dropped_total': 2 * joined,
      'dd/decided': dedupe,
    });
    expect(out.get('tumble-late-out')).toHaveLength(tumbling);
    expect(out.get('session-late-out')).toHaveLength(sessions);
  }, 60_000);

  it('are counted as dropped without a lateOutput, in both counters', async () => {
    const { metrics } = await run(false);
    expect(await counts(metrics)).toEqual({
      'tumble/dropped': tumbling,
      'tumble/dropped_total': tumbling,
      'session/dropped': sessions,
      'session/dropped_total': sessions,
      'fwin/dropped': functionWindows,
      'fwin/dropped_total': functionWindows,
      'jn/dropped': 2 * joined,
      'jn/dropped_total': 2 * joined,
      'dd/decided': dedupe,
    });
  }, 60_000);
});
