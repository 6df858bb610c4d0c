// The chart's dashboard (`helm template`, no cluster): the operator's flag and container port,
// the Service port named `dashboard`, Events `list` in the operator's rules only with it, the
// NetworkPolicy on the operator pod (the dashboard port only from dashboard.networkPolicy.from,
// the other ports as open as without it), and the alerts' `dashboard` annotation with a base URL.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm } from '../cluster/components/helm.ts';
import { repoRoot } from '../cluster/paths.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  rules?: { resources?: string[]; verbs?: string[] }[];
}
interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
}

describe('chart dashboard', () => {
  let helm = '';
  const render = async (...set: string[]): Promise<Doc[]> => {
    const { stdout } = await run(helm, ['template', 'rel', chart, '-n', 'ops', ...set.flatMap((s) => ['--set', s])], {
      maxBuffer: 64 << 20,
    });
    return parseAllDocuments(stdout)
      .map((d) => d.toJSON() as Doc | null)
      .filter((d): d is Doc => d !== null);
  };
  const operator = (docs: Doc[]): Container =>
    (docs.find((d) => d.kind === 'Deployment')!.spec as { template: { spec: { containers: Container[] } } }).template
      .spec.containers[0]!;
  const byName = (docs: Doc[], kind: string, name: string) =>
    docs.find((d) => d.kind === kind && d.metadata.name === name);
  const eventVerbs = (docs: Doc[]): string[] =>
    byName(docs, 'Role', 'rel-tributary')!.rules!.find((r) => r.resources?.includes('events'))!.verbs!;

  beforeAll(async () => {
    helm = await ensureHelm();
  }, 600_000);

  it('is on by default: flag, container port and Service port named dashboard, Events list, no Secret verb added', async () => {
    const docs = await render();
    const c = operator(docs);
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--dashboard-addr=$(POD_IP):8081',
        '--dashboard-sample-interval=5s',
        '--dashboard-points=360',
      ]),
    );
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'dashboard', containerPort: 8081 }));
    const svc = byName(docs, 'Service', 'rel-tributary-dashboard')!;
    expect(svc.spec!.ports).toEqual([{ name: 'dashboard', port: 8081, targetPort: 'dashboard', protocol: 'TCP' }]);
    expect(eventVerbs(docs)).toEqual(['create', 'patch', 'list']);
    const secretRules = byName(docs, 'Role', 'rel-tributary')!.rules!.filter((r) => r.resources?.includes('secrets'));
    expect(secretRules.flatMap((r) => r.verbs)).toEqual(['create', 'get', 'list', 'watch', 'delete']);
  });

  it('dashboard.enabled=false renders none of it and the operator does not list Events', async () => {
    const docs = await render('dashboard.enabled=false');
    expect(operator(docs).args.filter((a) => a.startsWith('--dashboard'))).toEqual([]);
    expect(operator(docs).ports.map((p) => p.name)).not.toContain('dashboard');
    expect(byName(docs, 'Service', 'rel-tributary-dashboard')).toBeUndefined();
    expect(byName(docs, 'NetworkPolicy', 'rel-tributary-dashboard')).toBeUndefined();
    expect(eventVerbs(docs)).toEqual(['create', 'patch']);
  });

  it('its NetworkPolicy admits the dashboard port only from the listed peers, the other ports as before', async () => {
    const ingress = async (...set: string[]) =>
      (byName(await render(...set), 'NetworkPolicy', 'rel-tributary-dashboard')!.spec as { ingress: unknown[] })
        .ingress;
    expect(await ingress()).toEqual([
      {
        ports: [
          { port: 8080, protocol: 'TCP' },
          { port: 9443, protocol: 'TCP' },
        ],
      },
    ]);
    expect(await ingress('dashboard.networkPolicy.from[0].ipBlock.cidr=10.0.0.1/32', 'webhook.enabled=false')).toEqual([
      { ports: [{ port: 8080, protocol: 'TCP' }] },
      { from: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ port: 8081, protocol: 'TCP' }] },
    ]);
    expect(byName(await render('networkPolicy.enabled=false'), 'NetworkPolicy', 'rel-tributary-dashboard')).toBe(
      undefined,
    );
  });

  it("with dashboard.url the job alerts link to the job's page, the Druid alert does not", async () => {
    type Rule = { alert: string; annotations: Record<string, string> };
    const rules = async (...set: string[]) =>
      (
        byName(await render('metrics.prometheusRule.enabled=true', ...set), 'PrometheusRule', 'rel-tributary')!
          .spec as { groups: { rules: Rule[] }[] }
      ).groups.flatMap((g) => g.rules);
    expect((await rules()).filter((r) => 'dashboard' in r.annotations)).toEqual([]);
    const linked = await rules('dashboard.url=https://tributary.example.com/');
    const link =
      'https://tributary.example.com/jobs/{{ $labels.namespace }}/{{ or $labels.name $labels.tributary_job }}';
    expect(linked.find((r) => r.alert === 'TributaryJobNotReady')!.annotations.dashboard).toBe(link);
    expect(linked.find((r) => r.alert === 'TributaryConsumerLagGrowing')!.annotations.dashboard).toBe(link);
    expect(linked.find((r) => r.alert === 'TributaryDruidSupervisorUnhealthy')!.annotations).not.toHaveProperty(
      'dashboard',
    );
  });
});
