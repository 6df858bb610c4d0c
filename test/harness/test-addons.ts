// The addons the integration suites run with: the global setup starts them, and `npm test`
// prepares their builds and downloads while the unit tests run (test-all.ts).
import { knownAddons, type Addon } from '../cluster/addons.ts';
import { ClusterError } from '../cluster/errors.ts';

// Kudu starts in about 2 s (one master, three tablet servers), so it is always there. The schema
// registry (formats' tests) takes 8-20 s to start and its first build about 2 min (Maven lane).
const defaultAddons: readonly Addon[] = ['kafka', 'druid', 's3', 'kudu', 'registry'];

/** TRIBUTARY_CLUSTER_ADDONS (comma-separated) if set, else every addon a suite needs. */
export function requestedAddons(): Addon[] {
  const raw = process.env.TRIBUTARY_CLUSTER_ADDONS;
  if (!raw) return [...defaultAddons];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !knownAddons.includes(n as Addon));
  if (unknown.length > 0)
    throw new ClusterError(
      'CLUSTER_BAD_ARGS',
      'cluster',
      `TRIBUTARY_CLUSTER_ADDONS: unknown addon(s) ${unknown.join(', ')}; known: ${knownAddons.join(', ')}`,
    );
  return names as Addon[];
}
