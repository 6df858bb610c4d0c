import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { desiredSupervisorSpec, driftedPaths } from '../controllers/druiddatasource/supervisor-spec.ts';
import type { DruidDatasource } from '../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from './client.ts';
import { DruidError } from './errors.ts';

const druidUrl = (): string => {
  const url = process.env.TRIBUTARY_DRUID_URL;
  if (!url) throw new Error('TRIBUTARY_DRUID_URL is not set: the integration setup starts Druid (addon "druid")');
  return url;
};

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('DruidClient against the real Druid', () => {
  const client = new DruidClient({ url: druidUrl() });
  const id = `it_client_${randomUUID().slice(0, 8)}`;
  const ds: Pick<DruidDatasource, 'metadata' | 'spec'> = {
    metadata: { name: id, namespace: 'default', uid: 'u' },
    spec: {
      druid: { url: druidUrl() },
      kafka: { bootstrapServers: process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:19092', topic: id },
      timestamp: { column: 'ts', format: 'millis' },
      dimensions: ['country'],
      metrics: [{ type: 'longSum', name: 'clicks', fieldName: 'clicks' }],
      granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
      ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
      suspend: false,
      deletionPolicy: 'Terminate',
    },
  };
  afterAll(async () => {
    await client.terminate(id).catch(() => undefined);
    await client.shutdownTasks(id).catch(() => undefined);
    await client.close();
  });

  it('creates a supervisor whose live spec matches ours on every key we own', async () => {
    const desired = desiredSupervisorSpec(ds);
    expect(await client.upsertSupervisor(desired)).toBe(id);
    const live = await client.getSupervisor(id);
    expect(live).toBeDefined();
    expect(driftedPaths(desired, live)).toEqual([]);
  });

  it('sees drift made behind its back, and repairs it with an update', async () => {
    const desired = desiredSupervisorSpec(ds);
    const changed = structuredClone(desired) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    changed.spec.ioConfig.taskCount = 2;
    await client.upsertSupervisor(changed as typeof desired);
    expect(driftedPaths(desired, await client.getSupervisor(id))).toEqual(['spec.ioConfig.taskCount']);
    await client.upsertSupervisor(desired);
    expect(driftedPaths(desired, await client.getSupervisor(id))).toEqual([]);
  });

  it('suspends and resumes, and reports state and health', async () => {
    await client.suspend(id);
    const suspended = await eventually('SUSPENDED', async () => {
      const s = await client.getStatus(id);
      return s?.state === 'SUSPENDED' ? s : undefined;
    });
    expect(suspended.suspended).toBe(true);
    await client.resume(id);
    const running = await eventually('not suspended', async () => {
      const s = await client.getStatus(id);
      return s && !s.suspended && s.state !== 'SUSPENDED' ? s : undefined;
    });
    expect(['PENDING', 'RUNNING', 'IDLE']).toContain(running.state);
  });

  it("returns Druid's own message when it rejects a spec", async () => {
    const err = await client
      .upsertSupervisor({ type: 'kafka', spec: { dataSchema: { dataSource: id } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DruidError);
    expect((err as DruidError).code).toBe('DRUID_ERR_REJECTED');
    expect((err as DruidError).retriable).toBe(false);
    expect((err as DruidError).message).toContain('ioConfig');
  });

  it('terminates, after which the supervisor reads as absent, and terminating again is a no-op', async () => {
    await client.terminate(id);
    expect(await client.getSupervisor(id)).toBeUndefined();
    expect(await client.getStatus(id)).toBeUndefined();
    await client.terminate(id);
  });
});

describe('DruidClient failure classification', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('reports a closed port as unreachable and retriable', async () => {
    // Port 9 on loopback (discard) has no listener here; the connection is refused at once.
    const client = new DruidClient({ url: 'http://127.0.0.1:9', timeoutMs: 2000 });
    const err = await client.getSupervisor('x').catch((e: unknown) => e);
    expect((err as DruidError).code).toBe('DRUID_ERR_UNREACHABLE');
    expect((err as DruidError).retriable).toBe(true);
    await client.close();
  });

  it('reports a 5xx as a retriable server error with its message', async () => {
    // Injects a failure the real Druid cannot produce on demand: an Overlord answering 503.
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Overlord is not leader' }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const client = new DruidClient({ url: `http://127.0.0.1:${port}` });
    const err = await client.getStatus('x').catch((e: unknown) => e);
    expect((err as DruidError).code).toBe('DRUID_ERR_SERVER');
    expect((err as DruidError).message).toContain('Overlord is not leader');
    expect((err as DruidError).retriable).toBe(true);
    await client.close();
  });
});
