// Leader election never waits without a word: a Lease whose namespace is missing or that RBAC
// forbids is named in the log and in /readyz, and an operator run outside the cluster fails
// within seconds; another holder is logged once, by name. Real kube-apiserver, real RBAC.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/cluster/paths.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createRegistry } from '../telemetry/metrics.ts';
import { startProbeServer } from '../telemetry/server.ts';
import { Resources } from './api-resources.ts';
import { KubeClient } from './client.ts';
import { ErrorCodes, OperatorError } from './errors.ts';
import { loadDefaultConnection } from './kubeconfig.ts';
import { LeaderElector } from './leader-election.ts';
import { Manager } from './manager.ts';
import { createNamespace, deleteNamespace, newClient, suffix, waitFor } from './testing/cluster.ts';

/** A pino logger whose JSON lines land in `lines`. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

describe('leader election problems are reported, not waited on', () => {
  let admin: KubeClient;
  let ns: string;

  beforeAll(async () => {
    admin = await newClient();
    ns = await createNamespace(admin, 'kube-lease-problems');
  });
  afterAll(async () => {
    await deleteNamespace(admin, ns);
    await admin.close();
  });

  it('the operator run outside the cluster exits within seconds naming the missing Lease namespace', async () => {
    const missing = `no-such-ns-${suffix()}`;
    const child = spawn(
      join(repoRoot, 'node_modules/.bin/node'),
      [
        join(repoRoot, 'operator/src/main.ts'),
        '--leader-elect=true',
        `--lease-namespace=${missing}`,
        '--metrics-addr=127.0.0.1:0',
        '--no-druid',
      ],
      { env: { ...process.env, KUBERNETES_SERVICE_HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain(`the Lease namespace \\"${missing}\\" does not exist`);
    expect(out).toContain(ErrorCodes.LEADER_ELECTION);
    // The warning came once, not once per retry.
    expect(out.split('leader election cannot proceed').length - 1).toBe(1);
  });

  it('a Manager whose Lease RBAC forbids is not ready, and /readyz says which verb on which namespace', async () => {
    // A ServiceAccount with no rights at all: every Lease call is 403.
    const sa = `no-lease-${suffix()}`;
    await admin.create(Resources.ServiceAccount, { metadata: { name: sa, namespace: ns } });
    const tr = await admin.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
      },
    );
    const conn = await loadDefaultConnection();
    const client = new KubeClient({
      ...conn,
      authHeaders: async () => ({ authorization: `Bearer ${tr.status.token}` }),
    });
    const { logger, lines } = capturedLogger();
    const manager = new Manager({
      client,
      registry: createRegistry(),
      logger,
      leaderElection: { namespace: ns, name: 'forbidden', identity: 'f1', retryPeriodMs: 200 },
    });
    const probes = await startProbeServer({ registry: createRegistry(), ready: () => manager.readiness() });
    const run = manager.run();
    try {
      const res = await waitFor('readyz names the problem', async () => {
        const r = await fetch(`${probes.url}/readyz`);
        const body = await r.text();
        return body.includes('RBAC') ? { status: r.status, body } : undefined;
      });
      expect(res.status).toBe(503);
      expect(res.body).toContain(`RBAC forbids "get" on leases.coordination.k8s.io in namespace "${ns}"`);
      // In a cluster it keeps trying (the Role may still be on its way) and logs the problem once.
      await new Promise((r) => setTimeout(r, 1000));
      expect(lines.filter((l) => String(l.msg).startsWith('leader election cannot proceed'))).toHaveLength(1);
      expect(manager.isLeader()).toBe(false);
    } finally {
      manager.stop();
      await run;
      await probes.close();
      await client.close();
    }
  });

  it('a candidate logs the other holder once, by name, and stays ready as a standby', async () => {
    const holderAbort = new AbortController();
    const holder = new LeaderElector({
      client: admin,
      namespace: ns,
      name: 'held',
      identity: 'the-holder',
      retryPeriodMs: 200,
      onStartedLeading: () => {},
    });
    const holding = holder.run(holderAbort.signal);
    await waitFor('holder leads', () => holder.isLeader());
    const { logger, lines } = capturedLogger();
    const manager = new Manager({
      client: admin,
      registry: createRegistry(),
      logger,
      leaderElection: { namespace: ns, name: 'held', identity: 'standby', retryPeriodMs: 200 },
    });
    const run = manager.run();
    try {
      await waitFor('standby saw the holder', () => lines.some((l) => l.holder === 'the-holder'));
      await new Promise((r) => setTimeout(r, 1500));
      const holderLines = lines.filter((l) => l.holder === 'the-holder');
      expect(holderLines).toHaveLength(1);
      expect(String(holderLines[0]?.msg)).toContain('another operator holds the leader Lease (the-holder)');
      expect(manager.readiness()).toEqual({ ok: true, detail: 'ok (standby: another process holds the leader Lease)' });
    } finally {
      manager.stop();
      await run;
      holderAbort.abort();
      await holding;
    }
  });

  it('an elector with failAfterMs gives up with OPERATOR_LEADER_ELECTION; without it, it keeps trying', async () => {
    const missing = `no-such-ns-${suffix()}`;
    const elector = new LeaderElector({
      client: admin,
      namespace: missing,
      name: 'x',
      identity: 'i',
      retryPeriodMs: 100,
      failAfterMs: 500,
      onStartedLeading: () => {},
    });
    const err = await elector.run(new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe(ErrorCodes.LEADER_ELECTION);
    expect(elector.problem()?.reason).toBe('LeaseNamespaceMissing');

    const patient = new LeaderElector({
      client: admin,
      namespace: missing,
      name: 'x',
      identity: 'j',
      retryPeriodMs: 100,
      onStartedLeading: () => {},
    });
    const abort = new AbortController();
    const result = patient.run(abort.signal);
    await new Promise((r) => setTimeout(r, 1000));
    expect(patient.problem()?.reason).toBe('LeaseNamespaceMissing');
    abort.abort();
    expect(await result).toBe('cancelled');
  });
});
