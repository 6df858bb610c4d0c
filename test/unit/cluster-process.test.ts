import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterError } from '../cluster/errors.ts';
import { assertPortFree, isAlive, runToLog, startDetached, stopProcess, waitUntil } from '../cluster/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-proc-'));
const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

describe('cluster process handling', () => {
  it('names the component and the port when a port is taken', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const err = await assertPortFree('kube-apiserver', port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).code).toBe('CLUSTER_PORT_IN_USE');
    expect((err as ClusterError).message).toContain(`kube-apiserver: port 127.0.0.1:${port} is already in use`);
  });

  it('reports a failed build step with its exit code and log file', async () => {
    const log = join(dir, 'build.log');
    const err = await runToLog('kafka-download', 'sh', ['-c', 'echo resolving; exit 3'], log).catch((e: unknown) => e);
    expect((err as ClusterError).code).toBe('CLUSTER_BUILD_FAILED');
    expect((err as ClusterError).message).toMatch(/kafka-download: .*exited with 3 \(log: .*build\.log\)/);
    expect(readFileSync(log, 'utf8')).toContain('resolving');
  });

  it('reports a missing tool as such', async () => {
    const err = await runToLog('etcd', 'no-such-binary-xyz', [], join(dir, 'x.log')).catch((e: unknown) => e);
    expect((err as ClusterError).code).toBe('CLUSTER_MISSING_TOOL');
  });

  it('stops a component and every process it spawned, leaving no orphan', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const p = startDetached('toy', 'sh', ['-c', `sleep 300 & echo $! > ${pidFile}; wait`], join(dir, 'toy.log'));
    await waitUntil(p, 'spawned its child', async () => readFileSync(pidFile, 'utf8').trim() !== '', 5000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await stopProcess(p, 2000);
    await sleep(100);
    expect(isAlive(p)).toBe(false);
    expect(isAlive({ pid: grandchild, startTicks: 0 })).toBe(false);
  });

  it('does not mistake a reused pid for the component it recorded', () => {
    expect(isAlive({ pid: process.pid, startTicks: 1 })).toBe(false);
    expect(isAlive({ pid: process.pid, startTicks: 0 })).toBe(true);
  });

  it('fails fast, naming the log, when a component exits before it is ready', async () => {
    const p = startDetached('etcd', 'sh', ['-c', 'echo boom; exit 1'], join(dir, 'etcd.log'));
    const err = await waitUntil(p, 'healthy', async () => false, 10_000).catch((e: unknown) => e);
    expect((err as ClusterError).code).toBe('CLUSTER_START_FAILED');
    expect((err as ClusterError).logFile).toBe(join(dir, 'etcd.log'));
  });
});
