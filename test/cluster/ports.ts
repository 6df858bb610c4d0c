/**
 * Loopback ports of the local cluster. Fixed (not ephemeral) so that `env` output, logs and a
 * developer's muscle memory stay stable across `up`s; picked away from the usual defaults
 * (2379, 6443, 9092) so a developer's own services do not collide with ours.
 */
export const ports = {
  etcdClient: 22379,
  etcdPeer: 22380,
  apiserver: 16443,
  kafka: 19092,
  kafkaController: 19093,
} as const;

export const host = '127.0.0.1';
