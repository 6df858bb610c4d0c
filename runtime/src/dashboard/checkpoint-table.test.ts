// The job page's checkpoint table lists every completion a slot reports, even when the sampler
// polls less often than checkpoints complete: a job checkpointing every 30 ms, sampled once at
// the end, has each of its last completions in the table, newest first, once each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectingSink } from '../connectors/collection/collecting-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { CheckpointSummary, StatusResponse } from '../control/contract.ts';
import { jobStatusSource } from '../job/job-executor-control.ts';
import { RECENT_COMPLETIONS } from '../checkpoint/completion-history.ts';
import { JobExecutor } from '../job/job-executor.ts';
import { addCheckpoints, reportedCheckpoints } from './checkpoint-table.ts';
import type { DashboardCheckpoint } from './model.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, s)).toISOString();
const ck = (id: number, s: number, kind?: 'checkpoint' | 'savepoint'): CheckpointSummary => ({
  id,
  completedAt: at(s),
  path: `s3://user:secret@bucket/chk-${id}`,
  ...(kind ? { kind } : {}),
});

describe('the checkpoint table', () => {
  it('adds what it lacks, one row per kind and id, newest first, bounded, paths cleaned', () => {
    const table: DashboardCheckpoint[] = [];
    const clean = (p: string) => p.replace('user:secret@', '');
    addCheckpoints(table, [ck(2, 2), ck(1, 1)], 3, clean);
    addCheckpoints(table, [ck(4, 4), ck(3, 3, 'savepoint'), ck(2, 2)], 3, clean);
    expect(table.map((c) => `${c.kind}/${c.id}`)).toEqual(['checkpoint/4', 'savepoint/3', 'checkpoint/2']);
    expect(table.every((c) => !c.path.includes('secret'))).toBe(true);
    // A savepoint and a checkpoint may share an id: both rows stay.
    addCheckpoints(table, [ck(4, 4, 'savepoint')], 5, clean);
    expect(
      table
        .filter((c) => c.id === 4)
        .map((c) => c.kind)
        .sort(),
    ).toEqual(['checkpoint', 'savepoint']);
  });

  it("takes a runtime's last checkpoint when it reports no list", () => {
    const st = { lastCheckpoint: ck(7, 7) } as StatusResponse;
    expect(reportedCheckpoints(st)).toEqual([ck(7, 7)]);
    expect(reportedCheckpoints(undefined)).toEqual([]);
  });

  it('a job checkpointing faster than it is sampled: one sample lists each recent completion', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ck-table-'));
    dirs.push(stateDir);
    const job = new JobExecutor(
      validateGraph({
        sources: [
          {
            name: 'gen',
            datagen: { generator: 'schema', seed: 1, count: 4000, rate: 4000, fields: { id: { type: 'sequence' } } },
          },
        ],
        steps: [],
        sinks: [{ name: 'out', from: 'gen', console: {} }],
      }),
      {
        parallelism: 1,
        checkpointing: { stateDir, intervalMs: 30, timeoutMs: 10_000 },
        sinkWriter: () => new CollectingSink(),
      },
    );
    await job.run();
    const st = jobStatusSource(job, { jobName: 'j', deploymentId: 'd', slot: 0 }).status();
    const reported = st.recentCheckpoints ?? [];
    expect(reported.length).toBe(RECENT_COMPLETIONS);
    const ids = reported.map((c) => c.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(ids[0]).toBe(st.lastCheckpoint?.id);
    const table: DashboardCheckpoint[] = [];
    addCheckpoints(table, reportedCheckpoints(st), 20);
    expect(table.map((c) => c.id)).toEqual(ids);
    expect(table.every((c) => c.durationMs !== undefined && c.path.includes(`chk-${c.id}`))).toBe(true);
  });
});
