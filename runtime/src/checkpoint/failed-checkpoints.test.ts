// Consecutive failed checkpoints: the storage outage is reported on the executor's OutageBoard
// (dependency s3, component `checkpoint storage`, the endpoint and bucket) while the failures
// last and cleared by the next completed checkpoint; warnings at most every 30 s; the job fails
// one failure past the tolerable number; and a coordinator whose storage refuses every write
// gives up after that many instead of running on without checkpoints for ever.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { DependencyOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';
import { OutageBoard } from '../core/outage-board.ts';
import { CheckpointCoordinator } from './coordinator.ts';
import { FailedCheckpoints } from './failed-checkpoints.ts';
import type { SlotCheckpointPort } from './messages.ts';
import { stateStorageTarget } from './storage/state-uri.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A pino logger whose lines land in `lines` (level and msg). */
function capture(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

/** As writeIdMark fails on refused S3: the outer message carries the store's (s3-state-store.ts). */
function storageError(): TributaryError {
  const store = new TributaryError(
    'TRIB_STATE_STORAGE',
    'cannot write s3://bkt/p/_checkpoint-id: S3 bucket "bkt" answered ECONNREFUSED at http://127.0.0.1:9: connect ECONNREFUSED',
  );
  return new TributaryError('TRIB_CHECKPOINT_FAILED', `cannot record checkpoint id 7 in s3://bkt/p: ${store.message}`, {
    cause: store,
  });
}

describe('FailedCheckpoints', () => {
  it('reports the storage outage on the OutageBoard while checkpoints fail, and clears it once one completes', () => {
    const board = new OutageBoard();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { logger } = capture();
    const target = stateStorageTarget('s3://bkt/p', { TRIBUTARY_S3_ENDPOINT: 'http://127.0.0.1:9' });
    expect(target).toBe('http://127.0.0.1:9 bucket "bkt"');
    const f = new FailedCheckpoints({
      tolerable: 5,
      logger,
      report: board.reporter('checkpoint-storage'),
      ...(target ? { s3Target: target } : {}),
      now: () => now,
    });
    f.failed(storageError());
    now += 10_000;
    f.failed(storageError());
    const want: Partial<DependencyOutage> = {
      dependency: 's3',
      component: 'checkpoint storage',
      target: 'http://127.0.0.1:9 bucket "bkt"',
      since: '2026-01-01T00:00:00.000Z', // the outage's start, not the last report's
      bound: 'fails after 6 consecutive failed checkpoints (tolerableFailedCheckpoints 5)',
    };
    expect(board.list()).toEqual([expect.objectContaining(want)]);
    expect(board.list()[0]?.error).toMatch(/S3 bucket "bkt" answered ECONNREFUSED at http:\/\/127\.0\.0\.1:9/);
    expect(board.list()[0]?.target).not.toMatch(/key|secret/i);
    expect(board.gauge()).toEqual([{ dependency: 's3', component: 'checkpoint storage', unavailable: true }]);
    f.completed();
    expect(board.list()).toEqual([]);
    expect(board.gauge()).toEqual([{ dependency: 's3', component: 'checkpoint storage', unavailable: false }]);
  });

  it('does not report a failure that is not the storage, nor storage on a local path', () => {
    const board = new OutageBoard();
    const slotDeclined = new TributaryError('TRIB_CHECKPOINT_DECLINED', 'checkpoint 3 declined by slot 1: closing');
    new FailedCheckpoints({ tolerable: 5, logger: capture().logger, report: board.reporter('a') }).failed(
      storageError(),
    );
    const s3 = new FailedCheckpoints({
      tolerable: 5,
      logger: capture().logger,
      report: board.reporter('b'),
      s3Target: 'e bucket "bkt"',
    });
    s3.failed(slotDeclined);
    expect(board.list()).toEqual([]);
    s3.failed(new TributaryError('TRIB_CHECKPOINT_TIMEOUT', 'checkpoint 4 expired … the storage did not answer'), true);
    expect(board.list()).toHaveLength(1);
  });

  it('warns when a run of failures starts and then at most every 30 s; fails one past the tolerable number', () => {
    let now = 0;
    const { logger, lines } = capture();
    const f = new FailedCheckpoints({ tolerable: 20, logger, s3Target: 'e bucket "bkt"', now: () => now });
    const fatal: TributaryError[] = [];
    for (let i = 0; i < 20; i++, now += 5_000) {
      const r = f.failed(storageError());
      expect(r.level).toBe('debug');
      if (r.fatal) fatal.push(r.fatal);
    }
    const warns = lines.filter((l) => l.level === 40);
    // 20 failures over 95 s: at 0, 30, 60 and 90 s.
    expect(warns.map((w) => w.msg.slice(0, 60))).toHaveLength(4);
    expect(warns[0]?.msg).toMatch(
      /^checkpoint storage \(e bucket "bkt"\) failing for 0 s \(1 in a row\): .*ECONNREFUSED.*fails after 21 consecutive/,
    );
    expect(fatal).toEqual([]);
    const last = f.failed(storageError());
    expect(last.fatal).toMatchObject({
      code: 'TRIB_CHECKPOINT_FAILED',
      message: expect.stringMatching(
        /^21 consecutive checkpoints failed \(tolerableFailedCheckpoints 20\) over 100 s; the last: .*S3 bucket "bkt" answered ECONNREFUSED at /,
      ),
    });
    // The same error twice (an abort and its trigger's rejection) counts once.
    const e = storageError();
    f.completed();
    f.failed(e);
    f.failed(e);
    expect(f.consecutiveFailures).toBe(1);
    expect(lines.some((l) => l.level === 30 && /^checkpoints complete again after 100 s \(21 failed/.test(l.msg))).toBe(
      true,
    );
  });
});

describe('a coordinator whose state storage refuses every write', () => {
  it('fails after tolerableFailedCheckpoints + 1 consecutive failed checkpoints, not never', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trib-failed-cps-'));
    dirs.push(root);
    writeFileSync(join(root, 'file'), '');
    chmodSync(root, 0o755);
    // A state folder below a regular file: every write fails (ENOTDIR), as refused storage does.
    const stateDir = join(root, 'file', 'state');
    const port: SlotCheckpointPort = { trigger: () => undefined, notifyComplete: () => {}, notifyAborted: () => {} };
    let failedWith: TributaryError | undefined;
    let aborts = 0;
    const c = new CheckpointCoordinator({
      stateDir,
      slots: [port],
      maxParallelism: 128,
      graphHash: 'g',
      intervalMs: 20,
      timeoutMs: 1_000,
      tolerableFailedCheckpoints: 3,
      onTooManyFailures: (e) => (failedWith ??= e),
    });
    const fail = (): Promise<unknown> => c.trigger('checkpoint', false).catch(() => aborts++);
    await c.start().catch(() => undefined);
    for (let i = 0; i < 10 && !failedWith; i++) await fail();
    c.stop();
    expect(failedWith).toMatchObject({
      code: 'TRIB_CHECKPOINT_FAILED',
      message: expect.stringMatching(/^4 consecutive checkpoints failed \(tolerableFailedCheckpoints 3\)/),
    });
  });
});
