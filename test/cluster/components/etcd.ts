import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { ClusterError } from '../errors.ts';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';

const component = 'etcd';

/** etcd from Debian's etcd-server package, installed on first use when we are root. */
export function ensureEtcdBinary(logHint: string): string {
  const found = which('etcd');
  if (found) return found;
  if (process.getuid?.() === 0) {
    try {
      execFileSync(
        'bash',
        ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server'],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    } catch (err) {
      throw new ClusterError('CLUSTER_MISSING_TOOL', component, 'apt-get install etcd-server failed', { cause: err });
    }
    // Debian's postinst may enable a system etcd on 2379; ours uses its own ports, so it is left alone.
    const installed = which('etcd');
    if (installed) return installed;
  }
  throw new ClusterError(
    'CLUSTER_MISSING_TOOL',
    component,
    `the etcd binary is missing; install Debian's etcd-server package (apt-get install etcd-server) ${logHint}`,
  );
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function startEtcd(paths: ClusterPaths): Promise<Started> {
  const bin = ensureEtcdBinary('');
  await assertPortFree(component, ports.etcdClient);
  await assertPortFree(component, ports.etcdPeer);
  mkdirSync(paths.etcdData, { recursive: true, mode: 0o700 });
  const client = `http://${host}:${ports.etcdClient}`;
  const peer = `http://${host}:${ports.etcdPeer}`;
  const p = startDetached(
    component,
    bin,
    [
      '--name=tributary',
      `--data-dir=${paths.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tributary=${peer}`,
      '--initial-cluster-state=new',
      '--quota-backend-bytes=4294967296',
      '--snapshot-count=10000',
    ],
    join(paths.logs, 'etcd.log'),
  );
  await waitUntil(
    p,
    'healthy',
    async () => {
      const res = await request(`${client}/health`);
      const body = (await res.body.json()) as { health?: string };
      return res.statusCode === 200 && body.health === 'true';
    },
    30_000,
  );
  return p;
}
