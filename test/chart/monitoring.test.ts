// The chart's Prometheus and Grafana pieces (metrics.podMonitor, metrics.prometheusRule,
// metrics.grafanaDashboards): every metric a dashboard or alert names is one the code registers
// (read from the registries the runtime and the operator build, not from a list), every alert
// links a runbook section that exists, and `helm template` renders them only when asked.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm } from '../cluster/components/helm.ts';
import { repoRoot } from '../cluster/paths.ts';
import { registeredNames } from './exported-metrics.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');
const dashboardFiles = readdirSync(join(chart, 'dashboards')).filter((f) => f.endsWith('.json'));
const rulesText = readFileSync(join(chart, 'rules/tributary.rules.yaml'), 'utf8');
const alertsDoc = readFileSync(join(repoRoot, 'docs/operator/alerts.md'), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Panel {
  id: number;
  type: string;
  datasource?: { uid: string };
  gridPos: { x: number; w: number };
  targets?: { expr: string }[];
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const rules = (parse(rulesText) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = (f: string) => JSON.parse(readFileSync(join(chart, 'dashboards', f), 'utf8')) as Dashboard;

/**
 * The metric names a PromQL expression reads (the vector selectors' names), parsed with
 * Prometheus's own grammar; a syntax error fails. Grafana's interval variables become a
 * duration, and its label_values(selector, label) the selector.
 */
function metricNames(expr: string): string[] {
  const e = expr
    .replace(/^label_values\((.*),\s*\w+\)$/s, '$1')
    .replace(/\$__(?:rate_interval|interval|range)\b/g, '5m');
  const names: string[] = [];
  const errors: string[] = [];
  parser.parse(e).iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(`at ${n.from}: ${e.slice(n.from, n.from + 30)}`);
      if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') names.push(e.slice(n.from, n.to));
    },
  });
  expect(errors, `PromQL syntax error in ${expr}`).toEqual([]);
  return names;
}

/** The names `exprs` read that no code registers. */
function unknownMetrics(exprs: string[], known: Set<string>): string[] {
  return [...new Set(exprs.flatMap(metricNames))].filter((n) => !known.has(n));
}

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('dashboards and alerts name only metrics the code exports', () => {
  const known = registeredNames();

  it('the name extraction keeps metrics, drops labels, strings and label lists, and refuses bad syntax', () => {
    expect(
      metricNames(
        'sum by (namespace, tributary_job) (rate(tributary_records_out_total{tributary_job="$job"}[5m]) * on (pod, node) group_left () label_replace(tributary_source_lag_records, "node", "$1", "source", "(tributary_x)"))',
      ),
    ).toEqual(['tributary_records_out_total', 'tributary_source_lag_records']);
    expect(metricNames('label_values(tributary_records_out_total{namespace="$namespace"}, tributary_job)')).toEqual([
      'tributary_records_out_total',
    ]);
    expect(unknownMetrics(['rate(tributary_no_such_thing_total[1m])'], known)).toEqual([
      'tributary_no_such_thing_total',
    ]);
    expect(unknownMetrics(['tributary_checkpoint_duration_seconds_bucket'], known)).toEqual([]);
  });

  it.each(dashboardFiles)('%s', (f) => {
    const d = dashboard(f);
    const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const queries = d.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => (typeof v.query === 'string' ? v.query : v.query.query));
    expect(exprs.length).toBeGreaterThan(5);
    for (const e of [...exprs, ...queries]) expect(metricNames(e), e).not.toEqual([]);
    expect(unknownMetrics([...exprs, ...queries], known)).toEqual([]);
  });

  it('the alert rules', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'TributaryCheckpointsStalled',
      'TributaryConsumerLagGrowing',
      'TributaryDeadLetters',
      'TributaryDruidSupervisorUnhealthy',
      'TributaryJobNotReady',
      'TributaryRestartLoop',
    ]);
    for (const r of rules) expect(metricNames(r.expr), r.alert).not.toEqual([]);
    expect(
      unknownMetrics(
        rules.map((r) => r.expr),
        known,
      ),
    ).toEqual([]);
  });
});

describe('alerts and dashboards are well formed', () => {
  it("every alert's runbook_url is a section of docs/operator/alerts.md", () => {
    const anchors = new Set([...alertsDoc.matchAll(/^#{2,3} (.+)$/gm)].map((m) => anchor(m[1] ?? '')));
    for (const r of rules) {
      const url = new URL(r.annotations.runbook_url ?? '');
      expect(url.pathname, r.alert).toMatch(/\/docs\/operator\/alerts\.md$/);
      expect(anchors, `${r.alert}: #${url.hash.slice(1)}`).toContain(url.hash.slice(1));
      expect(['warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).toBeTruthy();
    }
  });

  it.each(dashboardFiles)('%s: Grafana JSON with the Prometheus data source as a variable', (f) => {
    const d = dashboard(f);
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) {
      expect(p.datasource?.uid, p.type).toBe('${datasource}');
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
  });
});

interface Obj {
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

describe('chart monitoring objects', () => {
  let helm = '';
  const render = async (...set: string[]): Promise<Obj[]> => {
    const { stdout } = await run(helm, ['template', 'rel', chart, '-n', 'ops', ...set.flatMap((s) => ['--set', s])], {
      maxBuffer: 64 << 20,
    });
    return parseAllDocuments(stdout)
      .map((d) => d.toJSON() as Obj | null)
      .filter((d): d is Obj => d !== null);
  };
  const monitoring = (objs: Obj[]) =>
    objs.filter(
      (o) =>
        o.kind === 'PodMonitor' ||
        o.kind === 'PrometheusRule' ||
        (o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1'),
    );
  const all = [
    'metrics.podMonitor.enabled=true',
    'metrics.prometheusRule.enabled=true',
    'metrics.grafanaDashboards.enabled=true',
  ];

  // Built once from the Go module proxy when not cached (test/cluster/components/helm.ts).
  beforeAll(async () => {
    helm = await ensureHelm();
  }, 600_000);

  it('renders none by default', async () => {
    expect(monitoring(await render())).toEqual([]);
  });

  it('renders the PodMonitor, the PrometheusRule and one ConfigMap per dashboard when enabled', async () => {
    const objs = monitoring(await render(...all));
    expect(objs.map((o) => o.kind).sort()).toEqual(
      ['PodMonitor', 'PrometheusRule', ...dashboardFiles.map(() => 'ConfigMap')].sort(),
    );
    const pm = objs.find((o) => o.kind === 'PodMonitor');
    expect(pm?.spec).toMatchObject({
      selector: { matchExpressions: [{ key: 'tributary.dev/slot', operator: 'Exists' }] },
      namespaceSelector: { matchNames: ['ops'] },
      podMetricsEndpoints: [
        {
          port: 'metrics',
          relabelings: [
            { sourceLabels: ['__meta_kubernetes_pod_label_tributary_dev_job'], targetLabel: 'tributary_job' },
            { sourceLabels: ['__meta_kubernetes_pod_label_tributary_dev_slot'], targetLabel: 'tributary_slot' },
          ],
        },
      ],
    });
    const rule = objs.find((o) => o.kind === 'PrometheusRule');
    expect(rule?.spec).toEqual({ groups: (parse(rulesText) as { groups: unknown }).groups });
    for (const f of dashboardFiles) {
      const cm = objs.find((o) => o.data?.[f] !== undefined);
      expect(JSON.parse(cm?.data?.[f] ?? 'null'), f).toEqual(dashboard(f));
    }
  });

  it('the PodMonitor follows the watched namespaces, every one when clusterWide', async () => {
    const spec = async (...set: string[]) =>
      monitoring(await render('metrics.podMonitor.enabled=true', ...set)).find((o) => o.kind === 'PodMonitor')?.spec;
    expect(await spec('watchNamespaces={analytics,staging}')).toMatchObject({
      namespaceSelector: { matchNames: ['analytics', 'staging'] },
    });
    expect(await spec('clusterWide=true')).toMatchObject({ namespaceSelector: { any: true } });
  });

  it("the operator's ServiceMonitor keeps the per-job series' namespace label", async () => {
    const sm = (await render('metrics.serviceMonitor.enabled=true')).find((o) => o.kind === 'ServiceMonitor');
    expect(sm?.spec).toMatchObject({ endpoints: [{ port: 'metrics', honorLabels: true }] });
  });
});
