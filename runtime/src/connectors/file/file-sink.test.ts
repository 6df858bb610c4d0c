// The file sink never erases output: it appends, makes every line before a checkpoint barrier
// durable before the checkpoint completes, and on restore cuts a file with one writer back to the
// length its checkpoint recorded (so what the restored job writes again appears once).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.ts';
import { idBatch } from '../../testing/channel-batches.ts';
import type { SinkWriterContext } from '../api.ts';
import { FileSink, type FileCommittable } from './file-sink.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trib-file-sink-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ctx = (slot: number, parallelism: number, restoredCommittables?: readonly unknown[]): SinkWriterContext => ({
  sinkName: 'out',
  slot,
  parallelism,
  logger: silentLogger(),
  wake: () => undefined,
  ...(restoredCommittables ? { restoredCommittables } : {}),
});

const lines = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const idLines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `{"id":${from + i}}`);

async function sinkWith(path: string, slot: number, p: number, restored?: readonly unknown[]): Promise<FileSink> {
  const s = new FileSink({ path });
  await s.open(ctx(slot, p, restored));
  return s;
}

describe('file sink', () => {
  it('appends to what a file holds (a rerun, a restart without state): nothing is erased', async () => {
    const dir = tempDir();
    const path = join(dir, 'out-{slot}.jsonl');
    writeFileSync(join(dir, 'out-0.jsonl'), '{"earlier":"run"}\n');
    const s = await sinkWith(path, 0, 2);
    s.write(idBatch(0, 2));
    await s.close();
    expect(lines(join(dir, 'out-0.jsonl'))).toEqual(['{"earlier":"run"}', ...idLines(0, 2)]);
  });

  it('at a barrier: the lines before it are in the file; the length recorded is the file as of the barrier', async () => {
    const dir = tempDir();
    const file = join(dir, 'out-1.jsonl');
    writeFileSync(file, '{"earlier":"run"}\n');
    const s = await sinkWith(join(dir, 'out-{slot}.jsonl'), 1, 2);
    s.write(idBatch(0, 500));
    const pre = s.preCommit(3);
    s.write(idBatch(500, 10)); // after the barrier: not part of checkpoint 3
    const committables = (await pre) as FileCommittable[];
    const before = '{"earlier":"run"}\n' + idLines(0, 500).join('\n') + '\n';
    expect(committables).toEqual([{ slot: 1, path: file, bytes: Buffer.byteLength(before) }]);
    expect(readFileSync(file, 'utf8').startsWith(before)).toBe(true);
    await s.close();
  });

  it('restore: a per-slot file is cut back to its checkpointed length, then the replay appends', async () => {
    const dir = tempDir();
    const path = join(dir, 'out-{slot}.jsonl');
    const first = await sinkWith(path, 0, 1);
    first.write(idBatch(0, 3));
    const committables = await first.preCommit(1);
    first.write(idBatch(3, 4)); // after checkpoint 1, then the process dies
    await first.close();
    expect(lines(join(dir, 'out-0.jsonl'))).toHaveLength(7);

    const second = await sinkWith(path, 0, 1, committables);
    second.write(idBatch(3, 4)); // the restored job writes what followed checkpoint 1 again
    await second.close();
    expect(lines(join(dir, 'out-0.jsonl'))).toEqual(idLines(0, 7)); // once each
  });

  it('restore at a lower parallelism: a slot also cuts the files of old slots mapped to it, never another path', async () => {
    const dir = tempDir();
    const path = join(dir, 'out-{slot}.jsonl');
    const committed: unknown[][] = [];
    for (const slot of [0, 1, 2]) {
      const s = await sinkWith(path, slot, 3);
      s.write(idBatch(slot * 100, 2));
      committed.push([...(await s.preCommit(1))]);
      s.write(idBatch(slot * 100 + 2, 3)); // after the checkpoint
      await s.close();
    }
    const moved = join(dir, 'elsewhere-0.jsonl');
    writeFileSync(moved, 'keep\nme\n');
    // p 3 → 2: new slot 0 restores old slots 0 and 2 (s mod 2), plus a committable of a path the graph no longer has.
    const restored = [...(committed[0] ?? []), ...(committed[2] ?? []), { slot: 0, path: moved, bytes: 1 }];
    const s0 = await sinkWith(path, 0, 2, restored);
    await s0.close();
    expect(lines(join(dir, 'out-0.jsonl'))).toEqual(idLines(0, 2));
    expect(lines(join(dir, 'out-2.jsonl'))).toEqual(idLines(200, 2));
    expect(lines(join(dir, 'out-1.jsonl'))).toEqual(idLines(100, 5)); // new slot 1's to cut, not slot 0's
    expect(readFileSync(moved, 'utf8')).toBe('keep\nme\n');
  });

  it('a file the slots of a process share records no length: restores append to it (at-least-once)', async () => {
    const dir = tempDir();
    const path = join(dir, 'shared.jsonl');
    const a = await sinkWith(path, 0, 2);
    const b = await sinkWith(path, 1, 2);
    a.write(idBatch(0, 2));
    b.write(idBatch(10, 2));
    expect(await a.preCommit(1)).toEqual([]);
    expect(await b.preCommit(1)).toEqual([]);
    await a.close();
    await b.close();
    expect(lines(path).sort()).toEqual([...idLines(0, 2), ...idLines(10, 2)].sort());
  });

  it('at parallelism 1 a path without {slot} has one writer: it records and restores its length', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.jsonl');
    const s = await sinkWith(path, 0, 1);
    s.write(idBatch(0, 2));
    const committables = await s.preCommit(1);
    expect(committables).toEqual([{ slot: 0, path, bytes: statSync(path).size }]);
    s.write(idBatch(2, 2));
    await s.close();
    const again = await sinkWith(path, 0, 1, committables);
    await again.close();
    expect(lines(path)).toEqual(idLines(0, 2));
  });

  it('a file shorter than its checkpoint says (changed outside the job) is appended to, not extended', async () => {
    const dir = tempDir();
    const file = join(dir, 'out-0.jsonl');
    writeFileSync(file, 'x\n');
    const s = await sinkWith(join(dir, 'out-{slot}.jsonl'), 0, 1, [{ slot: 0, path: file, bytes: 1000 }]);
    s.write(idBatch(0, 1));
    await s.close();
    expect(readFileSync(file, 'utf8')).toBe('x\n{"id":0}\n');
  });

  it('a path that is not a regular file (/dev/null) records nothing and syncs nothing', async () => {
    expect(existsSync('/dev/null')).toBe(true);
    const s = await sinkWith('/dev/null', 0, 1, [{ slot: 0, path: '/dev/null', bytes: 0 }]);
    s.write(idBatch(0, 3));
    expect(await s.preCommit(1)).toEqual([]);
    await s.close();
  });
});
