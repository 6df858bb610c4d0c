// A Confluent-compatible schema registry in the local cluster (`up --with registry`): Apicurio
// Registry 2.4.2.Final, assembled from Maven Central by test/cluster/registry/pom.xml (why this
// one: docs/dependencies.md), storage in memory (H2; gone with the process, which is what tests
// want), HTTP and HTTPS on loopback. Clients use TRIBUTARY_REGISTRY_URL, the Confluent API's base
// URL, or TRIBUTARY_REGISTRY_TLS_URL with TRIBUTARY_REGISTRY_CA (the cluster's CA, PEM).
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, runToLog, startDetached, waitUntil, type Started } from '../process.ts';
import { ClusterError } from '../errors.ts';

const component = 'registry';
const runner = 'registry-1-runner.jar';

/** The Confluent-compatible API (ccompat v7); Apicurio's own API lives beside it at /apis/registry/v2. */
export const registryUrl = `http://${host}:${ports.registry}/apis/ccompat/v7`;
export const registryTlsUrl = `https://${host}:${ports.registryTls}/apis/ccompat/v7`;

/** The registry's serving certificate and key (for 127.0.0.1), and the cluster's CA that signed them. */
export const registryTlsFiles = (paths: ClusterPaths) => ({
  cert: join(paths.pki, 'registry.crt'),
  key: join(paths.pki, 'registry.key'),
  ca: join(paths.pki, 'ca.crt'),
});

/** A serving certificate for 127.0.0.1 from the cluster's CA (made by `up` before the addons). */
async function ensureRegistryCert(paths: ClusterPaths, logFile: string): Promise<void> {
  const f = registryTlsFiles(paths);
  if (existsSync(f.cert)) return;
  const ext = join(paths.pki, 'registry.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const csr = join(paths.pki, 'registry.csr');
  const ssl = (...args: string[]) => runToLog(component, 'openssl', args, logFile, { cwd: paths.pki });
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f.key, '-out', csr, '-subj', '/CN=schema-registry');
  await ssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    f.ca,
    '-CAkey',
    join(paths.pki, 'ca.key'),
    '-CAcreateserial',
    '-out',
    f.cert,
    '-days',
    '3650',
    '-extfile',
    ext,
  );
}

/**
 * Builds the augmented Quarkus app once per version into the cache: the runner jar and its lib/
 * folder, copied from a scratch build folder and renamed into place only when complete.
 */
export async function ensureRegistryApp(paths: ClusterPaths, logFile: string): Promise<void> {
  if (existsSync(join(paths.registryHome, runner))) return;
  mkdirSync(dirname(paths.registryHome), { recursive: true });
  const build = `${paths.registryHome}.build`;
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  await runToLog(
    'registry-build',
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(repoRoot, 'test/cluster/registry/pom.xml'),
      '-DskipTests',
      `-Dapicurio.version=${versions.registry}`,
      // The build output goes to the cache's scratch folder, never into the checkout.
      `-Dregistry.build.directory=${build}/target`,
      'package',
    ],
    logFile,
  );
  const tmp = `${paths.registryHome}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  renameSync(join(build, 'target', runner), join(tmp, runner));
  renameSync(join(build, 'target', 'lib'), join(tmp, 'lib'));
  rmSync(build, { recursive: true, force: true });
  rmSync(paths.registryHome, { recursive: true, force: true });
  renameSync(tmp, paths.registryHome);
}

export async function startRegistry(paths: ClusterPaths): Promise<Started> {
  await assertPortFree(component, ports.registry);
  await assertPortFree(component, ports.registryTls);
  const logFile = join(paths.logs, 'registry.log');
  await ensureRegistryCert(paths, logFile);
  const tls = registryTlsFiles(paths);
  const p = startDetached(
    component,
    'java',
    [
      '-Xmx256m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dquarkus.http.host=${host}`,
      `-Dquarkus.http.port=${ports.registry}`,
      `-Dquarkus.http.ssl-port=${ports.registryTls}`,
      `-Dquarkus.http.ssl.certificate.files=${tls.cert}`,
      `-Dquarkus.http.ssl.certificate.key-files=${tls.key}`,
      // One request at a time: the in-memory H2 store livelocks on its id sequences when
      // registrations run concurrently (of eight concurrent new subjects most answered 500 after
      // lock timeouts, one every 4 s); serialized, each takes milliseconds. One database
      // connection instead is not enough: a register takes a second one inside its transaction.
      '-Dquarkus.thread-pool.core-threads=1',
      '-Dquarkus.thread-pool.max-threads=1',
      '-jar',
      join(paths.registryHome, runner),
    ],
    logFile,
  );
  await waitUntil(p, 'ready (/health/ready)', () => registryReady(), 90_000);
  // Confluent's registry defaults to BACKWARD, Apicurio's to NONE: the Confluent default, so an
  // incompatible register is refused (409) as it would be against Confluent's.
  const res = await fetch(`${registryUrl}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  if (!res.ok) {
    throw new ClusterError('CLUSTER_START_FAILED', component, `PUT /config BACKWARD answered ${res.status}`, {
      logFile,
    });
  }
  return p;
}

export async function registryReady(): Promise<boolean> {
  const res = await fetch(`http://${host}:${ports.registry}/health/ready`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.status === 200;
}

export const registryEnv = (paths: ClusterPaths): Record<string, string> => ({
  TRIBUTARY_REGISTRY_URL: registryUrl,
  TRIBUTARY_REGISTRY_TLS_URL: registryTlsUrl,
  TRIBUTARY_REGISTRY_CA: registryTlsFiles(paths).ca,
});
