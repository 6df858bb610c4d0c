// A slot process hands the checkpoint messages of slot 0's coordinator to its process's live migration
// (rescale/migration.ts) before its slot sees them: a trigger waits until the slot's take-overs of
// earlier steps started (afterTakeOvers: else that checkpoint records a partition at no slot), and a
// checkpoint's completion releases the steps bound to it (checkpointCompleted: else they are kept for
// ever). The race that needs the first cannot be forced with real Kafka, so a real SlotProcess gets
// these messages from its data plane's CONTROL handler with a stand-in job.
import { describe, expect, it } from 'vitest';
import type { SlotCheckpointPort, TriggerCheckpoint } from '../checkpoint/messages.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { SlotProcess } from './slot-process.ts';

const graph = validateGraph({
  sources: [{ name: 'events', datagen: { generator: 'schema', seed: 5, fields: { id: { type: 'sequence' } } } }],
  steps: [{ name: 'm', from: 'events', map: { id: 'id' } }],
  sinks: [{ name: 'out', from: 'm', console: {} }],
} satisfies GraphSpec);

/** Slot 1 of 2 whose job is a stand-in recording what its slot and its migration are told. */
function slotWithJob() {
  const log: string[] = [];
  const held: (() => void)[] = [];
  const port: SlotCheckpointPort = {
    trigger: (t) => log.push(`slot trigger ${t.checkpointId}`),
    notifyComplete: (id) => log.push(`slot complete ${id}`),
    notifyAborted: (id) => log.push(`slot aborted ${id}`),
  };
  const migration = {
    bind: (id: number) => log.push(`bind ${id}`),
    afterTakeOvers: (id: number, go: () => void) => {
      log.push(`held ${id}`);
      held.push(go);
    },
    checkpointCompleted: (id: number) => log.push(`migration completed ${id}`),
    receive: () => undefined,
  };
  const sp = new SlotProcess({
    jobName: 'wiring',
    graph,
    slot: 1,
    parallelism: 2,
    deploymentId: 'dep-wiring',
    secret: 'secret-of-the-wiring-test',
    host: '127.0.0.1',
    dataPort: 0,
    discover: () => Promise.resolve([]),
    logger: silentLogger(),
  });
  (sp as unknown as { job: unknown }).job = { migration, slotCheckpointPort: () => port };
  const control = (msg: unknown): void =>
    (sp as unknown as { onCheckpointRpc(from: number, m: unknown): void }).onCheckpointRpc(0, msg);
  return { log, held, control };
}

const trigger = (checkpointId: number, migrationStep?: unknown): TriggerCheckpoint =>
  ({
    checkpointId,
    timestamp: 1,
    kind: 'checkpoint',
    dir: '/nowhere',
    ...(migrationStep ? { migrationStep } : {}),
  }) as TriggerCheckpoint;

describe('slot process: checkpoint messages pass through the live migration', () => {
  it('a trigger reaches the slot only once the migration lets it go (take-overs of earlier steps started)', () => {
    const { log, held, control } = slotWithJob();
    control({ m: 'trigger', trigger: trigger(4, { index: 0, keyGroups: [], partitions: [] }) });
    control({ m: 'trigger', trigger: trigger(5) });
    expect(log).toEqual(['bind 4', 'held 4', 'held 5']);
    held.forEach((go) => go());
    expect(log.slice(3)).toEqual(['slot trigger 4', 'slot trigger 5']);
  });

  it('a checkpoint completion reaches the migration (it releases the steps bound up to it), then the slot', () => {
    const { log, control } = slotWithJob();
    control({ m: 'complete', id: 7 });
    expect(log).toEqual(['migration completed 7', 'slot complete 7']);
  });
});
