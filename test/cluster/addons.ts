import { join } from 'node:path';
import { druidComponents, druidEnv, ensureDruidJars, startDruid } from './components/druid.ts';
import { assertJava, ensureKafkaJars, kafkaBrokers, startKafka } from './components/kafka.ts';
import { ensureKuduBinaries, kuduComponents, kuduEnvLines, startKudu } from './components/kudu.ts';
import { ensureNginx, registryAuthEnv, startRegistryAuth } from './components/registry-auth.ts';
import { ensureRegistryApp, registryEnv, startRegistry } from './components/registry.ts';
import { ensureVersitygw, s3Env, startVersitygw } from './components/versitygw.ts';
import type { ClusterPaths } from './paths.ts';
import type { Started } from './process.ts';
import type { Addon } from './addon-names.ts';

export { knownAddons, type Addon } from './addon-names.ts';

/** What an addon's `prepare` is bound by, hence which lane of prepare.ts runs it. */
export type PrepareLane = 'go' | 'maven' | 'download';

/**
 * Optional components on top of the control plane (`up --with kafka,...`). Each prepares
 * (downloads) before anything starts, starts its processes in order, and names the env
 * lines that `env` prints for it.
 */
export interface AddonDefinition {
  /** Names of the components it starts, in start order; `down` stops them in reverse. */
  readonly components: readonly string[];
  /** Where `prepare` runs beside the others (prepare.ts): what it is bound by. */
  readonly prepareLane: PrepareLane;
  prepare(paths: ClusterPaths, buildLog: string): Promise<void>;
  start(paths: ClusterPaths, started: (p: Started) => void): Promise<void>;
  env(paths: ClusterPaths): Record<string, string>;
}

export const addons = {
  kafka: {
    components: ['kafka'],
    prepareLane: 'maven',
    async prepare(paths, buildLog) {
      assertJava();
      await ensureKafkaJars(paths, buildLog);
    },
    async start(paths, started) {
      started(await startKafka(paths));
    },
    env: () => ({ TRIBUTARY_KAFKA_BROKERS: kafkaBrokers }),
  },
  // ZooKeeper, then coordinator (as Overlord, hosting Derby), broker, historical, indexer and
  // router. Needs no Kafka to start; its supervisors read whatever brokers their specs name.
  druid: {
    components: druidComponents,
    prepareLane: 'maven',
    async prepare(paths, buildLog) {
      assertJava();
      await ensureDruidJars(paths, buildLog);
    },
    start: (paths, started) => startDruid(paths, started),
    env: druidEnv,
  },
  // versitygw, file-backed under the cluster folder; `env` names its endpoint, bucket and keys.
  s3: {
    components: ['s3'],
    prepareLane: 'go',
    prepare: (_paths, buildLog) => ensureVersitygw(buildLog),
    async start(paths, started) {
      started(await startVersitygw(paths));
    },
    env: s3Env,
  },
  // One Kudu master and three tablet servers from the kudu-binary jar; `env` names the masters and tablet servers.
  kudu: {
    components: kuduComponents,
    prepareLane: 'download',
    prepare: (paths, buildLog) => ensureKuduBinaries(paths, buildLog),
    start: (paths, started) => startKudu(paths, started),
    env: kuduEnvLines,
  },
  // Apicurio Registry (Confluent API at /apis/ccompat/v7), in memory, global compatibility BACKWARD,
  // HTTP and HTTPS; then nginx asking for basic auth in front of it.
  registry: {
    components: ['registry', 'registry-auth'],
    prepareLane: 'maven',
    async prepare(paths, buildLog) {
      assertJava();
      // A no-op after prepare.ts installed it before the lanes; here for an addon added to a running cluster.
      ensureNginx();
      await ensureRegistryApp(paths, buildLog);
    },
    async start(paths, started) {
      started(await startRegistry(paths));
      started(await startRegistryAuth(paths));
    },
    env: (paths) => ({ ...registryEnv(paths), ...registryAuthEnv(paths) }),
  },
} satisfies Record<Addon, AddonDefinition>;

export function buildLogOf(paths: ClusterPaths): string {
  return join(paths.logs, 'build.log');
}
