// Operator configuration from flags (`--name=value` or `--name value`) over environment
// variables (TRIBUTARY_OPERATOR_*) over defaults.
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, OperatorError } from './kube/errors.ts';
import { DEFAULT_RUNTIME_IMAGE } from './version.ts';
import type { StateStorage } from './api/v1alpha1/streamjob.ts';
import { placeIssues } from './controllers/streamjob/state-storage.ts';
import { FAULT_KILL_ENV, parseKillPoint, type KillPoint } from './controllers/streamjob/fault-kill.ts';

export interface OperatorConfig {
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  /** Service accounts a StreamJob may name for its slot pods; empty = only the operator-made one. */
  allowedServiceAccounts: string[];
  metricsHost: string;
  metricsPort: number;
  leaderElect: boolean;
  /** Running in a pod (in-cluster service account): leader election keeps trying rather than failing fast. */
  inCluster: boolean;
  leaseNamespace: string;
  leaseName: string;
  /**
   * Leader election timings (ms), client-go's: a standby takes over once the Lease's record has
   * not changed for leaseDuration; the leader gives up (and exits) when it could not renew for
   * renewDeadline; both try every retryPeriod. retryPeriod < renewDeadline < leaseDuration.
   */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  defaultImage: string;
  /** stateStorage of StreamJobs that name no place (the chart's values.stateStorage). */
  defaultStateStorage?: StateStorage;
  workers: number;
  /** Deadline of every kube-apiserver request but watches (ms): a hung apiserver fails it then. */
  kubeRequestTimeoutMs: number;
  /** While the kube-apiserver is unavailable, warn this often (ms; kube/api-health.ts). */
  kubeTroubleLogIntervalMs: number;
  logLevel: string;
  druid: boolean;
  /**
   * The DruidDatasource controller while Druid does not answer (ms; druid-outage.ts): retries
   * back off from druidRetryInitialMs doubling to druidRetryMaxMs (the bound on time-to-recover
   * once Druid is back), warning at most every druidTroubleLogIntervalMs; a settled object is
   * checked every druidPollIntervalMs (the bound on noticing an outage).
   */
  druidRetryInitialMs: number;
  druidRetryMaxMs: number;
  druidTroubleLogIntervalMs: number;
  druidPollIntervalMs: number;
  /**
   * The read-only web dashboard (operator/src/dashboard/): where it listens, how often it samples
   * the slots, how many points each series keeps; absent = not served (the chart turns it on).
   */
  dashboard?: { host: string; port: number; sampleIntervalMs: number; capacity: number };
  /** The validating webhooks' HTTPS server; absent = not served. */
  webhook?: { host: string; port: number; certFile: string; keyFile: string };
  /**
   * URL prefixes of the schema registries the StreamJob webhook may ask for a source's schema version, to check
   * the graph's fields against it (controllers/streamjob/registry-admission.ts); empty: it calls none.
   */
  webhookSchemaRegistries: string[];
  /**
   * TEST-ONLY (TRIBUTARY_FAULT_KILL_AFTER_WRITE, no flag): SIGKILL this process right after that
   * status write (controllers/streamjob/fault-kill.ts).
   */
  faultKillAfterWrite?: KillPoint;
}

const usage = `tributary operator

  --namespaces a,b       namespaces to watch (default: all)        TRIBUTARY_OPERATOR_NAMESPACES
  --allowed-service-accounts a,b  service accounts a StreamJob may name
                         in spec.podTemplate.serviceAccountName (none) TRIBUTARY_OPERATOR_ALLOWED_SERVICE_ACCOUNTS
  --metrics-addr h:p     /healthz /readyz /metrics (0.0.0.0:8080)  TRIBUTARY_OPERATOR_METRICS_ADDR
  --leader-elect         leader election (in a pod: true, else false) TRIBUTARY_OPERATOR_LEADER_ELECT
  --lease-namespace ns   (tributary-system, or POD_NAMESPACE)      TRIBUTARY_OPERATOR_LEASE_NAMESPACE
  --lease-name n         (tributary-operator)                      TRIBUTARY_OPERATOR_LEASE_NAME
  --leader-elect-lease-duration d  a standby takes the Lease over once its
                         holder has not renewed it this long (15s)  TRIBUTARY_OPERATOR_LEADER_ELECT_LEASE_DURATION
  --leader-elect-renew-deadline d  the leader stops reconciling and exits
                         (OPERATOR_LEADERSHIP_LOST) when it could not renew
                         the Lease this long, e.g. an apiserver outage (10s)
                                                                   TRIBUTARY_OPERATOR_LEADER_ELECT_RENEW_DEADLINE
  --leader-elect-retry-period d  how often to try to acquire or renew (2s)
                                                                   TRIBUTARY_OPERATOR_LEADER_ELECT_RETRY_PERIOD
  --default-image img    runtime image when spec.image is empty    TRIBUTARY_OPERATOR_DEFAULT_IMAGE
  --default-state-storage json|yaml  spec.stateStorage of jobs that name no place,
                         e.g. {s3: {bucket: b, credentialsSecretRef: {name: s3}}}
                                                                   TRIBUTARY_OPERATOR_DEFAULT_STATE_STORAGE
  --workers n            StreamJob reconcile workers (4)           TRIBUTARY_OPERATOR_WORKERS
  --kube-request-timeout d  deadline of each kube-apiserver request
                         but watches, e.g. 30s, 5s, 1500ms (30s)    TRIBUTARY_OPERATOR_KUBE_REQUEST_TIMEOUT
  --kube-trouble-log-interval d  while the kube-apiserver does not answer
                         (or answers 429/5xx), warn this often (30s) TRIBUTARY_OPERATOR_KUBE_TROUBLE_LOG_INTERVAL
  --log-level l          (info)                                    TRIBUTARY_LOG_LEVEL
  --no-druid             do not run the DruidDatasource controller
  --druid-retry-initial d, --druid-retry-max d  while Druid does not answer, a
                         DruidDatasource's sync is retried after the first, doubling up
                         to the second (1s, 30s)                   TRIBUTARY_OPERATOR_DRUID_RETRY_INITIAL, …_MAX
  --druid-trouble-log-interval d  while Druid does not answer, warn this often (30s)
                                                                   TRIBUTARY_OPERATOR_DRUID_TROUBLE_LOG_INTERVAL
  --druid-poll-interval d  how often a settled supervisor is checked (30s)
                                                                   TRIBUTARY_OPERATOR_DRUID_POLL_INTERVAL
  --dashboard-addr h:p   serve the web dashboard (off; a bare port or :p
                         binds 127.0.0.1)                          TRIBUTARY_OPERATOR_DASHBOARD_ADDR
  --dashboard-sample-interval d  how often it asks each running slot
                         for its status (5s)                       TRIBUTARY_OPERATOR_DASHBOARD_SAMPLE_INTERVAL
  --dashboard-points n   points kept per series and job (360)      TRIBUTARY_OPERATOR_DASHBOARD_POINTS
  --webhook-addr h:p     serve the validating webhooks (off)       TRIBUTARY_OPERATOR_WEBHOOK_ADDR
  --webhook-cert-dir d   its tls.crt and tls.key                   TRIBUTARY_OPERATOR_WEBHOOK_CERT_DIR
  --webhook-schema-registries u,v  URL prefixes of the schema registries the
                         StreamJob webhook may ask for a source's schema (none)
                                                                   TRIBUTARY_OPERATOR_WEBHOOK_SCHEMA_REGISTRIES
                         (/etc/tributary/webhook-tls)
  KUBECONFIG / in-cluster service account: where the API server is.`;

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig | { help: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      namespaces: { type: 'string' },
      'allowed-service-accounts': { type: 'string' },
      'metrics-addr': { type: 'string' },
      'leader-elect': { type: 'string' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
      'leader-elect-lease-duration': { type: 'string' },
      'leader-elect-renew-deadline': { type: 'string' },
      'leader-elect-retry-period': { type: 'string' },
      'default-image': { type: 'string' },
      'default-state-storage': { type: 'string' },
      workers: { type: 'string' },
      'kube-request-timeout': { type: 'string' },
      'kube-trouble-log-interval': { type: 'string' },
      'log-level': { type: 'string' },
      'no-druid': { type: 'boolean' },
      'druid-retry-initial': { type: 'string' },
      'druid-retry-max': { type: 'string' },
      'druid-trouble-log-interval': { type: 'string' },
      'druid-poll-interval': { type: 'string' },
      'dashboard-addr': { type: 'string' },
      'dashboard-sample-interval': { type: 'string' },
      'dashboard-points': { type: 'string' },
      'webhook-addr': { type: 'string' },
      'webhook-cert-dir': { type: 'string' },
      'webhook-schema-registries': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return { help: usage };
  const pick = (flag: string | undefined, name: string, dflt: string) =>
    flag ?? env[`TRIBUTARY_OPERATOR_${name}`] ?? dflt;
  const metrics = hostPort('--metrics-addr', pick(values['metrics-addr'], 'METRICS_ADDR', '0.0.0.0:8080'));
  const webhookAddr = pick(values['webhook-addr'], 'WEBHOOK_ADDR', '');
  const dashboard = dashboardConfig(
    pick(values['dashboard-addr'], 'DASHBOARD_ADDR', ''),
    pick(values['dashboard-sample-interval'], 'DASHBOARD_SAMPLE_INTERVAL', '5s'),
    pick(values['dashboard-points'], 'DASHBOARD_POINTS', '360'),
  );
  // In-container paths resolve against TRIBUTARY_POD_ROOT under the local node agent (as the
  // service-account files do, kube/kubeconfig.ts); in a real pod it is unset.
  const certDir = pick(values['webhook-cert-dir'], 'WEBHOOK_CERT_DIR', '/etc/tributary/webhook-tls');
  const podDir = env.TRIBUTARY_POD_ROOT && isAbsolute(certDir) ? join(env.TRIBUTARY_POD_ROOT, certDir) : certDir;
  const workers = Number(pick(values.workers, 'WORKERS', '4'));
  if (!Number.isInteger(workers) || workers < 1)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--workers: expected a positive integer, got ${JSON.stringify(values.workers)}`,
    );
  // Leader election guards against two operators in one cluster (the chart turns it on). Run
  // from a checkout against a cluster (`npm run operator`), there is one operator and the
  // Lease's namespace may not exist, so the default is on only inside a pod.
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '';
  const elect = pick(values['leader-elect'], 'LEADER_ELECT', inCluster ? 'true' : 'false');
  if (!['true', 'false'].includes(elect))
    throw new OperatorError(ErrorCodes.CONFIG, `--leader-elect: expected true or false, got ${JSON.stringify(elect)}`);
  const kubeRequestTimeoutMs = durationMs(
    '--kube-request-timeout',
    pick(values['kube-request-timeout'], 'KUBE_REQUEST_TIMEOUT', '30s'),
  );
  const kubeTroubleLogIntervalMs = durationMs(
    '--kube-trouble-log-interval',
    pick(values['kube-trouble-log-interval'], 'KUBE_TROUBLE_LOG_INTERVAL', '30s'),
  );
  const lease = leaseTimings(
    durationMs(
      '--leader-elect-lease-duration',
      pick(values['leader-elect-lease-duration'], 'LEADER_ELECT_LEASE_DURATION', '15s'),
    ),
    durationMs(
      '--leader-elect-renew-deadline',
      pick(values['leader-elect-renew-deadline'], 'LEADER_ELECT_RENEW_DEADLINE', '10s'),
    ),
    durationMs(
      '--leader-elect-retry-period',
      pick(values['leader-elect-retry-period'], 'LEADER_ELECT_RETRY_PERIOD', '2s'),
    ),
  );
  const druidRetryInitialMs = durationMs(
    '--druid-retry-initial',
    pick(values['druid-retry-initial'], 'DRUID_RETRY_INITIAL', '1s'),
  );
  const druidRetryMaxMs = durationMs('--druid-retry-max', pick(values['druid-retry-max'], 'DRUID_RETRY_MAX', '30s'));
  if (druidRetryMaxMs < druidRetryInitialMs)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--druid-retry-max (${druidRetryMaxMs} ms) must not be shorter than --druid-retry-initial (${druidRetryInitialMs} ms)`,
    );
  const list = (text: string) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const stateStorage = defaultStateStorage(pick(values['default-state-storage'], 'DEFAULT_STATE_STORAGE', ''));
  const killPoint = parseKillPoint(env[FAULT_KILL_ENV] ?? '');
  return {
    ...(killPoint ? { faultKillAfterWrite: killPoint } : {}),
    ...(stateStorage ? { defaultStateStorage: stateStorage } : {}),
    namespaces: list(pick(values.namespaces, 'NAMESPACES', '')),
    allowedServiceAccounts: list(pick(values['allowed-service-accounts'], 'ALLOWED_SERVICE_ACCOUNTS', '')),
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    leaderElect: elect === 'true',
    inCluster,
    leaseNamespace: pick(values['lease-namespace'], 'LEASE_NAMESPACE', env.POD_NAMESPACE ?? 'tributary-system'),
    leaseName: pick(values['lease-name'], 'LEASE_NAME', 'tributary-operator'),
    ...lease,
    defaultImage: pick(values['default-image'], 'DEFAULT_IMAGE', DEFAULT_RUNTIME_IMAGE),
    workers,
    kubeRequestTimeoutMs,
    kubeTroubleLogIntervalMs,
    logLevel: values['log-level'] ?? env.TRIBUTARY_LOG_LEVEL ?? 'info',
    druid: !values['no-druid'] && env.TRIBUTARY_OPERATOR_DRUID !== 'false',
    druidRetryInitialMs,
    druidRetryMaxMs,
    druidTroubleLogIntervalMs: durationMs(
      '--druid-trouble-log-interval',
      pick(values['druid-trouble-log-interval'], 'DRUID_TROUBLE_LOG_INTERVAL', '30s'),
    ),
    druidPollIntervalMs: durationMs(
      '--druid-poll-interval',
      pick(values['druid-poll-interval'], 'DRUID_POLL_INTERVAL', '30s'),
    ),
    webhookSchemaRegistries: registryPrefixes(
      list(pick(values['webhook-schema-registries'], 'WEBHOOK_SCHEMA_REGISTRIES', '')),
    ),
    ...(dashboard ? { dashboard } : {}),
    ...(webhookAddr
      ? {
          webhook: {
            ...hostPort('--webhook-addr', webhookAddr),
            certFile: join(podDir, 'tls.crt'),
            keyFile: join(podDir, 'tls.key'),
          },
        }
      : {}),
  };
}

/** Each an http(s) URL without credentials: the webhook compares a source's registry URL with them. */
function registryPrefixes(prefixes: string[]): string[] {
  for (const p of prefixes) {
    let u: URL | undefined;
    try {
      u = new URL(p);
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '')
      throw new OperatorError(
        ErrorCodes.CONFIG,
        `--webhook-schema-registries: expected http(s) URL prefixes without credentials, got ${JSON.stringify(p)}`,
      );
  }
  return prefixes;
}

/** `30s`, `1500ms`, `2m`: a positive duration in ms. */
function durationMs(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!(ms > 0))
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `${flag}: expected a positive duration such as 30s or 1500ms, got ${JSON.stringify(text)}`,
    );
  return ms;
}

/**
 * retryPeriod < renewDeadline < leaseDuration: a leader must get more than one renewal attempt
 * before its deadline, and must stop before a standby may take over (client-go's rule). The
 * Lease stores whole seconds, so leaseDuration is too.
 */
function leaseTimings(
  leaseDurationMs: number,
  renewDeadlineMs: number,
  retryPeriodMs: number,
): { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  if (leaseDurationMs % 1000 !== 0)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--leader-elect-lease-duration: the Lease holds whole seconds, got ${leaseDurationMs} ms`,
    );
  if (!(renewDeadlineMs < leaseDurationMs))
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--leader-elect-renew-deadline (${renewDeadlineMs} ms) must be shorter than --leader-elect-lease-duration (${leaseDurationMs} ms)`,
    );
  if (!(retryPeriodMs < renewDeadlineMs))
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--leader-elect-retry-period (${retryPeriodMs} ms) must be shorter than --leader-elect-renew-deadline (${renewDeadlineMs} ms)`,
    );
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** Fields the default may have, per level (a misspelt one would otherwise be ignored). */
const storageFields: Record<string, readonly string[]> = {
  '': ['s3', 'pvc', 'emptyDir', 'path', 'retention'],
  '.s3': ['bucket', 'prefix', 'endpoint', 'region', 'pathStyle', 'requestTimeout', 'credentialsSecretRef'],
  '.s3.credentialsSecretRef': ['name', 'accessKeyIdKey', 'secretAccessKeyKey'],
  '.pvc': ['claimName'],
};

/**
 * Parsed (JSON, or YAML, its superset: `{s3: {bucket: b}}` reads well on a command line) and
 * checked like a spec's stateStorage; '' or {} = no default.
 */
function defaultStateStorage(text: string): StateStorage | undefined {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--default-state-storage: not JSON or YAML: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new OperatorError(
      ErrorCodes.CONFIG,
      '--default-state-storage: expected an object like spec.stateStorage, e.g. {s3: {bucket: my-bucket}}',
    );
  const storage = parsed as StateStorage;
  if (Object.keys(storage).length === 0) return undefined;
  const unknown: string[] = [];
  for (const [at, known] of Object.entries(storageFields)) {
    const o = at
      .split('.')
      .slice(1)
      .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], storage);
    if (o && typeof o === 'object')
      for (const k of Object.keys(o)) if (!known.includes(k)) unknown.push(`--default-state-storage${at}.${k}`);
  }
  if (unknown.length > 0)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `${unknown.join(', ')}: unknown field (a stateStorage has no such field)`,
    );
  const issues = placeIssues(storage, '--default-state-storage');
  if (issues.length > 0)
    throw new OperatorError(ErrorCodes.CONFIG, issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  return storage;
}

/**
 * Off unless an address is given. A bare port (`8081`, `:8081`) binds 127.0.0.1: from a checkout
 * (`npm run operator`) the dashboard is for this machine only; the chart passes 0.0.0.0 explicitly
 * (`kubectl port-forward` and the API server's service proxy reach it there).
 */
function dashboardConfig(addr: string, interval: string, points: string): OperatorConfig['dashboard'] {
  if (addr.trim() === '') return undefined;
  const { host, port } = hostPort(
    '--dashboard-addr',
    /^:?\d+$/.test(addr) ? `127.0.0.1:${addr.replace(/^:/, '')}` : addr,
  );
  const capacity = Number(points);
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > 100_000)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `--dashboard-points: expected an integer from 2 to 100000, got ${JSON.stringify(points)}`,
    );
  return { host, port, sampleIntervalMs: durationMs('--dashboard-sample-interval', interval), capacity };
}

function hostPort(flag: string, addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const port = Number(addr.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new OperatorError(ErrorCodes.CONFIG, `${flag}: expected host:port, got ${JSON.stringify(addr)}`);
  return { host: addr.slice(0, colon) || '0.0.0.0', port };
}
