// The chart's NetworkPolicies for slot pods: helm lint, the rendered policy (which ports admit
// whom), the apiserver's own validation of it (server-side dry run). Which namespaces get one
// (and when none is rendered) is network-policy.test.ts, with no cluster. The local cluster has
// no CNI that enforces NetworkPolicies, so enforcement itself is the cluster's
// (docs/security.md); what the chart controls is tested here.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_PORT, DATA_PORT, METRICS_PORT } from '../../runtime/src/control/contract.ts';
import { Resources, type KubeClient } from '../../operator/src/kube/index.ts';
import { newClient, suffix } from '../../operator/src/kube/testing/cluster.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { repoRoot } from '../cluster/paths.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');
const ns = `np-${suffix()}`;

interface Peer {
  podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string }[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
}
interface Policy {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    podSelector: Peer['podSelector'];
    policyTypes: string[];
    ingress: { from: Peer[]; ports: { port: number; protocol: string }[] }[];
  };
}

describe('chart NetworkPolicies for slot pods', () => {
  let helm = '';
  let kube: KubeClient;

  const template = async (...set: string[]): Promise<Policy[]> => {
    const { stdout } = await run(helm, ['template', 'rel', chart, '-n', 'ops', ...set.flatMap((s) => ['--set', s])], {
      maxBuffer: 64 << 20,
    });
    return (
      parseAllDocuments(stdout)
        .map((d) => d.toJSON() as Policy | null)
        .filter((d): d is Policy => d?.kind === 'NetworkPolicy')
        // The slot pods' policies; the operator's own (its dashboard port) is dashboard.test.ts's.
        .filter((d) => d.metadata.name.endsWith('-slots'))
    );
  };

  beforeAll(async () => {
    helm = await ensureHelm();
    kube = await newClient();
    await kube.create(Resources.Namespace, { metadata: { name: ns, labels: { 'tributary.dev/test': 'np' } } });
  }, 600_000);
  afterAll(async () => {
    await kube?.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
  });

  it('lints, and admits to slot pods only slots (data), the operator (control) and Prometheus (metrics)', async () => {
    await run(helm, ['lint', chart, '--set', `watchNamespaces={${ns}}`]);
    const [p, ...rest] = await template(`watchNamespaces={${ns},other}`);
    expect(rest.map((r) => r.metadata.namespace)).toEqual(['other']);
    expect(p!.metadata).toMatchObject({ name: 'rel-tributary-slots', namespace: ns });
    const slots = {
      matchLabels: { 'app.kubernetes.io/managed-by': 'tributary' },
      matchExpressions: [{ key: 'tributary.dev/slot', operator: 'Exists' }],
    };
    expect(p!.spec.podSelector).toEqual(slots);
    expect(p!.spec.policyTypes).toEqual(['Ingress']);
    const byPort = new Map(p!.spec.ingress.map((r) => [r.ports.map((x) => x.port).join(), r.from]));
    expect([...byPort.keys()].sort()).toEqual([CONTROL_PORT, DATA_PORT, METRICS_PORT].map(String).sort());
    expect(byPort.get(String(DATA_PORT))).toEqual([{ podSelector: slots }]);
    expect(byPort.get(String(CONTROL_PORT))).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } },
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'tributary',
            'app.kubernetes.io/instance': 'rel',
            'app.kubernetes.io/component': 'operator',
          },
        },
      },
    ]);
    expect(byPort.get(String(METRICS_PORT))).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
    // The real apiserver accepts it as rendered (server-side dry run).
    await kube.request('POST', `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, {
      body: p,
      query: { dryRun: 'All' },
    });
  });

  it('follows networkPolicy.namespaces and the Prometheus selectors', async () => {
    const custom = await template(
      'networkPolicy.namespaces={jobs}',
      'networkPolicy.prometheus.namespaceSelector.matchLabels.team=obs',
    );
    expect(custom.map((x) => x.metadata.namespace)).toEqual(['jobs']);
    expect(custom[0]!.spec.ingress[2]!.from[0]!.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'monitoring', team: 'obs' },
    });
  });
});
