// Commit barriers through a real executor (job-commit-barriers.ts): two slots on one thread,
// datagen → keyBy → map → sink, so each slot's sink receives records of both slots' sources
// through the hash exchange. The sinks acknowledge what they were written only when their
// pre-commit settles, slot 1's much later than slot 0's. Every position a source is asked to
// commit at a barrier must cover only records that both sinks acknowledged by then; the last
// commit (the clean end) covers all. The source's commit is observed by giving the datagen
// reader a commitPosition (a Kafka source's own is exercised against the broker:
// connectors/kafka/commit-barriers.chaos.int.test.ts).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkWriter, SourceReader } from '../connectors/api.ts';
import { DatagenSource } from '../connectors/datagen/datagen-source.ts';
import type { IndexPosition } from '../connectors/index-position.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { Batch } from '../core/batch.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { JobExecutor } from '../job/job-executor.ts';

const COUNT = 1500;

function spec(steps: GraphSpec['steps'] = [{ name: 'm', from: 'k', map: { id: 'id' } }]): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: { generator: 'schema', seed: 1, count: COUNT, rate: 3000, fields: { id: { type: 'sequence' } } },
      },
    ],
    steps: [{ name: 'k', from: 'events', keyBy: 'id' }, ...(steps ?? [])],
    sinks: [{ name: 'out', from: steps?.at(-1)?.name ?? 'k', console: {} }],
  };
}

/** Acknowledges the ids written before a barrier only when its pre-commit resolves, `delayMs` later. */
class AckingSink implements SinkWriter {
  readonly backpressured = false;
  private written: number[] = [];
  private readonly all: number[] = [];
  private readonly acked: Set<number>;
  private readonly delayMs: number;
  constructor(acked: Set<number>, delayMs: number) {
    this.acked = acked;
    this.delayMs = delayMs;
  }
  open(): Promise<void> {
    return Promise.resolve();
  }
  write(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.written.push(Number((b.recs[i] as { id: unknown }).id));
    for (let i = 0; i < b.n; i++) this.all.push(Number((b.recs[i] as { id: unknown }).id));
  }
  preCommit(): Promise<readonly unknown[]> {
    const before = this.written;
    this.written = [];
    return new Promise((r) =>
      setTimeout(() => {
        for (const id of before) this.acked.add(id);
        r([]);
      }, this.delayMs),
    );
  }
  /** Flushes everything written, a pre-commit still under way included. */
  close(): Promise<void> {
    for (const id of this.all) this.acked.add(id);
    return Promise.resolve();
  }
}

type Commit = { position: IndexPosition; barrier: number | undefined; uncovered: number };

/** Gives the datagen reader a commitPosition that records, per call, how many ids below its position no sink acked. */
function observeCommits(acked: Set<number>): Commit[] {
  const commits: Commit[] = [];
  (DatagenSource.prototype as SourceReader).commitPosition = (position: unknown, barrier?: number) => {
    const p = position as IndexPosition;
    let uncovered = 0;
    for (let i = p.slot; i < p.next; i += p.parallelism) if (!acked.has(i)) uncovered++;
    commits.push({ position: p, barrier, uncovered });
    return Promise.resolve();
  };
  return commits;
}

afterEach(() => {
  delete (DatagenSource.prototype as SourceReader).commitPosition;
});

describe('commit barriers in the executor', () => {
  it('commits at each barrier only what every sink acknowledged, and everything at the clean end', async () => {
    const acked = new Set<number>();
    const commits = observeCommits(acked);
    const job = new JobExecutor(validateGraph(spec()), {
      parallelism: 2,
      batchSize: 16,
      offsetCommitIntervalMs: 40,
      sinkWriter: (_, slot) => new AckingSink(acked, slot === 0 ? 1 : 60),
    });
    expect((await job.run()).state).toBe('FINISHED');
    const atBarriers = commits.filter((c) => c.barrier !== undefined);
    expect(atBarriers.length, 'commits at barriers').toBeGreaterThan(0);
    expect(atBarriers.filter((c) => c.uncovered > 0)).toEqual([]);
    expect(
      atBarriers.some((c) => c.position.next > 2),
      'a barrier committed records',
    ).toBe(true);
    for (const slot of [0, 1]) {
      const mine = commits.filter((c) => c.position.slot === slot).map((c) => c.position.next);
      expect(mine, `slot ${slot}'s commits move forward`).toEqual([...mine].sort((a, b) => a - b));
      expect(mine.at(-1)).toBe(COUNT + slot);
    }
    expect(acked.size).toBe(COUNT);
  });

  it('a job with operator state commits at its clean end only (a crash would lose that state)', async () => {
    const acked = new Set<number>();
    const commits = observeCommits(acked);
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    const job = new JobExecutor(validateGraph(spec([{ name: 'd', from: 'k', dedupe: { within: '1h' } }])), {
      parallelism: 1,
      logger,
      batchSize: 16,
      offsetCommitIntervalMs: 20,
      sinkWriter: () => new AckingSink(acked, 1),
    });
    expect((await job.run()).state).toBe('FINISHED');
    expect(commits.map((c) => c.barrier)).toEqual([undefined]);
    expect(logs.join('')).toContain('no periodic offset commits');
    expect(logs.join('')).not.toContain('behind a commit barrier');
  });
});
