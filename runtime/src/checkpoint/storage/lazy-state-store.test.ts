// The S3 store is loaded on first use: a job whose state is on a filesystem never loads the AWS
// SDK (checked in a child process, whose module loads are its own), and the lazy store hands
// every call to the store it loads, loading it once and retrying a load that failed.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsStateStore } from './fs-state-store.ts';
import { LazyStateStore } from './lazy-state-store.ts';

const root = join(import.meta.dirname, '../../../..');
const node = join(root, 'node_modules/.bin/node');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('LazyStateStore', () => {
  it('loads its store once, on the first call, and hands it every call', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trib-lazy-store-'));
    dirs.push(dir);
    let loads = 0;
    const store = new LazyStateStore(async () => {
      loads++;
      return new FsStateStore();
    });
    expect(loads).toBe(0);
    const file = join(dir, 'a.bin');
    await store.write(file, Buffer.from('hello'));
    expect(Buffer.from((await store.read(file)) ?? [])).toEqual(Buffer.from('hello'));
    const range = await store.readRange(file, 1, 3);
    expect(Buffer.from(range?.bytes ?? []).toString()).toBe('ell');
    expect(range?.size).toBe(5);
    expect(await store.exists(file)).toBe(true);
    expect(await store.list(dir)).toEqual(['a.bin']);
    await store.commit(join(dir, 'b.bin'), Buffer.from('committed'));
    expect(Buffer.from((await store.read(join(dir, 'b.bin'))) ?? []).toString()).toBe('committed');
    await store.remove(file);
    expect(await store.exists(file)).toBe(false);
    await store.removeTree(dir);
    expect(await store.list(dir)).toEqual([]);
    expect(loads).toBe(1);
  });

  it('a failed load fails the call and is tried again on the next call', async () => {
    let loads = 0;
    const store = new LazyStateStore(async () => {
      loads++;
      if (loads === 1) throw new Error('cannot load the S3 client');
      return new FsStateStore();
    });
    await expect(store.exists('/nonexistent/trib')).rejects.toThrow('cannot load the S3 client');
    expect(await store.exists('/nonexistent/trib')).toBe(false);
    expect(loads).toBe(2);
  });
});

describe('start-up without S3', () => {
  it('loading the slot entrypoint and using filesystem state loads no AWS SDK module', () => {
    const probe = `
      import { registerHooks } from 'node:module';
      const aws = [];
      registerHooks({ load(url, ctx, next) { if (url.includes('@aws-sdk')) aws.push(url); return next(url, ctx); } });
      await import(${JSON.stringify(join(root, 'runtime/src/slot-main.ts'))});
      const { stateStoreFor } = await import(${JSON.stringify(join(root, 'runtime/src/checkpoint/storage/state-store-for.ts'))});
      await stateStoreFor('/tmp').exists('/tmp');
      const before = aws.length;
      // The probe sees the SDK when something does load it (no S3 call: nothing leaves the machine).
      await import(${JSON.stringify(join(root, 'runtime/src/checkpoint/storage/s3-state-store.ts'))});
      console.log(JSON.stringify({ before, after: aws.length }));
    `;
    const r = spawnSync(node, ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { before: number; after: number };
    expect(out.before).toBe(0);
    expect(out.after).toBeGreaterThan(0);
  });
});
