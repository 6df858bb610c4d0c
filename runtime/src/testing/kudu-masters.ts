// The local cluster's Kudu, for the integration tests that talk to it.
import { ClusterError } from '../../../test/cluster/errors.ts';

/** The master list the cluster's env exports (`host:port[,…]`, a spec's `masters`); a clear error outside it. */
export function testKuduMasters(): string {
  const v = process.env['TRIBUTARY_KUDU_MASTERS'];
  if (!v)
    throw new ClusterError(
      'CLUSTER_NOT_RUNNING',
      'kudu',
      'TRIBUTARY_KUDU_MASTERS is not set: start the local cluster with --with kudu and eval its env',
    );
  return v;
}

/** The tablet servers' addresses the cluster's env exports, in the order `stopKuduTserver` numbers them. */
export function testKuduTservers(): string[] {
  const v = process.env['TRIBUTARY_KUDU_TSERVERS'];
  if (!v)
    throw new ClusterError(
      'CLUSTER_NOT_RUNNING',
      'kudu',
      'TRIBUTARY_KUDU_TSERVERS is not set: start the local cluster with --with kudu (three tablet servers) and eval its env',
    );
  return v.split(',');
}
