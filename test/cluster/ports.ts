/**
 * Loopback ports of the local cluster. Fixed (not ephemeral) so that `env` output, logs and a
 * developer's muscle memory stay stable across `up`s; picked away from the usual defaults
 * (2379, 6443, 9092) so a developer's own services do not collide with ours.
 *
 * TRIBUTARY_CLUSTER_PORT_OFFSET (a multiple of 100, default 0) shifts every port and the pod
 * address range, so a second cluster (with its own TRIBUTARY_CLUSTER_DIR) can run beside the
 * first: the cluster's own lifecycle tests do that.
 */
import { ClusterError } from './errors.ts';

const offset = parsePortOffset(process.env.TRIBUTARY_CLUSTER_PORT_OFFSET);
/** `env` prints it when not 0, so later commands in that shell reach the same cluster. */
export const portOffset = offset;

function parsePortOffset(raw: string | undefined): number {
  if (!raw) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n % 100 !== 0 || n > 10_000) {
    throw new ClusterError(
      'CLUSTER_BAD_ARGS',
      'cluster',
      `TRIBUTARY_CLUSTER_PORT_OFFSET must be a multiple of 100 in [0, 10000], got "${raw}"`,
    );
  }
  return n;
}

export const ports = {
  etcdClient: 22379 + offset,
  etcdPeer: 22380 + offset,
  apiserver: 16443 + offset,
  kafka: 19092 + offset,
  kafkaController: 19093 + offset,
  // Druid: each default port (2181, 1527, 8081..8091, 8888) moved to 1xxxx so a developer's own
  // ZooKeeper, Derby or Druid quickstart keeps its ports.
  druidZookeeper: 12181 + offset,
  druidDerby: 11527 + offset,
  druidCoordinator: 18081 + offset,
  druidBroker: 18082 + offset,
  druidHistorical: 18083 + offset,
  druidIndexer: 18091 + offset,
  druidRouter: 18888 + offset,
  // The S3 gateway (versitygw's default 7070, moved like the others).
  s3: 17070 + offset,
  // Kudu (defaults 7051/7050 RPC, 8051/8050 web), each at a last-two-digits no other port uses,
  // so clusters at different offsets never collide. kuduNoCloud is never listened on: Kudu's
  // cloud-metadata probes are pointed at it so they fail on the machine instead of leaving it.
  // The tablet servers' RPC and web ports are indexed by server: the first keeps Kudu's
  // last two digits (50, and 54 beside the master's 53), the others take the next free ones.
  kuduMaster: 17051 + offset,
  kuduTservers: [17050 + offset, 17056 + offset, 17057 + offset],
  kuduMasterWeb: 18053 + offset,
  kuduTserverWebs: [18054 + offset, 18058 + offset, 18059 + offset],
  kuduNoCloud: 17055 + offset,
  // The schema registry (Apicurio's default 8080), HTTP and HTTPS: 18085/18086 are free at every offset in [0, 10000].
  registry: 18085 + offset,
  registryTls: 18086 + offset,
  // nginx asking for basic auth in front of the registry (components/registry-auth.ts), over HTTP and over TLS
  // (89: a last-two-digits no other port uses).
  registryAuth: 18087 + offset,
  registryAuthTls: 18089 + offset,
} as const;

export const host = '127.0.0.1';

/** Each cluster's pods get their own /24 of loopback addresses. */
export const podCidr = `127.0.${1 + offset / 100}.0/24`;

/** The apiserver as every client on this machine reaches it. */
export const apiserverUrl = `https://${host}:${ports.apiserver}`;
