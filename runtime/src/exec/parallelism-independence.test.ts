// Event time that does not depend on parallelism: a seeded input (disorder within the bound,
// plus records a minute behind the stream) run at p1, p2 and p4 gives the same late output,
// the same final window results and the same dedupe output, each equal to an event-time
// reference computed here. The collection and file sources deal records to slots by position
// (slot s reads s, s+p, …), so without watermark alignment one slot runs ahead of another by
// whole polls of event time and records land on either side of lateness depending on p. The
// sources set no `alignment`: the default (on, maxDrift 20s) is what makes this hold.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { sortedJson, type Emitted } from '../testing/harness.ts';
import {
  dedupeReference,
  finalWindows,
  seededRandom,
  windowReference,
  type Ev,
} from '../testing/event-time-reference.ts';

const BOUND = 2000;
const SIZE = 10_000;
const LATENESS = 5000;
const WITHIN = 30_000;
const N = 30_000;

/** N events 10 ms apart displaced by up to 1.5 s, plus one event every 1,000 that is 60 s behind. */
function events(): Ev[] {
  const rnd = seededRandom(7);
  const out: Ev[] = [];
  for (let i = 0; i < N; i++) {
    out.push({ id: i, k: `k${i % 50}`, ts: 1_700_000_000_000 + i * 10 + Math.floor(rnd() * 1500) });
    if (i % 1000 === 999) out.push({ id: 1_000_000 + i, k: `k${i % 50}`, ts: 1_700_000_000_000 + i * 10 - 60_000 });
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'trib-p-indep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kind = 'collection' | 'file';

/** The events as a source of `kind`: in-line, or one JSON line each in a file. */
function source(env: StreamEnvironment, kind: Kind, evs: readonly Ev[], name: string) {
  const timestamp = { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND}ms` } as const;
  if (kind === 'collection')
    return env.fromCollection(evs as unknown as Record<string, unknown>[], { name, timestamp });
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, evs.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return env.fromFile({ path, format: 'json' }, { name, timestamp });
}

async function run(kind: Kind, evs: readonly Ev[], parallelism: number): Promise<Map<string, Emitted[]>> {
  const env = new StreamEnvironment();
  const src = source(env, kind, evs, 'events');
  const w = src
    .keyBy('k')
    .window({ tumbling: { size: `${SIZE}ms` }, allowedLateness: `${LATENESS}ms`, lateOutput: 'late' });
  w.aggregate({ n: 'count()' }, 'counts').toConsole('windows');
  w.lateRecords().toConsole('late-out');
  // Dedupe on the input without the minute-late events (a late record is decided on arrival).
  source(
    env,
    kind,
    evs.filter((e) => e.id < N),
    'on-time',
  )
    .keyBy('k')
    .dedupe(`${WITHIN}ms`, 'first')
    .toConsole('deduped');
  return env.executeAndCollect({ parallelism, batchSize: 1024 });
}

describe('event time at every parallelism (default watermark alignment)', () => {
  it.each<Kind>(['collection', 'file'])(
    '%s source: the same late output, window results and dedupe output at p1, p2 and p4, equal to the reference',
    async (kind) => {
      const evs = events();
      const ref = windowReference(evs, { size: SIZE, lateness: LATENESS, bound: BOUND });
      const dedupe = dedupeReference(
        evs.filter((e) => e.id < N),
        WITHIN,
      );
      expect(ref.late.length).toBe(N / 1000); // every minute-late event, far beyond bound + lateness
      for (const p of [1, 2, 4]) {
        const got = await run(kind, evs, p);
        expect(sortedJson((got.get('late-out') as Emitted[]).map((e) => e.rec)), `p${p} late`).toEqual(ref.late);
        expect(finalWindows(got.get('windows') as Emitted[]), `p${p} windows`).toEqual(ref.windows);
        const passed = sortedJson((got.get('deduped') as Emitted[]).map((e) => e.rec));
        expect(passed, `p${p} dedupe`).toEqual(dedupe);
      }
    },
    120_000,
  );
});
