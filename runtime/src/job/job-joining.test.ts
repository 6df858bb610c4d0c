// A slot process's executor built to join a running job (JobExecutorOptions.joining, join-across.ts):
// its slot takes an input from every slot and an output to every slot over remote channels (its own
// in memory), its live migration starts from the owner table slot 0 sent, and it has no
// coordinator: it only answers join-wire and acknowledges once admitted. Built, not run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { LocalChannel } from '../exec/channel.ts';
import { JobExecutor } from './job-executor.ts';

const MAXP = 16;
const spec: GraphSpec = {
  sources: [{ name: 'events', kafka: { brokers: ['127.0.0.1:1'], topic: 'in', groupId: 'g' } }],
  steps: [
    { name: 'byKey', from: 'events', keyBy: 'k' },
    { name: 'running', from: 'byKey', aggregate: { n: 'count()' } },
  ],
  sinks: [{ name: 'out', from: 'running', kafka: { brokers: ['127.0.0.1:1'], topic: 'out', key: 'k' } }],
};

describe('a joining slot process builds its slot (JobExecutorOptions.joining)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('every remote input and output of slot 2 at parallelism 3; the migration routes by the owner table', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-joining-'));
    dirs.push(stateDir);
    const owners = Int32Array.from({ length: MAXP }, (_, kg) => kg % 2); // slots 0 and 1 only
    const remote: string[] = [];
    const job = new JobExecutor(validateGraph(spec), {
      parallelism: 3,
      maxParallelism: MAXP,
      slots: [2],
      joining: { owners },
      checkpointing: { stateDir, intervalMs: 0 },
      checkpointTransport: {
        coordinator: { acknowledge: () => undefined, decline: () => undefined, committed: () => undefined },
      },
      migrationTransport: { send: () => undefined },
      joinTransport: { send: () => undefined },
      remoteChannel: (key) => {
        remote.push(`${key.consumer}:${key.from}→${key.to}`);
        return new LocalChannel(4);
      },
    });
    expect(remote.sort()).toEqual(['running:0→2', 'running:1→2', 'running:2→0', 'running:2→1']);
    expect([...(job.migration?.owners() ?? [])]).toEqual([...owners]);
    expect(job.migration?.settledAt(3)).toBe(false);
    expect(job.coordinator).toBeUndefined();
    expect(job.remoteJoin).toBeDefined();
    expect(job.slotCheckpointPort(2)).toBeDefined();
  });
});
