import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './paths.ts';

// A second cluster beside the one the suite runs on: own folder, ports shifted by 1000.
const dir = mkdtempSync(join(tmpdir(), 'trib-cluster-'));
const env: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_CLUSTER_DIR: dir, TRIBUTARY_CLUSTER_PORT_OFFSET: '1000' };
delete env.KUBECONFIG;
const apiserverPort = 16443 + 1000;

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(repoRoot, 'test/cluster/cli.ts'), ...args], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });

interface StateFile {
  components: { component: string; pid: number }[];
}
const state = (): StateFile => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateFile;
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};
/** Processes whose working directory is inside this cluster's folder (pods, components). */
const processesUnder = (root: string): number[] =>
  readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(root) && alive(pid);
      } catch {
        return false;
      }
    });

describe('cluster lifecycle (a second cluster on shifted ports)', () => {
  afterAll(() => {
    cli('down');
  });

  it('refuses to start when a port is taken, naming the component, and leaves nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(apiserverPort, '127.0.0.1', () => r()));
    try {
      const res = cli('up');
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(
        `[CLUSTER_PORT_IN_USE] kube-apiserver: port 127.0.0.1:${apiserverPort} is already in use`,
      );
      // etcd had started before the apiserver failed: `up` must have stopped it again.
      expect(cli('status').status).toBe(3);
    } finally {
      blocker.close();
    }
  });

  it('recovers from a component killed behind its back, then `down` stops every process it started', () => {
    const first = cli('up');
    expect(first.status, first.stderr).toBe(0);
    const before = state().components;
    expect(before.map((c) => c.component)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'node-agent']);

    const apiserver = before.find((c) => c.component === 'kube-apiserver')!;
    process.kill(apiserver.pid, 'SIGKILL');
    const status = cli('status');
    expect(status.status).toBe(3);
    expect(status.stdout).toMatch(/kube-apiserver\s+STOPPED/);
    expect(cli('env').stderr).toContain('[CLUSTER_NOT_RUNNING] kube-apiserver');

    const again = cli('up');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('stale cluster');
    const after = state().components;
    for (const c of before) expect(alive(c.pid), `${c.component} pid ${c.pid} left behind`).toBe(false);
    expect(after.every((c) => alive(c.pid))).toBe(true);
    expect(cli('env').stdout).toContain(`export KUBECONFIG="${join(dir, 'kubeconfig')}"`);

    expect(cli('down').status).toBe(0);
    for (const c of after) expect(alive(c.pid), `${c.component} survived down`).toBe(false);
    expect(processesUnder(dir)).toEqual([]);
  });
});
