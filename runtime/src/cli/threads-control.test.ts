// `tributary run --threads --control-port P --metrics-port 0` as a user drives it: slot 0's
// control API (the coordinator's) on P under the token in TRIBUTARY_CONTROL_TOKEN_FILE, a
// stop-with-savepoint through it ends the run with the savepoint on disk; /metrics is the
// supervisor's and every slot's, labelled by slot; slot 0's status carries its own load.
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SavepointStatus, StatusResponse } from '../control/contract.ts';
import { freePorts } from '../process/loopback-ports.ts';
import { REPO_NODE as node, REPO_ROOT as root, startCli } from '../testing/cli-process.ts';

describe('tributary run --threads: the control API and /metrics', () => {
  it("serves slot 0's control API on the port under the user's token and the job's metrics; a stop-with-savepoint ends the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-threads-control-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'a-token-of-our-own\n', { mode: 0o600 });
    const [port] = await freePorts(1);
    const base = `http://127.0.0.1:${String(port)}`;
    const auth = { authorization: 'Bearer a-token-of-our-own' };
    const run = startCli(
      [
        'run',
        'crds/examples/clicks-local.yaml',
        '--threads',
        '-p',
        '2',
        '--control-port',
        String(port),
        '--state-dir',
        join(dir, 'state'),
        '--metrics-port',
        '0',
      ],
      { env: { TRIBUTARY_CONTROL_TOKEN_FILE: tokenFile, TRIBUTARY_STOP_LINGER: '2' } },
    );
    try {
      await expect
        .poll(() => run.stderr.split('"msg":"job running"').length, { timeout: 20_000, interval: 100 })
        .toBe(3);
      expect(run.stderr).toContain(`"url":"${base}/v1/status","tokenFile":"${tokenFile}"`);

      expect((await fetch(`${base}/v1/status`)).status).toBe(401);
      const status = (await (await fetch(`${base}/v1/status`, { headers: auth })).json()) as StatusResponse;
      expect(status).toMatchObject({ slot: 0, parallelism: 2, state: 'RUNNING' });
      // Its own load: a slot on a worker thread measures that thread's event loop; a datagen has no partitions.
      expect(status.load).toMatchObject({ busyMs: { eventLoop: expect.any(Number) as number }, sources: [] });
      expect(status.load?.uptimeMs).toBeGreaterThan(0);

      const metricsUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)","msg":"metrics endpoint"/.exec(run.stderr)?.[1];
      expect(metricsUrl, run.stderr).toBeDefined();
      let metrics = '';
      await expect
        .poll(
          async () => {
            metrics = await (await fetch(metricsUrl as string)).text();
            return [0, 1].every((slot) =>
              new RegExp(`^tributary_records_out_total\\{slot="${slot}",node="clicks"\\} [1-9]`, 'm').test(metrics),
            );
          },
          { timeout: 10_000, interval: 300 },
        )
        .toBe(true);
      expect(metrics).toMatch(/^tributary_restarts_total 0$/m);
      // Each family once (a valid exposition), the slots' samples under it.
      for (const slot of [0, 1])
        expect(metrics).toMatch(
          new RegExp(`^tributary_busy_seconds_total\\{slot="${slot}",resource="eventLoop"\\} \\d`, 'm'),
        );
      const families = ['tributary_records_out_total', 'tributary_watermark_ms', 'tributary_busy_seconds_total'];
      for (const name of [...families, 'tributary_restarts_total'])
        expect(metrics.split(`# TYPE ${name} `).length, name).toBe(2);

      const post = await fetch(`${base}/v1/savepoints`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ stop: true }),
      });
      expect(post.status).toBe(202);
      const { id } = (await post.json()) as { id: string };
      let sp: SavepointStatus | undefined;
      await expect
        .poll(
          async () => {
            sp = (await (await fetch(`${base}/v1/savepoints/${id}`, { headers: auth })).json()) as SavepointStatus;
            return sp.state;
          },
          { timeout: 20_000, interval: 200 },
        )
        .toBe('COMPLETED');
      expect(existsSync(join(sp?.path as string, '_metadata.json'))).toBe(true);
      const end = await run.done;
      expect(end.code, end.stderr.slice(-2000)).toBe(0);
      // Ended by the stop-with-savepoint: stopped, not finished.
      expect(end.stderr).toMatch(
        /"state":"STOPPED","attempts":1,"restarts":0,"recordsIn":\d+,"recordsOut":\d+,"msg":"job stopped"/,
      );
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a --control-port that cannot be bound fails the run before any slot starts, naming the port', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = spawnSync(
        node,
        [
          'runtime/src/cli/main.ts',
          'run',
          'crds/examples/clicks-local.yaml',
          '--control-port',
          String(port),
          '--state-dir',
          mkdtempSync(join(tmpdir(), 'trib-threads-busy-')),
        ],
        { cwd: root, encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `error TRIB_CONTROL_CONFIG: --control-port ${port}: cannot listen on 127.0.0.1:${port}`,
      );
      expect(r.stderr).not.toContain('slots started');
    } finally {
      busy.close();
    }
  });
});
