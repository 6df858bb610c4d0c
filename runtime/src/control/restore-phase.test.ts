// A slot's restore phase as GET /v1/status tells it (restore-phase.ts), through the real control
// server, and the restore-point lookup reporting an S3 that does not answer. The S3 here is a
// loopback socket that accepts and never answers (a paused server, on demand, without touching the
// shared cluster's; s3-failure-e2e.int.test.ts freezes the real one).
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DependencyOutage } from '../core/outage.ts';
import { OutageBoard } from '../core/outage-board.ts';
import { CONTRACT_VERSION, type StatusResponse } from './contract.ts';
import { resolveLatestRestoreWithin } from './restore-latest.ts';
import { RESTORE_READS, RestorePhase } from './restore-phase.ts';
import { startControlServer } from './server.ts';

const id = { jobName: 'j', deploymentId: 'd1', slot: 0, parallelism: 2 };
const outage = (error: string): DependencyOutage => ({
  dependency: 's3',
  component: 'restore',
  target: 'http://127.0.0.1:1 bucket "b"',
  since: '2026-01-01T00:00:00.000Z',
  error,
  bound: 'fails after checkpoint timeout 2s',
});

describe('RestorePhase: GET /v1/status while the slot restores', () => {
  it('answers RESTORING with the reported outage until it clears; CREATED when nothing is restored', () => {
    const phase = new RestorePhase(id, true);
    expect(phase.status()).toEqual({ contractVersion: CONTRACT_VERSION, ...id, state: 'RESTORING' });
    const report = phase.reporter('restore-latest');
    report(outage('no answer'));
    expect(phase.status().unavailable).toEqual([outage('no answer')]);
    report(undefined);
    expect(phase.status().unavailable).toBeUndefined();
    phase.restores = false;
    expect(phase.status().state).toBe('CREATED');
  });

  it("merges the built slot's own answer (which says CREATED) and ignores reports once the slot left CREATED", () => {
    let left = false;
    const phase = new RestorePhase(id, true, () => left);
    const reads = phase.readReporters();
    expect(reads.component).toBe(RESTORE_READS);
    reads.reporter('s3-read:1')({ ...outage('sent nothing'), component: RESTORE_READS });
    const own: StatusResponse = { contractVersion: CONTRACT_VERSION, ...id, state: 'CREATED', recordsIn: 0 };
    const st = phase.status(own);
    expect(st.state).toBe('RESTORING');
    expect(st.recordsIn).toBe(0);
    expect(st.unavailable?.map((o) => o.component)).toEqual([RESTORE_READS]);
    left = true;
    expect(phase.ended).toBe(true);
    reads.reporter('s3-read:2')(outage('late'));
    expect(phase.status(own).unavailable?.map((o) => o.error)).toEqual(['sent nothing']);
  });

  it('served by the control server from the start: RESTORING with the outage, /readyz 503', async () => {
    const phase = new RestorePhase(id, true);
    phase.reporter('restore-latest')(outage('no answer'));
    const server = await startControlServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      token: 't0ken',
      source: { status: () => phase.status(), ready: () => false },
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const auth = { authorization: 'Bearer t0ken' };
      const st = (await (await fetch(`${base}/v1/status`, { headers: auth })).json()) as StatusResponse;
      expect(st.state).toBe('RESTORING');
      expect(st.unavailable).toEqual([outage('no answer')]);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });
});

describe('the restore-point lookup on an S3 that does not answer', () => {
  let silent: Server;
  const held: Socket[] = [];
  const saved: Record<string, string | undefined> = {};
  let endpoint = '';

  beforeAll(async () => {
    silent = createNetServer((s) => void held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const env: Record<string, string> = {
      TRIBUTARY_S3_ENDPOINT: endpoint,
      TRIBUTARY_S3_ACCESS_KEY_ID: 'test',
      TRIBUTARY_S3_SECRET_ACCESS_KEY: 'test',
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
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('reports s3 unavailable to `restore` (endpoint and bucket, no credentials) while it waits, cleared at its end', async () => {
    const board = new OutageBoard();
    const seen: DependencyOutage[][] = [];
    const report = board.reporter('restore-latest');
    const lookup = resolveLatestRestoreWithin('s3://bucket/jobs/j', new Date(0).toISOString(), undefined, {
      timeoutMs: 800,
      logger: pino({ level: 'silent' }),
      report: (o) => {
        report(o);
        seen.push(board.list());
      },
    });
    await expect(lookup).rejects.toMatchObject({ code: 'TRIB_STATE_STORAGE' });
    const first = seen[0]?.[0];
    expect(first).toMatchObject({
      dependency: 's3',
      component: 'restore',
      target: `${endpoint} bucket "bucket"`,
      bound: 'fails after checkpoint timeout 0.8s',
    });
    expect(first?.error).toMatch(
      /^no answer for 0\.\d s while looking up the newest checkpoint in s3:\/\/bucket\/jobs\/j$/,
    );
    expect(JSON.stringify(first)).not.toContain('test');
    expect(board.list()).toEqual([]);
  });
});
