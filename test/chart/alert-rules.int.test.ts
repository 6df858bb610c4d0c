// The chart's alert rules through Prometheus's own promtool (built from the Go module proxy and
// cached: test/cluster/components/promtool.ts): `check rules` on the rule file, `test rules` on
// its unit tests (charts/tributary/rules/tests/), where every alert fires on series shaped like
// the ones the code exports and stays silent on healthy ones. The tests are checked for that
// shape too, and each alert's `for:` shortened by one evaluation must make them fail. No cluster
// is used: it is in the integration project because its global setup builds promtool.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePromtool } from '../cluster/components/promtool.ts';
import { repoRoot } from '../cluster/paths.ts';
import { registeredNames } from './exported-metrics.ts';

const run = promisify(execFile);
const rulesDir = join(repoRoot, 'charts/tributary/rules');
const rulesFile = join(rulesDir, 'tributary.rules.yaml');
const testFiles = readdirSync(join(rulesDir, 'tests'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(rulesDir, 'tests', f));

interface Rule {
  alert: string;
  for?: string;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[];
}
interface TestGroup {
  name: string;
  interval: string;
  input_series: { series: string; values: string }[];
  alert_rule_test: AlertTest[];
}
interface TestFile {
  rule_files: string[];
  evaluation_interval: string;
  tests: TestGroup[];
}

const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const tests = testFiles.map((f) => parse(readFileSync(f, 'utf8')) as TestFile);
const groups = tests.flatMap((t) => t.tests);

/** A Prometheus duration as promtool's tests write them (`90s`, `5m`, `1h`) in seconds. */
function seconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  expect(m, `duration ${d}`).not.toBeNull();
  return Number(m?.[1]) * { s: 1, m: 60, h: 3600 }[(m?.[2] ?? 's') as 's' | 'm' | 'h'];
}

/** `name{a="x",b="y"}` → its name and labels. */
function series(s: string): { name: string; labels: Record<string, string> } {
  const [, name = '', body = ''] = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$/.exec(s) ?? [];
  return { name, labels: Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])) };
}

/** The object a series or an alert is about: a StreamJob (tributary_job or name) or a DruidDatasource. */
const subject = (labels: Record<string, string>) => `${labels.namespace}/${labels.tributary_job ?? labels.name ?? ''}`;

let promtool = '';
const scratch = mkdtempSync(join(tmpdir(), 'tributary-rules-'));

/** `promtool test rules` on the test files, against `rulesText` (the chart's rules unless given). */
async function testRules(rulesText?: string): Promise<{ ok: boolean; output: string }> {
  let files = testFiles;
  if (rulesText !== undefined) {
    // The tests name `../tributary.rules.yaml`: the same layout in a scratch folder.
    const dir = mkdtempSync(join(scratch, 'mutant-'));
    cpSync(join(rulesDir, 'tests'), join(dir, 'tests'), { recursive: true });
    writeFileSync(join(dir, 'tributary.rules.yaml'), rulesText);
    files = testFiles.map((f) => join(dir, 'tests', f.slice(join(rulesDir, 'tests').length + 1)));
  }
  try {
    const { stdout, stderr } = await run(promtool, ['test', 'rules', ...files], { cwd: rulesDir });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  promtool = await ensurePromtool();
}, 600_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the alert rules under promtool', () => {
  it('check rules: the rule file is valid', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', rulesFile]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('test rules: each alert fires when and for whom its tests expect, with its labels and annotations', async () => {
    const { ok, output } = await testRules();
    expect(output).toContain('SUCCESS');
    expect(ok, output).toBe(true);
  });

  it.each(rules.filter((r) => r.for !== undefined).map((r) => [r.alert, r.for ?? ''] as const))(
    '%s: firing one evaluation before its for: %s fails the tests',
    async (alert, forDuration) => {
      const text = readFileSync(rulesFile, 'utf8');
      const at = text.indexOf(`alert: ${alert}\n`);
      const next = text.indexOf('- alert:', at + 1);
      const block = text.slice(at, next < 0 ? undefined : next);
      const shorter = `${seconds(forDuration) - seconds(tests[0]?.evaluation_interval ?? '1m')}s`;
      expect(block).toContain(`for: ${forDuration}\n`);
      const mutant =
        text.slice(0, at) + block.replace(`for: ${forDuration}\n`, `for: ${shorter}\n`) + text.slice(at + block.length);
      const { ok, output } = await testRules(mutant);
      expect(ok, output).toBe(false);
      expect(output).toContain(`alertname: ${alert}`);
    },
  );
});

describe('the promtool tests cover every alert', () => {
  it('they load the chart rule file and evaluate once a minute', () => {
    for (const t of tests) {
      expect(t.rule_files).toEqual(['../tributary.rules.yaml']);
      expect(t.evaluation_interval).toBe('1m');
    }
  });

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s: fires for a subject, silent before, silent for a healthy one',
    (alert, rule) => {
      const checks = groups.flatMap((g) =>
        g.alert_rule_test.filter((a) => a.alertname === alert).map((a) => ({ g, a })),
      );
      const firing = checks.filter(({ a }) => a.exp_alerts.length > 0);
      expect(firing.length, `${alert}: no evaluation expects it to fire`).toBeGreaterThan(0);
      const first = Math.min(...firing.map(({ a }) => seconds(a.eval_time)));
      // Silent before it first fires: the threshold or the for: is where the tests say.
      const before = checks.filter(({ a }) => a.exp_alerts.length === 0 && seconds(a.eval_time) < first);
      expect(before.length, `${alert}: no silent evaluation before ${first}s`).toBeGreaterThan(0);
      if (rule.for !== undefined)
        expect(Math.max(...before.map(({ a }) => seconds(a.eval_time))), alert).toBe(
          first - seconds(tests[0]?.evaluation_interval ?? '1m'),
        );
      for (const { g, a } of firing) {
        const fired = new Set(a.exp_alerts.map((e) => subject(e.exp_labels)));
        const inputs = new Set(g.input_series.map((s) => subject(series(s.series).labels)));
        const healthy = [...inputs].filter((s) => !fired.has(s));
        expect(healthy.length, `${alert} at ${a.eval_time}: no healthy subject among the inputs`).toBeGreaterThan(0);
        for (const e of a.exp_alerts) {
          expect(e.exp_annotations.summary, alert).toBeTruthy();
          expect(e.exp_annotations.description, alert).toBeTruthy();
          expect(e.exp_annotations.runbook_url, alert).toContain(`#${alert.toLowerCase()}`);
        }
      }
    },
  );

  it('their input series are metrics the code exports', () => {
    const known = registeredNames();
    const names = new Set(groups.flatMap((g) => g.input_series.map((s) => series(s.series).name)));
    expect(names.size).toBeGreaterThan(5);
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
  });
});
