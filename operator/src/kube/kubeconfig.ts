// Where the API server is and how to authenticate to it, loaded the way client-node's
// `KubeConfig.loadFromDefault()` does ($KUBECONFIG, ~/.kube/config, then the in-cluster
// service account), but without importing client-node: its module graph alone costs ~80 MB
// of RSS (every generated API is loaded eagerly), over half the operator's 150 MB budget.
// Credentials we do not handle natively (exec plugins, auth providers) fall back to a lazy
// import of client-node, paid only by such configurations.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ErrorCodes, OperatorError } from './errors.ts';

export interface Connection {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  skipTLSVerify?: boolean;
  /** Authorization headers; called at most once a minute (tokens rotate). */
  authHeaders: () => Promise<Record<string, string>>;
  /** The namespace of the current context (or the service account's), if any. */
  namespace?: string;
}

// Under the local node agent a container's files live below TRIBUTARY_POD_ROOT (see
// test/cluster/node-agent/README.md); in a real pod the variable is unset and this is the
// kubelet's absolute path.
const SA_DIR = join(process.env.TRIBUTARY_POD_ROOT ?? '/', 'var/run/secrets/kubernetes.io/serviceaccount');

interface NamedCluster {
  name: string;
  cluster: {
    server: string;
    'certificate-authority'?: string;
    'certificate-authority-data'?: string;
    'insecure-skip-tls-verify'?: boolean;
  };
}
interface NamedUser {
  name: string;
  user: {
    token?: string;
    tokenFile?: string;
    'client-certificate'?: string;
    'client-certificate-data'?: string;
    'client-key'?: string;
    'client-key-data'?: string;
    username?: string;
    password?: string;
    exec?: unknown;
    'auth-provider'?: unknown;
  };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string };
}
interface KubeConfigFile {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

/** $KUBECONFIG (first file), ~/.kube/config, else in-cluster. */
export async function loadDefaultConnection(): Promise<Connection> {
  const env = process.env.KUBECONFIG?.split(':').find((f) => f !== '');
  if (env) return loadKubeconfigFile(env);
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return loadKubeconfigFile(home);
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(join(SA_DIR, 'token'))) return inClusterConnection();
  throw new OperatorError(
    ErrorCodes.KUBECONFIG,
    'no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster',
  );
}

export function inClusterConnection(): Connection {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const tokenFile = join(SA_DIR, 'token');
  const nsFile = join(SA_DIR, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(SA_DIR, 'ca.crt')),
    // The projected token is rotated on disk; re-read it on every refresh.
    authHeaders: async () => ({ authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }),
    ...(existsSync(nsFile) ? { namespace: readFileSync(nsFile, 'utf8').trim() } : {}),
  };
}

export async function loadKubeconfigFile(file: string, contextName?: string): Promise<Connection> {
  let doc: KubeConfigFile;
  try {
    doc = parse(readFileSync(file, 'utf8')) as KubeConfigFile;
  } catch (cause) {
    throw new OperatorError(ErrorCodes.KUBECONFIG, `cannot read kubeconfig ${file}`, { cause });
  }
  const ctxName = contextName ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  if (!ctx || !cluster?.server)
    throw new OperatorError(ErrorCodes.KUBECONFIG, `kubeconfig ${file}: no cluster for context ${ctxName ?? '(none)'}`);
  const base = dirname(file);
  const read = (path: string | undefined, data: string | undefined): Buffer | undefined => {
    if (data) return Buffer.from(data, 'base64');
    if (path) return readFileSync(isAbsolute(path) ? path : join(base, path));
    return undefined;
  };
  const ca = read(cluster['certificate-authority'], cluster['certificate-authority-data']);
  const cert = read(user['client-certificate'], user['client-certificate-data']);
  const key = read(user['client-key'], user['client-key-data']);
  const tls = {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(cluster['insecure-skip-tls-verify'] ? { skipTLSVerify: true } : {}),
  };
  const common = { server: cluster.server, ...tls, ...(ctx.namespace ? { namespace: ctx.namespace } : {}) };

  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    const { KubeConfig: KC } = await import('@kubernetes/client-node');
    const kc = new KC();
    kc.loadFromFile(file);
    if (contextName) kc.setCurrentContext(contextName);
    return { ...common, authHeaders: () => headersFromKubeConfig(kc) };
  }
  const { token, tokenFile, username, password } = user;
  const tokenPath = tokenFile ? (isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile)) : undefined;
  return {
    ...common,
    authHeaders: async (): Promise<Record<string, string>> => {
      if (tokenPath) return { authorization: `Bearer ${readFileSync(tokenPath, 'utf8').trim()}` };
      if (token) return { authorization: `Bearer ${token}` };
      if (username !== undefined)
        return { authorization: `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` };
      return {};
    },
  };
}

/**
 * A Connection from a client-node KubeConfig the caller already has (type-only import here:
 * the caller has paid for client-node already).
 */
export async function connectionFromKubeConfig(kc: KubeConfig): Promise<Connection> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new OperatorError(ErrorCodes.KUBECONFIG, 'kubeconfig has no current cluster');
  const tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer } = {};
  await kc.applyToHTTPSOptions(tls);
  const buf = (v: string | Buffer | undefined) =>
    v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v);
  const ca = buf(tls.ca);
  const cert = buf(tls.cert);
  const key = buf(tls.key);
  return {
    server: cluster.server,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(cluster.skipTLSVerify ? { skipTLSVerify: true } : {}),
    authHeaders: () => headersFromKubeConfig(kc),
  };
}

async function headersFromKubeConfig(kc: KubeConfig): Promise<Record<string, string>> {
  const opts: { headers?: Record<string, unknown>; auth?: string } = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return headers;
}
