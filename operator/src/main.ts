#!/usr/bin/env node
// The operator process (`npm run operator`, image tributary/operator:*): one Manager with
// leader election, the StreamJob and DruidDatasource controllers per watched namespace (or
// cluster-wide), the probe server (/healthz, /readyz, /metrics) and, when configured, the
// validating webhooks' HTTPS server, and the read-only web dashboard. Every replica serves the
// webhooks, leader or not: they read only the request (and a referenced object), never the
// caches. Every replica serves the dashboard too: the informers' caches are warm on a follower.
import { KubeClient, Manager, startAdmissionServer, type AdmissionServer } from './kube/index.ts';
import type { Registry } from 'prom-client';
import { createLogger, type Logger } from './telemetry/logger.ts';
import { createRegistry } from './telemetry/metrics.ts';
import { startProbeServer } from './telemetry/server.ts';
import { loadConfig, type OperatorConfig } from './config.ts';
import { addStreamJobController } from './controllers/streamjob/controller.ts';
import { addDruidDatasourceController } from './controllers/druiddatasource/controller.ts';
import { streamJobAdmission } from './controllers/streamjob/admission.ts';
import { druidDatasourceAdmission } from './controllers/druiddatasource/admission.ts';
import { killAfterWrite } from './controllers/streamjob/fault-kill.ts';
import { streamJobInformers } from './controllers/streamjob/controller.ts';
import { RuntimeClient } from './runtime-client/client.ts';
import { OperatorDashboard } from './dashboard/operator-dashboard.ts';
import { startDashboardServer, type DashboardServer } from '../../runtime/src/dashboard/dashboard-server.ts';

async function main(): Promise<number> {
  let cfg;
  try {
    cfg = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if ('help' in cfg) {
    process.stdout.write(`${cfg.help}\n`);
    return 0;
  }
  const logger: Logger = createLogger({ level: cfg.logLevel as 'info' });
  const registry = createRegistry();
  const client = await KubeClient.fromDefault({ timeoutMs: cfg.kubeRequestTimeoutMs });
  client.health.reportEveryMs = cfg.kubeTroubleLogIntervalMs;
  const mgr = newManager(cfg, client, registry, logger);
  const shared = sharedSettings(cfg);
  const closers = addControllers(mgr, cfg, shared, logger);
  const dashboard = cfg.dashboard
    ? await startDashboard(cfg.dashboard, shared, mgr, client, logger, closers)
    : undefined;
  const webhooks = cfg.webhook ? await startWebhooks(cfg, cfg.webhook, shared, client, registry, logger) : undefined;
  const probes = await startProbeServer({
    registry,
    ready: () => mgr.readiness(),
    host: cfg.metricsHost,
    port: cfg.metricsPort,
  });
  logger.info(
    {
      namespaces: cfg.namespaces.length ? cfg.namespaces : 'all',
      allowedServiceAccounts: cfg.allowedServiceAccounts,
      probes: probes.url,
      webhooks: webhooks?.url ?? 'off',
      dashboard: dashboard?.server.url ?? 'off',
      leaderElection: cfg.leaderElect,
      defaultImage: cfg.defaultImage,
      // Names the place only: credentials are a Secret's name, never keys.
      defaultStateStorage: cfg.defaultStateStorage ?? 'none (jobs must name stateStorage)',
    },
    'operator starting',
  );
  mgr.installSignalHandlers();
  try {
    await mgr.run();
    return 0;
  } catch (err) {
    logger.error({ err }, 'operator stopped');
    return 1;
  } finally {
    await dashboard?.server.close();
    await dashboard?.dashboard.stop();
    await Promise.allSettled(closers.map((c) => c()));
    await probes.close();
    await webhooks?.close();
    await client.close();
  }
}

function newManager(cfg: OperatorConfig, client: KubeClient, registry: Registry, logger: Logger): Manager {
  return new Manager({
    client,
    registry,
    logger,
    // Outside a pod nobody will create the Lease's namespace or Role for us: fail within
    // seconds with the reason instead of campaigning forever.
    ...(cfg.leaderElect
      ? {
          leaderElection: {
            namespace: cfg.leaseNamespace,
            name: cfg.leaseName,
            leaseDurationMs: cfg.leaseDurationMs,
            renewDeadlineMs: cfg.renewDeadlineMs,
            retryPeriodMs: cfg.retryPeriodMs,
            ...(cfg.inCluster ? {} : { failAfterMs: 5_000 }),
          },
        }
      : {}),
  });
}

/** What the controllers, the dashboard and the webhooks share. */
interface SharedSettings {
  /** The namespaces watched; `undefined`: the whole cluster. */
  scopes: (string | undefined)[];
  podPolicy: { allowedServiceAccounts: string[] };
  stateDefaults: { stateStorage?: NonNullable<OperatorConfig['defaultStateStorage']> };
}

function sharedSettings(cfg: OperatorConfig): SharedSettings {
  return {
    scopes: cfg.namespaces.length ? cfg.namespaces : [undefined],
    podPolicy: { allowedServiceAccounts: cfg.allowedServiceAccounts },
    stateDefaults: cfg.defaultStateStorage ? { stateStorage: cfg.defaultStateStorage } : {},
  };
}

/** The controllers of every scope; returns what closes them. */
function addControllers(
  mgr: Manager,
  cfg: OperatorConfig,
  { scopes, podPolicy, stateDefaults }: SharedSettings,
  logger: Logger,
): (() => Promise<void>)[] {
  const closers: (() => Promise<void>)[] = [];
  const faultKill = cfg.faultKillAfterWrite;
  if (faultKill)
    logger.warn({ faultKillAfterWrite: faultKill }, 'TEST-ONLY fault injection armed: SIGKILL after a status write');
  // One hook for every scope: it fires once per process.
  const afterWrite = faultKill ? killAfterWrite(faultKill) : undefined;
  for (const namespace of scopes) {
    const ns = namespace ? { namespace } : {};
    closers.push(
      addStreamJobController(mgr, {
        ...ns,
        workers: cfg.workers,
        defaultImage: cfg.defaultImage,
        ...(stateDefaults.stateStorage ? { defaultStateStorage: stateDefaults.stateStorage } : {}),
        podPolicy,
        ...(afterWrite ? { afterWrite } : {}),
      }).close,
    );
    if (cfg.druid)
      closers.push(
        addDruidDatasourceController(mgr, {
          ...ns,
          pollIntervalMs: cfg.druidPollIntervalMs,
          druidRetry: {
            initialMs: cfg.druidRetryInitialMs,
            maxMs: cfg.druidRetryMaxMs,
            logEveryMs: cfg.druidTroubleLogIntervalMs,
          },
        }).close,
      );
  }
  return closers;
}

async function startDashboard(
  { host, port, sampleIntervalMs, capacity }: NonNullable<OperatorConfig['dashboard']>,
  { scopes }: SharedSettings,
  mgr: Manager,
  client: KubeClient,
  logger: Logger,
  closers: (() => Promise<void>)[],
): Promise<{ dashboard: OperatorDashboard; server: DashboardServer }> {
  // The controller's own caches (the Manager shares informers): no watch is added for it.
  const runtime = new RuntimeClient({ timeoutMs: Math.min(2_000, sampleIntervalMs) });
  closers.push(() => runtime.close());
  const dashboard = new OperatorDashboard({
    scopes: scopes.map((ns) => streamJobInformers(mgr, ns)),
    client,
    runtime,
    intervalMs: sampleIntervalMs,
    capacity,
    logger: logger.child({ component: 'dashboard' }),
  });
  dashboard.start();
  const server = await startDashboardServer({
    source: dashboard,
    host,
    port,
    logger: logger.child({ component: 'dashboard' }),
  });
  return { dashboard, server };
}

function startWebhooks(
  cfg: OperatorConfig,
  { host, port, certFile, keyFile }: NonNullable<OperatorConfig['webhook']>,
  { podPolicy, stateDefaults }: SharedSettings,
  client: KubeClient,
  registry: Registry,
  logger: Logger,
): Promise<AdmissionServer> {
  const handlers = [
    streamJobAdmission({
      kube: client,
      podPolicy,
      defaults: stateDefaults,
      registries: { allowed: cfg.webhookSchemaRegistries },
    }),
    druidDatasourceAdmission({ kube: client }),
  ];
  return startAdmissionServer({
    handlers,
    tls: { certFile, keyFile },
    host,
    port,
    logger: logger.child({ component: 'admission' }),
    registry,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`operator: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
