import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { ErrorCodes, OperatorError } from './kube/errors.ts';

describe('loadConfig', () => {
  it('reads the default stateStorage as JSON and refuses a malformed one, naming the flag and field', () => {
    const s3 = { bucket: 'state-bucket', credentialsSecretRef: { name: 's3' } };
    expect(loadConfig([], { TRIBUTARY_OPERATOR_DEFAULT_STATE_STORAGE: JSON.stringify({ s3 }) })).toMatchObject({
      defaultStateStorage: { s3 },
    });
    expect(loadConfig(['--default-state-storage', '{}'], {})).not.toHaveProperty('defaultStateStorage');
    const bad = (text: string) => () => loadConfig(['--default-state-storage', text], {});
    expect(bad('{s3:')).toThrow(/--default-state-storage: not JSON or YAML/);
    expect(bad('[]')).toThrow(/expected an object like spec.stateStorage/);
    expect(bad('{s3: {bucket: abc, endpont: "http://x:1"}}')).toThrow(
      /--default-state-storage\.s3\.endpont: unknown field/,
    );
    expect(bad('{"s3":{"bucket":"UPPER"}}')).toThrow(/--default-state-storage\.s3\.bucket: must be an S3 bucket name/);
    expect(bad('{"s3":{"bucket":"abc"},"pvc":{"claimName":"c"}}')).toThrow(/exactly one place/);
  });

  it('reads the default stateStorage as YAML too (the form a shell line can hold without escapes)', () => {
    expect(
      loadConfig(
        [
          '--default-state-storage',
          "{s3: {bucket: tributary, endpoint: 'http://127.0.0.1:17070', region: us-east-1, credentialsSecretRef: {name: s3-credentials}}}",
        ],
        {},
      ),
    ).toMatchObject({
      defaultStateStorage: {
        s3: {
          bucket: 'tributary',
          endpoint: 'http://127.0.0.1:17070',
          region: 'us-east-1',
          credentialsSecretRef: { name: 's3-credentials' },
        },
      },
    });
  });

  it('reads flags over environment over defaults', () => {
    const cfg = loadConfig(['--workers', '2'], {
      TRIBUTARY_OPERATOR_WORKERS: '8',
      TRIBUTARY_OPERATOR_NAMESPACES: 'a, b',
    });
    expect(cfg).toMatchObject({ workers: 2, namespaces: ['a', 'b'], metricsPort: 8080 });
  });

  it('elects a leader by default only inside a pod (run from a checkout there is one operator)', () => {
    expect(loadConfig([], {})).toMatchObject({ leaderElect: false, inCluster: false });
    expect(loadConfig([], { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toMatchObject({
      leaderElect: true,
      inCluster: true,
    });
    expect(loadConfig(['--leader-elect', 'true'], {})).toMatchObject({ leaderElect: true, inCluster: false });
  });

  it('reads the leader election timings (client-go defaults) and refuses an order a leader could not keep', () => {
    expect(loadConfig([], {})).toMatchObject({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(
      loadConfig(['--leader-elect-lease-duration=6s', '--leader-elect-renew-deadline=4s'], {
        TRIBUTARY_OPERATOR_LEADER_ELECT_RETRY_PERIOD: '500ms',
      }),
    ).toMatchObject({ leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 });
    const bad =
      (...args: string[]) =>
      () =>
        loadConfig(args, {});
    expect(bad('--leader-elect-renew-deadline=15s')).toThrow(
      /--leader-elect-renew-deadline \(15000 ms\) must be shorter than --leader-elect-lease-duration/,
    );
    expect(bad('--leader-elect-retry-period=10s')).toThrow(/--leader-elect-retry-period \(10000 ms\) must be shorter/);
    expect(
      bad(
        '--leader-elect-lease-duration=1500ms',
        '--leader-elect-renew-deadline=1s',
        '--leader-elect-retry-period=200ms',
      ),
    ).toThrow(/the Lease holds whole seconds/);
    expect(bad('--leader-elect-renew-deadline=soon')).toThrow(OperatorError);
  });

  it('reads the DruidDatasource controller outage bounds and refuses a max below the initial retry', () => {
    expect(loadConfig([], {})).toMatchObject({
      druidRetryInitialMs: 1_000,
      druidRetryMaxMs: 30_000,
      druidTroubleLogIntervalMs: 30_000,
      druidPollIntervalMs: 30_000,
    });
    expect(
      loadConfig(['--druid-retry-initial=250ms', '--druid-poll-interval=5s'], {
        TRIBUTARY_OPERATOR_DRUID_RETRY_MAX: '3s',
        TRIBUTARY_OPERATOR_DRUID_TROUBLE_LOG_INTERVAL: '10s',
      }),
    ).toMatchObject({
      druidRetryInitialMs: 250,
      druidRetryMaxMs: 3_000,
      druidTroubleLogIntervalMs: 10_000,
      druidPollIntervalMs: 5_000,
    });
    expect(() => loadConfig(['--druid-retry-initial=5s', '--druid-retry-max=2s'], {})).toThrow(
      /--druid-retry-max \(2000 ms\) must not be shorter than --druid-retry-initial \(5000 ms\)/,
    );
    expect(() => loadConfig(['--druid-poll-interval=0s'], {})).toThrow(/--druid-poll-interval: expected a positive/);
  });

  it('serves the webhooks only when given an address; the certificate directory resolves under the pod root', () => {
    expect(loadConfig([], {})).not.toHaveProperty('webhook');
    expect(loadConfig(['--webhook-addr', ':9443'], {})).toMatchObject({
      webhook: {
        host: '0.0.0.0',
        port: 9443,
        certFile: '/etc/tributary/webhook-tls/tls.crt',
        keyFile: '/etc/tributary/webhook-tls/tls.key',
      },
    });
    const env = {
      TRIBUTARY_OPERATOR_WEBHOOK_ADDR: '127.0.1.5:9443',
      TRIBUTARY_OPERATOR_WEBHOOK_CERT_DIR: '/certs',
      TRIBUTARY_POD_ROOT: '/pods/p1/root',
    };
    expect(loadConfig([], env)).toMatchObject({
      webhook: { host: '127.0.1.5', port: 9443, certFile: '/pods/p1/root/certs/tls.crt' },
    });
    expect(loadConfig(['--webhook-cert-dir', 'certs'], { ...env, TRIBUTARY_POD_ROOT: '' })).toMatchObject({
      webhook: { certFile: 'certs/tls.crt' },
    });
  });

  it('reads the registries the webhook may call (none by default) and refuses what is not an http(s) URL', () => {
    expect(loadConfig([], {})).toMatchObject({ webhookSchemaRegistries: [] });
    expect(
      loadConfig([], { TRIBUTARY_OPERATOR_WEBHOOK_SCHEMA_REGISTRIES: 'http://sr.kafka:8081, https://sr2/apis/' }),
    ).toMatchObject({ webhookSchemaRegistries: ['http://sr.kafka:8081', 'https://sr2/apis/'] });
    for (const bad of ['sr.kafka:8081', 'file:///etc', 'http://user:pw@sr'])
      expect(() => loadConfig([`--webhook-schema-registries=${bad}`], {})).toThrow(
        /--webhook-schema-registries: expected http\(s\) URL prefixes without credentials/,
      );
  });

  it('rejects bad operator configuration with OPERATOR_CONFIG', () => {
    for (const argv of [
      ['--metrics-addr', 'nohostport'],
      ['--workers', '0'],
      ['--leader-elect', 'maybe'],
      ['--webhook-addr', 'h:99999'],
    ]) {
      let err: unknown;
      try {
        loadConfig(argv, {});
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).toBeInstanceOf(OperatorError);
      expect((err as OperatorError).code).toBe(ErrorCodes.CONFIG);
    }
  });

  it('serves the dashboard only when given an address; a bare port binds loopback only', () => {
    expect(loadConfig([], {})).not.toHaveProperty('dashboard');
    expect(loadConfig(['--dashboard-addr', '8081'], {})).toMatchObject({
      dashboard: { host: '127.0.0.1', port: 8081, sampleIntervalMs: 5_000, capacity: 360 },
    });
    expect(loadConfig(['--dashboard-addr=:8081'], {})).toMatchObject({ dashboard: { host: '127.0.0.1' } });
    expect(
      loadConfig(['--dashboard-sample-interval', '2s'], {
        TRIBUTARY_OPERATOR_DASHBOARD_ADDR: '0.0.0.0:8081',
        TRIBUTARY_OPERATOR_DASHBOARD_POINTS: '120',
      }),
    ).toMatchObject({ dashboard: { host: '0.0.0.0', port: 8081, sampleIntervalMs: 2_000, capacity: 120 } });
    for (const argv of [
      ['--dashboard-addr', 'h:99999'],
      ['--dashboard-addr', '8081', '--dashboard-points', '1'],
      ['--dashboard-addr', '8081', '--dashboard-sample-interval', '0s'],
    ])
      expect(() => loadConfig(argv, {}), argv.join(' ')).toThrow(OperatorError);
  });
});
