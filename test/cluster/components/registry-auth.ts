// Basic auth in front of the local schema registry: Apicurio 2.x authenticates through OIDC only,
// so, as a registry is often run in production, a reverse proxy asks for the credentials. Debian's
// nginx (nginx-light, installed by `up` when root and missing) with `auth_basic` and an htpasswd
// file, proxying to the registry's plain HTTP port. The password is made per cluster.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';

const component = 'registry-auth';
const user = 'tributary';

export const registryAuthUrl = `http://${host}:${ports.registryAuth}/apis/ccompat/v7`;

export function ensureNginx(): void {
  if (existsSync('/usr/sbin/nginx')) return;
  if (process.getuid?.() === 0) {
    try {
      execFileSync(
        'bash',
        ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light'],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    } catch (err) {
      throw new ClusterError('CLUSTER_MISSING_TOOL', component, 'apt-get install nginx-light failed', { cause: err });
    }
    if (existsSync('/usr/sbin/nginx')) return;
  }
  throw new ClusterError('CLUSTER_MISSING_TOOL', component, "nginx is missing; install Debian's nginx-light");
}

const dirOf = (paths: ClusterPaths): string => join(paths.dir, 'registry-auth');

function password(paths: ClusterPaths): string {
  const file = join(dirOf(paths), 'password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(12).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8');
}

function nginxConf(dir: string): string {
  // master_process off: one process, which `down` stops by its pid; every path in the cluster folder.
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen ${host}:${ports.registryAuth};
    auth_basic "schema registry";
    auth_basic_user_file ${dir}/htpasswd;
    location / { proxy_pass http://${host}:${ports.registry}; }
  }
}
`;
}

export async function startRegistryAuth(paths: ClusterPaths): Promise<Started> {
  await assertPortFree(component, ports.registryAuth);
  const dir = dirOf(paths);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], {
    input: password(paths),
    encoding: 'utf8',
  }).trim();
  writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir));
  const p = startDetached(
    component,
    '/usr/sbin/nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf')],
    join(paths.logs, 'registry-auth.log'),
  );
  // Without credentials the proxy answers 401 itself: it listens and asks.
  await waitUntil(
    p,
    'asking for credentials',
    async () => (await fetch(`${registryAuthUrl}/subjects`, { signal: AbortSignal.timeout(2000) })).status === 401,
    30_000,
  );
  return p;
}

export const registryAuthEnv = (paths: ClusterPaths): Record<string, string> => ({
  TRIBUTARY_REGISTRY_AUTH_URL: registryAuthUrl,
  TRIBUTARY_REGISTRY_USER: user,
  TRIBUTARY_REGISTRY_PASSWORD: password(paths),
});
