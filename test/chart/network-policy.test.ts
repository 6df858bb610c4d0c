// Which namespaces the chart's slot NetworkPolicies are rendered in (`helm template`, no
// cluster): the release namespace by default, the watched namespaces, networkPolicy.namespaces
// over both, none cluster-wide without a list (the chart cannot know where StreamJobs run) and
// none when off. What one policy admits, and the apiserver's validation of it, are in
// network-policy.int.test.ts; the operator pod's own (the dashboard's) in dashboard.test.ts.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm } from '../cluster/components/helm.ts';
import { repoRoot } from '../cluster/paths.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');

interface Policy {
  kind: string;
  metadata: { name: string; namespace: string };
}

describe('chart NetworkPolicy namespaces', () => {
  let helm = '';

  /** The namespaces of the rendered NetworkPolicies, for a release `rel` in namespace `ops`. */
  const policyNamespaces = async (...set: string[]): Promise<string[]> => {
    const { stdout } = await run(helm, ['template', 'rel', chart, '-n', 'ops', ...set.flatMap((s) => ['--set', s])], {
      maxBuffer: 64 << 20,
    });
    const policies = parseAllDocuments(stdout)
      .map((d) => d.toJSON() as Policy | null)
      .filter((d): d is Policy => d?.kind === 'NetworkPolicy' && !d.metadata.name.endsWith('-dashboard'));
    for (const p of policies) expect(p.metadata.name).toBe('rel-tributary-slots');
    return policies.map((p) => p.metadata.namespace);
  };

  // Built once from the Go module proxy when not cached (test/cluster/components/helm.ts).
  beforeAll(async () => {
    helm = await ensureHelm();
  }, 600_000);

  it('a default install (watching its own namespace) renders them in the release namespace', async () => {
    expect(await policyNamespaces()).toEqual(['ops']);
  });

  it('renders them in each of watchNamespaces', async () => {
    expect(await policyNamespaces('watchNamespaces={analytics,staging}')).toEqual(['analytics', 'staging']);
  });

  it('networkPolicy.namespaces wins over watchNamespaces and the release namespace', async () => {
    expect(await policyNamespaces('networkPolicy.namespaces={jobs}', 'watchNamespaces={analytics}')).toEqual(['jobs']);
    expect(await policyNamespaces('networkPolicy.namespaces={jobs,batch}')).toEqual(['jobs', 'batch']);
  });

  it('clusterWide renders none unless networkPolicy.namespaces lists where StreamJobs run', async () => {
    expect(await policyNamespaces('clusterWide=true')).toEqual([]);
    expect(await policyNamespaces('clusterWide=true', 'networkPolicy.namespaces={jobs}')).toEqual(['jobs']);
  });

  it('networkPolicy.enabled=false renders none, whatever the namespaces', async () => {
    expect(await policyNamespaces('networkPolicy.enabled=false')).toEqual([]);
    expect(await policyNamespaces('networkPolicy.enabled=false', 'watchNamespaces={analytics}')).toEqual([]);
    expect(await policyNamespaces('networkPolicy.enabled=false', 'networkPolicy.namespaces={jobs}')).toEqual([]);
  });
});
