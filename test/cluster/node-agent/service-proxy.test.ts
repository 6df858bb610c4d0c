import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, Service } from './kube-types.ts';
import { ServiceProxy } from './service-proxy.ts';
import { serviceByClusterIp, serviceTarget } from './service-routing.ts';

const svc = (
  ports: { port: number; targetPort?: number | string; protocol?: string }[],
  clusterIP = '10.96.0.20',
): Service =>
  ({
    metadata: { name: 'hook', namespace: 'ns' },
    spec: { clusterIP, clusterIPs: [clusterIP], selector: { app: 'op' }, ports },
  }) as Service;
const pod = (
  ip: string,
  opts: { ready?: boolean; deleting?: boolean; ports?: { name: string; containerPort: number }[] } = {},
): Pod =>
  ({
    metadata: {
      name: `p-${ip}`,
      namespace: 'ns',
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'c', ports: opts.ports ?? [{ name: 'webhook', containerPort: 9443 }] }] },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  }) as Pod;

describe('service routing', () => {
  it('sends a Service port to a ready pod, at a numeric or named targetPort', () => {
    expect(serviceTarget(svc([{ port: 443, targetPort: 'webhook' }]), 443, [pod('127.0.1.5')])).toEqual({
      host: '127.0.1.5',
      port: 9443,
    });
    expect(serviceTarget(svc([{ port: 80, targetPort: 8080 }]), 80, [pod('127.0.1.5')])).toEqual({
      host: '127.0.1.5',
      port: 8080,
    });
    expect(serviceTarget(svc([{ port: 80 }]), 80, [pod('127.0.1.5')])).toEqual({ host: '127.0.1.5', port: 80 });
  });

  it('skips pods that are not ready, being deleted, or lack the named port; says why when none is left', () => {
    const s = svc([{ port: 443, targetPort: 'webhook' }]);
    const pods = [
      pod('127.0.1.2', { ready: false }),
      pod('127.0.1.3', { deleting: true }),
      pod('127.0.1.4', { ports: [{ name: 'metrics', containerPort: 8080 }] }),
      pod('127.0.1.6'),
    ];
    expect(serviceTarget(s, 443, pods, () => 0)).toEqual({ host: '127.0.1.6', port: 9443 });
    expect(() => serviceTarget(s, 443, pods.slice(0, 3))).toThrow('Service ns/hook has no ready pod serving port 443');
    expect(() => serviceTarget(s, 8443, pods)).toThrow('Service ns/hook has no TCP port 8443');
  });

  it('finds a Service by any of its cluster IPs', () => {
    expect(serviceByClusterIp([svc([], '10.96.0.1'), svc([], '10.96.0.7')], '10.96.0.7')?.spec?.clusterIP).toBe(
      '10.96.0.7',
    );
    expect(serviceByClusterIp([svc([], '10.96.0.1')], '127.0.0.1')).toBeUndefined();
  });
});

/** Sends a CONNECT through the proxy's socket and returns the status line and what the tunnel echoes. */
function tunnel(socketPath: string, target: string, payload = 'ping'): Promise<{ status: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const c = connect(socketPath);
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = buf.slice(0, buf.indexOf('\r\n'));
      if (!status.includes(' 200 ')) return resolve({ status, echoed: '' });
      if (buf.length - end - 4 >= payload.length) {
        resolve({ status, echoed: buf.slice(end + 4) });
        c.end();
      }
    });
    c.on('error', reject);
    c.on('close', () => resolve({ status: buf.slice(0, buf.indexOf('\r\n')), echoed: '' }));
    // The payload follows the request head at once, as a client that pipelines would send it.
    c.write(`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${payload}`);
  });
}

describe('service proxy (HTTP CONNECT on a Unix socket)', () => {
  let proxy: ServiceProxy | undefined;
  let echo: Server | undefined;
  afterEach(async () => {
    await proxy?.stop();
    echo?.close();
  });

  it('tunnels a cluster IP to a ready pod, any other address as is, and refuses what it cannot route', async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as { port: number }).port;
    const services = [svc([{ port: 443, targetPort: 'webhook' }])];
    const pods = [pod('127.0.0.1', { ports: [{ name: 'webhook', containerPort: port }] })];
    const api = {
      get: async <T>(path: string, query?: Record<string, unknown>): Promise<T> => {
        if (path === '/api/v1/services') return { items: services } as T;
        expect([path, query]).toEqual(['/api/v1/namespaces/ns/pods', { labelSelector: 'app=op' }]);
        return { items: pods } as T;
      },
    };
    const socketPath = join(mkdtempSync(join(tmpdir(), 'svc-proxy-')), 'proxy.sock');
    proxy = new ServiceProxy({ socketPath, api, log: pino({ level: 'silent' }) });
    await proxy.start();
    expect(await tunnel(socketPath, '10.96.0.20:443')).toEqual({
      status: 'HTTP/1.1 200 Connection established',
      echoed: 'ping',
    });
    expect(await tunnel(socketPath, `127.0.0.1:${port}`, 'direct')).toEqual({
      status: 'HTTP/1.1 200 Connection established',
      echoed: 'direct',
    });
    expect((await tunnel(socketPath, '10.96.0.20:8443')).status).toBe(
      'HTTP/1.1 503 Service ns/hook has no TCP port 8443',
    );
    pods.length = 0;
    expect((await tunnel(socketPath, '10.96.0.20:443')).status).toBe(
      'HTTP/1.1 503 Service ns/hook has no ready pod serving port 443',
    );
    expect((await tunnel(socketPath, 'nonsense')).status).toMatch(/^HTTP\/1.1 405 expected CONNECT host:port/);
  });
});
