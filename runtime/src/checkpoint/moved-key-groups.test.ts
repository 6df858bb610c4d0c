// A checkpoint of a slot whose keyed state took key groups in (live rescale:
// docs/design/live-rescale.md) records each state file under the range its snapshot spans, so
// the restore's index check (indexProblem: every section inside the recorded range) accepts it
// and the file restores those key groups.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { canonicalKey, keyGroupRangeForSlot } from '../state/key-groups.ts';
import { extractKeyGroups, installKeyGroups } from '../state/key-group-handoff.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { indexProblem } from '../state/snapshot-index.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { CheckpointAck, CheckpointDecline } from './messages.ts';
import { SlotCheckpointer } from './slot-checkpointer.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('a checkpoint after key groups moved in', () => {
  it('records the snapshot’s own key-group range, which the restore’s index check accepts', async () => {
    // Slot 1 of 2 (maxParallelism 128) holds 64..127 and has taken 60..63 in from slot 0.
    const slot1 = new KeyedStateBackend(128, keyGroupRangeForSlot(1, 2, 128));
    const slot0 = new KeyedStateBackend(128, keyGroupRangeForSlot(0, 2, 128));
    slot1.state('v').put(100, canonicalKey(['a']), 1);
    slot0.state('v').put(61, canonicalKey(['b']), 2);
    installKeyGroups(slot1, extractKeyGroups(slot0, [60, 61, 62, 63], 'slot 0'), 'slot 1');

    const acks: CheckpointAck[] = [];
    const declines: CheckpointDecline[] = [];
    const cp = new SlotCheckpointer({
      slot: 1,
      post: (cb) => cb(),
      coordinator: { acknowledge: (a) => acks.push(a), decline: (d) => declines.push(d) },
      logger: silentLogger(),
      onComplete: () => {},
      onAborted: () => {},
    });
    const task = { done: false, finalSnapshot: () => ({ keyed: [], sources: [], sinks: [], alignmentMs: 0 }) };
    const i = cp.registerTask(task, {
      name: 'source:in',
      injectBarrier: (b) => {
        cp.taskSnapshot(b.id, i, {
          keyed: [{ step: 'agg', bytes: slot1.snapshot() }],
          sources: [],
          sinks: [],
          alignmentMs: 0,
        });
        return true;
      },
    });
    const dir = await mkdtemp(join(tmpdir(), 'moved-kg-'));
    dirs.push(dir);
    cp.trigger({ checkpointId: 1, timestamp: 0, kind: 'checkpoint', stop: false, dir });
    await vi.waitFor(() => expect(acks.length + declines.length).toBe(1));
    expect(declines).toEqual([]);
    const h = acks[0]?.operators['agg'];
    expect(h?.keyGroupRange).toEqual({ start: 60, end: 127 });
    expect(indexProblem(h?.index, h?.size ?? 0, h?.keyGroupRange ?? { start: 0, end: -1 })).toBeUndefined();

    const restored = new KeyedStateBackend(128, { start: 0, end: 127 });
    restored.state('v');
    restored.restore([await readFile(join(dir, h?.file ?? ''))]);
    expect([...restored.state('v').entries()]).toEqual([
      [61, canonicalKey(['b']), 2],
      [100, canonicalKey(['a']), 1],
    ]);
  });
});
