// Basic auth in front of the local schema registry: Apicurio 2.x authenticates through OIDC only,
// so, as a registry is often run in production, a reverse proxy asks for the credentials. Debian's
// nginx (nginx-light, installed by `up` when root and missing) with `auth_basic` and an htpasswd
// file, proxying to the registry's plain HTTP port. The password is made per cluster. A second
// listener asks for the same credentials over TLS (the registry's serving certificate, from the
// cluster's CA), which is how a production registry is reached: both at once through one endpoint.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { registryTlsFiles } from './registry.ts';
import { assertPortFree, startDetached, waitUntil, type Started } from '../process.ts';

const component = 'registry-auth';
const user = 'tributary';

export const registryAuthUrl = `http://${host}:${ports.registryAuth}/apis/ccompat/v7`;
export const registryAuthTlsUrl = `https://${host}:${ports.registryAuthTls}/apis/ccompat/v7`;

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

function nginxConf(dir: string, tls: { cert: string; key: string }): string {
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
  server {
    listen ${host}:${ports.registryAuthTls} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    auth_basic "schema registry";
    auth_basic_user_file ${dir}/htpasswd;
    location / { proxy_pass http://${host}:${ports.registry}; }
  }
}
`;
}

export async function startRegistryAuth(paths: ClusterPaths): Promise<Started> {
  await assertPortFree(component, ports.registryAuth);
  await assertPortFree(component, ports.registryAuthTls);
  const dir = dirOf(paths);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], {
    input: password(paths),
    encoding: 'utf8',
  }).trim();
  writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, registryTlsFiles(paths)));
  const p = startDetached(
    component,
    '/usr/sbin/nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf')],
    join(paths.logs, 'registry-auth.log'),
  );
  // Without credentials the proxy answers 401 itself: it listens and asks, on both listeners.
  const ca = readFileSync(registryTlsFiles(paths).ca);
  await waitUntil(
    p,
    'asking for credentials',
    async () =>
      (await fetch(`${registryAuthUrl}/subjects`, { signal: AbortSignal.timeout(2000) })).status === 401 &&
      (await statusOverTls(`${registryAuthTlsUrl}/subjects`, ca)) === 401,
    30_000,
  );
  return p;
}

/** The status of a GET over HTTPS trusting `ca` alone (Node's fetch cannot be given a CA). */
function statusOverTls(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 2 s`)));
    req.on('error', reject);
  });
}

export const registryAuthEnv = (paths: ClusterPaths): Record<string, string> => ({
  TRIBUTARY_REGISTRY_AUTH_URL: registryAuthUrl,
  TRIBUTARY_REGISTRY_AUTH_TLS_URL: registryAuthTlsUrl,
  TRIBUTARY_REGISTRY_USER: user,
  TRIBUTARY_REGISTRY_PASSWORD: password(paths),
});
