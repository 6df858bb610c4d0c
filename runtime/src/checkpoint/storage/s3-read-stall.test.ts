// The S3 store's reads against a server whose pace the test sets: one that trickles a body,
// slower in total than the stall bound but never idle for it, and one that stops mid-body. A real
// S3 server cannot be made to trickle or stop mid-object on demand (SIGSTOP on the real one is
// the integration test, s3-restore-lookup.chaos.int.test.ts), so this is a loopback HTTP server
// that answers GetObject with a body it writes in timed chunks.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import type { DependencyOutage } from '../../core/outage.ts';
import { OutageBoard } from '../../core/outage-board.ts';
import { reportingStateReadOutages } from './read-outages.ts';
import { S3StateStore } from './s3-state-store.ts';

const BOUND_MS = 600;
const CHUNK = 64 * 1024;

describe('S3 reads: a stall is no bytes for the request timeout, never a slow total', () => {
  let server: Server;
  let endpoint = '';
  const saved: Record<string, string | undefined> = {};
  /** Per object key: chunks to send, the pause before each, and whether to stop (and hang) after `stopAfter`. */
  const plans: Record<string, { chunks: number; pauseMs: number; stopAfter?: number }> = {
    'slow/state-0.bin': { chunks: 8, pauseMs: BOUND_MS / 3 },
    'stops/state-0.bin': { chunks: 8, pauseMs: 10, stopAfter: 3 },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/bucket\//, '');
      const plan = plans[key];
      if (!plan || req.method !== 'GET') {
        res.writeHead(404, { 'content-type': 'application/xml' });
        res.end('<Error><Code>NoSuchKey</Code><Message>none</Message></Error>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': plan.chunks * CHUNK });
      let sent = 0;
      const next = (): void => {
        if (plan.stopAfter !== undefined && sent === plan.stopAfter) return; // hangs: the socket stays open
        if (sent === plan.chunks) return void res.end();
        res.write(Buffer.alloc(CHUNK, sent++));
        setTimeout(next, plan.pauseMs);
      };
      next();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env: Record<string, string> = {
      TRIBUTARY_S3_ENDPOINT: endpoint,
      TRIBUTARY_S3_ACCESS_KEY_ID: 'test',
      TRIBUTARY_S3_SECRET_ACCESS_KEY: 'test',
      TRIBUTARY_S3_REQUEST_TIMEOUT_MS: String(BOUND_MS),
      TRIBUTARY_LOG_LEVEL: 'silent',
    };
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('reads a body that takes longer than the bound in total but is never idle for it', async () => {
    const bytes = await new S3StateStore().read('s3://bucket/slow/state-0.bin');
    expect(bytes?.length).toBe(8 * CHUNK);
    expect([...new Set(Array.from({ length: 8 }, (_, i) => bytes?.[i * CHUNK]))]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('fails a body that stops arriving, at the bound, naming the object, the storage and the bound', async () => {
    const err = await new S3StateStore().read('s3://bucket/stops/state-0.bin').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_STATE_STORAGE');
    expect((err as Error).message).toMatch(
      new RegExp(
        `^cannot read s3://bucket/stops/state-0\\.bin: the state storage ${endpoint.replace(/\./g, '\\.')} bucket "bucket" sent nothing for \\d+ ms \\(bound ${BOUND_MS} ms: TRIBUTARY_S3_REQUEST_TIMEOUT_MS`,
      ),
    );
  });

  it("reports the stall as an S3 outage of the caller's component while it lasts, when the caller asks, and clears it", async () => {
    const board = new OutageBoard();
    const during: DependencyOutage[][] = [];
    const reporters = {
      component: 'checkpoint storage (restore)',
      reporter: (key: string) => {
        const r = board.reporter(key);
        return (o: DependencyOutage | undefined) => {
          r(o);
          during.push(board.list());
        };
      },
    };
    const read = reportingStateReadOutages(reporters, () => new S3StateStore().read('s3://bucket/stops/state-0.bin'));
    await expect(read).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
    expect(during[0]).toEqual([
      expect.objectContaining({
        dependency: 's3',
        component: 'checkpoint storage (restore)',
        target: `${endpoint} bucket "bucket"`,
        error: expect.stringMatching(
          /^sent nothing for 0\.\d s while this slot reads s3:\/\/bucket\/stops\/state-0\.bin$/,
        ),
        bound: `fails after requestTimeout ${BOUND_MS / 1000}s of no answer`,
      }),
    ]);
    expect(board.list()).toEqual([]);
    // A read started outside such a caller reports nothing.
    const before = during.length;
    await expect(new S3StateStore().read('s3://bucket/stops/state-0.bin')).rejects.toBeInstanceOf(TributaryError);
    expect(during.length).toBe(before);
  });
});
