import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Versions of the real components; each keys its own cache folder, so a bump rebuilds. */
export const versions = {
  kubernetes: '1.36.3',
  kafka: '4.1.1',
  // The newest Druid whose whole runtime classpath (druid-sql, the Kafka indexing extension)
  // the package registry serves here; 35–37 lack druid-sql and the Kafka extension. Runs on JDK 17.
  druid: '33.0.0',
  versitygw: '1.8.0',
  // Maven Central's org.apache.kudu:kudu-binary (the test binaries Kudu's own Java tests use).
  kudu: '1.17.1',
  // Apicurio Registry: the newest release whose whole runtime Maven Central serves here (docs/dependencies.md).
  registry: '2.4.2.Final',
} as const;

/** The revision of our registry assembly (registry/pom.xml): a new one is built into a cache folder of its own. */
const registryBuild = 2;

/** The checkout this file belongs to: the node agent maps our images to its entrypoints. */
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Downloads and builds, shared by every cluster on the machine and kept across `down`. */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.TRIBUTARY_CACHE_DIR || join(base, 'tributary');
}

/** One running cluster's data, pids and logs; `down` leaves logs for post-mortems. */
export function clusterDir(): string {
  return process.env.TRIBUTARY_CLUSTER_DIR || join(cacheRoot(), 'cluster');
}

export interface ClusterPaths {
  readonly dir: string;
  readonly stateFile: string;
  readonly logs: string;
  readonly pki: string;
  readonly etcdData: string;
  readonly kafkaData: string;
  readonly kubeconfig: string;
  readonly podsDir: string;
  readonly kubeBin: string;
  readonly kafkaLib: string;
  /** Druid's ZooKeeper, Derby metadata, deep storage, segment cache, task dirs and generated config. */
  readonly druidData: string;
  readonly druidLib: string;
  /** The S3 gateway's buckets (one folder each) and their objects. */
  readonly s3Data: string;
  /** Kudu's master and tablet server WAL/data folders. */
  readonly kuduData: string;
  /** The unpacked kudu-binary jar: bin/ (kudu-master, kudu-tserver, kudu) and lib/ (with sasl2/). */
  readonly kuduHome: string;
  /** The assembled schema registry: registry-1-runner.jar and lib/. */
  readonly registryHome: string;
  /** The node agent's HTTP CONNECT route to Services, which the API server's egress selector dials. */
  readonly serviceProxySocket: string;
}

export function clusterPaths(dir = clusterDir()): ClusterPaths {
  return {
    dir,
    stateFile: join(dir, 'state.json'),
    logs: join(dir, 'logs'),
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    kafkaData: join(dir, 'kafka'),
    kubeconfig: join(dir, 'kubeconfig'),
    podsDir: join(dir, 'node', 'pods'),
    kubeBin: join(cacheRoot(), `kube-${versions.kubernetes}`, 'bin'),
    kafkaLib: join(cacheRoot(), `kafka-${versions.kafka}`, 'lib'),
    druidData: join(dir, 'druid'),
    druidLib: join(cacheRoot(), `druid-${versions.druid}`, 'lib'),
    s3Data: join(dir, 's3'),
    kuduData: join(dir, 'kudu'),
    kuduHome: join(cacheRoot(), `kudu-${versions.kudu}`),
    registryHome: join(cacheRoot(), `registry-${versions.registry}-b${registryBuild}`),
    serviceProxySocket: join(dir, 'service-proxy.sock'),
  };
}
