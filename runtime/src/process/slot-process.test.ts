// A slot process opens its sinks (a transactional sink's recovery: commit the restored
// committables, fence) while it still waits for its peers, hands the opened writers to its
// job, and closes them itself when the start fails before the job exists.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetadata } from '../checkpoint/metadata.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../connectors/api.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { TributaryError } from '../errors.ts';
import { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import type { Batch } from '../core/batch.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { SlotProcess, type SlotProcessOptions } from './slot-process.ts';

const MAXP = 128;
const graph = validateGraph({
  sources: [
    {
      name: 'events',
      datagen: { generator: 'schema', seed: 5, rate: 2000, fields: { id: { type: 'sequence' } } },
    },
  ],
  steps: [{ name: 'm', from: 'events', map: { id: 'id' } }],
  sinks: [{ name: 'out', from: 'm', console: {} }],
} satisfies GraphSpec);

/** A transactional test sink that tells when it opened (and with what) and how it was closed. */
class ProbeSink implements SinkWriter {
  ctx: SinkWriterContext | undefined;
  readonly closed: CloseOutcome[] = [];
  readonly opened: Promise<void>;
  private markOpened!: () => void;
  private readonly inner: TransactionalCollectingSink;
  private readonly failOpen: Error | undefined;
  constructor(store: TransactionStore, failOpen?: Error) {
    this.inner = new TransactionalCollectingSink(store);
    this.failOpen = failOpen;
    this.opened = new Promise((r) => (this.markOpened = r));
  }
  get backpressured(): boolean {
    return this.inner.backpressured;
  }
  async open(ctx: SinkWriterContext): Promise<void> {
    this.ctx = ctx;
    this.markOpened();
    if (this.failOpen) throw this.failOpen;
    await this.inner.open(ctx);
  }
  write(b: Batch): void {
    this.inner.write(b);
  }
  preCommit(id: number): Promise<readonly unknown[]> {
    return this.inner.preCommit(id);
  }
  notifyCheckpointComplete(id: number): Promise<void> {
    return this.inner.notifyCheckpointComplete(id);
  }
  close(outcome: CloseOutcome = 'finished'): Promise<void> {
    this.closed.push(outcome);
    return this.inner.close(outcome);
  }
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-slot-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 5 });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A savepoint (stop-with-savepoint) of the graph run locally with 2 slots: its sink records committables. */
async function savepointWithCommittables(stateDir: string): Promise<string> {
  const store = new TransactionStore();
  const job = new JobExecutor(graph, {
    parallelism: 2,
    maxParallelism: MAXP,
    jobName: 'early',
    checkpointing: { stateDir, intervalMs: 0, timeoutMs: 10_000 },
    sinkWriter: () => new TransactionalCollectingSink(store),
  });
  const run = job.run();
  while (job.status().recordsOut < 200) await sleep(10);
  const sp = await job.triggerSavepoint({ stop: true });
  expect((await run).state).toBe('STOPPED');
  return sp.path;
}

function slotOptions(
  o: Partial<SlotProcessOptions> & Pick<SlotProcessOptions, 'slot' | 'discover'>,
): SlotProcessOptions {
  return {
    jobName: 'early',
    graph,
    parallelism: 2,
    maxParallelism: MAXP,
    deploymentId: 'dep-2',
    secret: 'secret-of-the-test-job',
    host: '127.0.0.1',
    dataPort: 0,
    logger: silentLogger(),
    ...o,
  };
}

describe('slot process start', () => {
  it('opens its sinks with the restored committables before its peers are linked, then runs with them', async () => {
    const stateDir = await tempDir();
    const path = await savepointWithCommittables(stateDir);
    const expected = (await readMetadata(path)).sinks['out']?.find((e) => e.slot === 0)?.committables;
    expect(expected?.length).toBeGreaterThan(0);

    const store = new TransactionStore();
    const probes = new Map<number, ProbeSink>();
    const sinkWriter = (_: unknown, slot: number): SinkWriter => {
      const p = new ProbeSink(store);
      probes.set(slot, p);
      return p;
    };
    let release!: (addresses: string[]) => void;
    const peersKnown = new Promise<string[]>((r) => (release = r));
    const common = {
      checkpointing: { stateDir, intervalMs: 0, timeoutMs: 10_000 },
      restoreFrom: path,
      job: { sinkWriter },
    };
    const slot0 = new SlotProcess(slotOptions({ ...common, slot: 0, discover: () => peersKnown }));
    await slot0.listen();
    const run0 = slot0.run();
    run0.catch(() => undefined);
    // Slot 1 does not even exist yet: slot 0's sink opened all the same, with old slot 0's committables.
    await (async () => {
      while (!probes.get(0)) await sleep(5);
    })();
    await probes.get(0)!.opened;
    expect(slot0.jobState).toBe('CREATED');
    expect(probes.get(0)!.ctx?.restoredCommittables).toEqual(expected);

    const slot1 = new SlotProcess(slotOptions({ ...common, slot: 1, discover: () => peersKnown }));
    await slot1.listen();
    const run1 = slot1.run();
    run1.catch(() => undefined);
    release([slot0.address, slot1.address]);
    while (slot0.jobState !== 'RUNNING' || slot1.jobState !== 'RUNNING') await sleep(10);
    slot0.stop();
    slot1.stop();
    expect((await run0).state).toBe('STOPPED');
    expect((await run1).state).toBe('STOPPED');
    // The job closed the writer it was handed, once.
    expect(probes.get(0)!.closed).toEqual(['stopped']);
  }, 30_000);

  it('a restore from another stateDir tells its sinks the restored folder (they fence the ids its run left)', async () => {
    const restoredDir = await tempDir();
    const path = await savepointWithCommittables(restoredDir);
    const store = new TransactionStore();
    const probe = new ProbeSink(store);
    const own = await tempDir();
    const slot = new SlotProcess(
      slotOptions({
        slot: 0,
        discover: () => Promise.resolve([]), // peer 1 never shows up: the start fails once the sink opened
        connectTimeoutMs: 300,
        checkpointing: { stateDir: own, intervalMs: 0 },
        restoreFrom: path,
        job: { sinkWriter: () => probe },
      }),
    );
    const run = slot.run();
    run.catch(() => undefined);
    await probe.opened;
    // Without the restored folder an exactly-once Kafka sink fences only its own stateDir's ids: a transaction
    // the restored run left open on an id this run never uses again blocks read_committed readers.
    // The restored checkpoint too: a recovery commit answered PRODUCER_FENCED checks it (restored-orphan.ts).
    expect(probe.ctx?.checkpointing).toEqual({ stateDir: own, restoredStateDir: restoredDir, restoredFrom: path });
    await expect(run).rejects.toThrow(/peers not linked/);
  });

  it('a sink that fails to open fails the start at once, without waiting for the peers', async () => {
    const store = new TransactionStore();
    const probe = new ProbeSink(store, new TributaryError('TRIB_CONNECTOR_FAILED', 'probe sink cannot open'));
    const slot = new SlotProcess(
      slotOptions({
        slot: 0,
        discover: () => new Promise<string[]>(() => undefined), // peer 1 never shows up
        checkpointing: { stateDir: await tempDir(), intervalMs: 0 },
        job: { sinkWriter: () => probe },
      }),
    );
    await expect(slot.run()).rejects.toThrow('probe sink cannot open');
    expect(slot.jobState).toBe('FAILED');
    expect(probe.closed).toEqual(['failed']);
  });

  it('a start that fails before the job exists closes the sinks it opened (failed: nothing committed or aborted)', async () => {
    const store = new TransactionStore();
    const probe = new ProbeSink(store);
    const slot = new SlotProcess(
      slotOptions({
        slot: 0,
        discover: () => Promise.resolve([]), // peer 1 never shows up: the link times out
        connectTimeoutMs: 300,
        checkpointing: { stateDir: await tempDir(), intervalMs: 0 },
        job: { sinkWriter: () => probe },
      }),
    );
    await expect(slot.run()).rejects.toThrow(/peers not linked/);
    await probe.opened;
    expect(probe.closed).toEqual(['failed']);
  });
});
