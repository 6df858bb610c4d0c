// State storage fails closed on the local filesystem: a folder that cannot be read is an error
// naming it and its errno, never "no checkpoints" (which would start a job from empty state or
// an older checkpoint). EACCES needs a non-root reader: as root the listing runs in a child
// process with the uid of `nobody`, as any other user in this process.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStorage } from '../checkpoint-storage.ts';
import { resolveLatestRestore } from '../../control/restore-latest.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await chmod(d, 0o755).catch(() => undefined);
    await chmod(join(d, 'checkpoints'), 0o755).catch(() => undefined);
    await rm(d, { recursive: true, force: true });
  }
});

async function stateDirWithCheckpoint(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-failclosed-'));
  dirs.push(d);
  await mkdir(join(d, 'checkpoints', 'chk-1'), { recursive: true });
  await writeFile(join(d, 'checkpoints', 'chk-1', '_metadata.json'), '{}');
  return d;
}

const storageModule = resolve(import.meta.dirname, '../checkpoint-storage.ts');
const node = process.execPath;

/** Lists completed checkpoints as `uid` in a child process; its output: {ok, ids} or {code, message}. */
function listAs(uid: number, stateDir: string): { ok?: boolean; ids?: number[]; code?: string; message?: string } {
  const script = `
    const { CheckpointStorage } = await import(${JSON.stringify(storageModule)});
    try {
      const c = await new CheckpointStorage(${JSON.stringify(stateDir)}).completedCheckpoints();
      console.log(JSON.stringify({ ok: true, ids: c.map((x) => x.id) }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }));
    }`;
  const r = spawnSync(node, ['--input-type=module', '-e', script], { uid, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${String(r.status)}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as { code?: string; message?: string };
}

describe('state storage fails closed on a local filesystem', () => {
  it('a checkpoints folder without read permission (EACCES) is an error naming it, not "no checkpoints"', async () => {
    const d = await stateDirWithCheckpoint();
    await chmod(d, 0o755);
    await chmod(join(d, 'checkpoints'), 0o000);
    if (process.getuid?.() === 0) {
      // The readable case first, as the same child: the refusal below is the permission, nothing else.
      await chmod(join(d, 'checkpoints'), 0o755);
      expect(listAs(65534, d)).toEqual({ ok: true, ids: [1] });
      await chmod(join(d, 'checkpoints'), 0o000);
      const r = listAs(65534, d);
      expect(r.code).toBe('TRIB_STATE_STORAGE');
      expect(r.message).toContain(join(d, 'checkpoints'));
      expect(r.message).toContain('EACCES');
    } else {
      const p = new CheckpointStorage(d).completedCheckpoints();
      await expect(p).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
      await expect(p).rejects.toThrow(/EACCES/);
    }
  });

  it('an unreadable state folder (ENOTDIR) stops restoreLatest instead of falling back', async () => {
    const d = await stateDirWithCheckpoint();
    await rm(join(d, 'checkpoints'), { recursive: true });
    await writeFile(join(d, 'checkpoints'), 'not a folder');
    const r = resolveLatestRestore(d, new Date(0).toISOString(), '/elsewhere/sp-1');
    await expect(r).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
    await expect(r).rejects.toThrow(/ENOTDIR/);
    await expect(new CheckpointStorage(d).maxIdUsed()).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
  });

  it('a folder that does not exist yet is "no checkpoints" (a new job)', async () => {
    const d = await stateDirWithCheckpoint();
    expect(await new CheckpointStorage(join(d, 'new-job')).completedCheckpoints()).toEqual([]);
    expect((await new CheckpointStorage(d).completedCheckpoints()).map((c) => c.id)).toEqual([1]);
  });
});
