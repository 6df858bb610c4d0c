// The validating webhooks, installed by the chart on the real local cluster and called by the
// real kube-apiserver through the chart's Service (the cluster's apiserver sends that traffic
// through the node agent's service proxy, which routes the Service's cluster IP to the ready
// operator pod: test/cluster/README.md, "Services").
// A StreamJob applied BEFORE the chart shows both halves of the design: without the webhook it
// is admitted (so the refusals below are the webhook's), and the operator still reports it
// Degraded/InvalidSpec, adding its finalizer through the webhook (spec unchanged → allowed).
// Then `kubectl apply` as a user sees it: an invalid spec refused with its field path, a valid
// one created, a druid sink naming a missing DruidDatasource created with a `Warning:`, an
// invalid DruidDatasource refused; `helm upgrade` keeps the generated certificate.
// With webhook.schemaRegistries naming the local registry, a Kafka source reading a version of
// its subject has its fields checked against that version at apply; a registry not named is
// not called (a warning says so).
// The webhook is scoped to the release's watched namespace, so concurrent tests elsewhere
// never reach it. Needs no Kafka or Druid (nothing is deployed); the schema registry.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources, type KubeClient, type KubeObject } from '../../operator/src/kube/index.ts';
import { newClient, suffix, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import type { StreamJob } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { finalSavepointFinalizer, StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { AvroCodec } from '../../runtime/src/formats/avro/avro-codec.ts';
import { SchemaRegistryClient } from '../../runtime/src/formats/registry/client.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { repoRoot } from '../cluster/paths.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');
const id = suffix();
const release = `wh-${id}`;
const relNs = `wh-rel-${id}`;
const watchNs = `wh-w-${id}`;
const fullname = `${release}-tributary`;
const webhookService = `${fullname}-webhook`;

interface Pod extends KubeObject {
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}
interface Service extends KubeObject {
  spec?: {
    selector?: Record<string, string>;
    ports?: { name?: string; port?: number; targetPort?: number | string }[];
  };
}
type Doc = {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  webhooks?: { clientConfig: { caBundle?: string } }[];
};

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { env: process.env, maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`webhook test: \`${cmd} ${args.join(' ')}\` failed: ${e.stderr || e.message}`, { cause: err });
  }
}

/** kubectl as a user runs it: exit code, stdout and stderr (where kubectl prints refusals and warnings). */
async function kubectl(args: string[], input?: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = run('kubectl', args, { env: process.env });
  if (input !== undefined) p.child.stdin?.end(JSON.stringify(input));
  try {
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
const apply = (obj: unknown, ...flags: string[]) => kubectl(['apply', '-f', '-', ...flags], obj);

const source = {
  name: 'clicks',
  datagen: {
    generator: 'schema',
    rate: 10,
    fields: { country: { type: 'string', values: ['de', 'fr'] }, ts: { type: 'timestamp' } },
  },
};
const validSteps = [
  { name: 'de', from: 'clicks', filter: 'country == "de"' },
  { name: 'by-country', from: 'de', keyBy: 'country' },
  { name: 'tagged', from: 'by-country', map: { country: 'country', n: '1' } },
];
const job = (name: string, graph: Record<string, unknown>) => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'StreamJob',
  metadata: { name, namespace: watchNs },
  // Suspended: nothing is deployed; admission and validation are all this test is about.
  spec: {
    state: 'suspended',
    // Stateless: the job names no stateStorage and the chart sets no default (savepoint mode would be refused).
    upgradeMode: 'stateless',
    graph: { sources: [source], sinks: [{ name: 'out', from: 'tagged', console: {} }], ...graph },
  },
});
const validJob = (name: string) => job(name, { steps: validSteps });
/** steps[2] is both a filter and a map: the graph validator's error, which no CRD rule covers. */
const invalidJob = (name: string) =>
  job(name, { steps: [validSteps[0], validSteps[1], { ...validSteps[2], filter: 'n > 0' }] });
const refused =
  /admission webhook "streamjobs\.tributary\.dev" denied the request: spec\.graph\.steps\[2\]: expected exactly one step kind \(.*\), got filter and map/;

function registryUrl(): string {
  const url = process.env.TRIBUTARY_REGISTRY_URL;
  if (!url) throw new Error('webhook test: TRIBUTARY_REGISTRY_URL not set (start the cluster with --with registry)');
  return url;
}
/** A StreamJob reading `topic` in Avro with version `version` of its subject as reader schema. */
const registryJob = (name: string, url: string, topic: string, filter: string) =>
  job(name, {
    sources: [
      {
        name: 'clicks',
        kafka: { brokers: '127.0.0.1:1', topic, format: 'avro', registry: { url, schema: { version: 1 } } },
      },
    ],
    steps: [{ name: 'tagged', from: 'clicks', filter }],
  });

const datasource = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'DruidDatasource',
  metadata: { name, namespace: watchNs },
  spec: {
    druid: { url: 'http://127.0.0.1:1' },
    kafka: { bootstrapServers: '127.0.0.1:1', topic: name },
    dimensions: ['country'],
    ...spec,
  },
});

describe('admission webhooks installed by the chart, called by the real kube-apiserver', () => {
  let helm: string;
  let kube: KubeClient;
  let valuesFile = '';

  beforeAll(async () => {
    if (!process.env.KUBECONFIG) throw new Error('webhook test: KUBECONFIG not set (the integration setup sets it)');
    helm = await ensureHelm();
    kube = await newClient();
    // Shared, cluster-scoped: applied like the operator's own tests do, never deleted.
    for (const f of ['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml']) {
      const crd = parse(readFileSync(join(repoRoot, 'crds', f), 'utf8')) as { metadata: { name: string } };
      await kube.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, {
        body: crd,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'test', force: true },
      });
    }
    const labels = { 'tributary.dev/test': 'webhook' };
    await kube.create(Resources.Namespace, {
      metadata: { name: relNs, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    await kube.create(Resources.Namespace, { metadata: { name: watchNs, labels } });
    valuesFile = join(mkdtempSync(join(tmpdir(), 'webhook-test-')), 'values.json');
    writeFileSync(
      valuesFile,
      JSON.stringify({
        watchNamespaces: [watchNs],
        crds: { install: false },
        druid: { enabled: false },
        webhook: { schemaRegistries: [registryUrl()] },
      }),
    );
  }, 1_800_000);

  afterAll(async () => {
    if (!kube) return;
    for (const name of ['early-bad', 'good', 'to-druid'])
      await kube.delete(StreamJobs, watchNs, name).catch(() => undefined);
    await waitFor(
      'the test jobs to be finalized',
      async () => (await kube.list(StreamJobs, watchNs)).items.length === 0,
      30_000,
      500,
    ).catch(() => undefined);
    await sh(helm, ['uninstall', release, '-n', relNs, '--wait', '--timeout', '60s']).catch(() => undefined);
    for (const o of (await kube.list(StreamJobs, watchNs).catch(() => ({ items: [] }))).items) {
      await kube
        .patch(StreamJobs, watchNs, o.metadata?.name ?? '', { metadata: { finalizers: null } })
        .catch(() => undefined);
    }
    for (const ns of [watchNs, relNs]) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
  }, 180_000);

  it("before the webhook exists, an invalid StreamJob is admitted: the refusals below are the webhook's", async () => {
    const r = await apply(invalidJob('early-bad'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('streamjob.tributary.dev/early-bad created');
  });

  it('helm install: the apiserver calls the webhook through its Service, which selects the operator pod', async () => {
    const t0 = Date.now();
    await sh(helm, ['install', release, chart, '-n', relNs, '-f', valuesFile]);
    const pod = await waitFor(
      'the operator pod to be Ready',
      async () => {
        const pods = (
          await kube.list<Pod>(Resources.Pod, relNs, { labelSelector: `app.kubernetes.io/instance=${release}` })
        ).items;
        return pods.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      },
      90_000,
      500,
    );
    const svc = await kube.get<Service>(Resources.Service, relNs, webhookService);
    expect(svc.spec?.ports).toEqual([expect.objectContaining({ name: 'webhook', port: 443, targetPort: 'webhook' })]);
    for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) expect(pod.metadata?.labels?.[k]).toBe(v);
    // failurePolicy Ignore admits while the webhook cannot be reached: wait for the first refusal.
    await waitFor(
      'the webhook to refuse (dry run)',
      async () => refused.test((await apply(invalidJob('probe'), '--dry-run=server')).stderr),
      60_000,
      500,
    );
    console.log(
      `webhook answering ${((Date.now() - t0) / 1000).toFixed(1)}s after helm install (pod ${pod.status?.podIP})`,
    );
  }, 180_000);

  it('kubectl apply of an invalid StreamJob is refused with the field path; nothing is stored', async () => {
    const r = await apply(invalidJob('bad'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(refused);
    expect(r.stderr).toMatch(/^The request is invalid: error when creating "STDIN": admission webhook/);
    expect((await kubectl(['get', 'streamjob', 'bad', '-n', watchNs])).stderr).toContain('NotFound');
  });

  it('a valid StreamJob is admitted without warnings; a druid sink naming a missing DruidDatasource is admitted with a warning', async () => {
    const ok = await apply(validJob('good'));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('streamjob.tributary.dev/good created');
    expect(ok.stderr).toBe('');
    const druid = job('to-druid', {
      steps: validSteps,
      sinks: [
        { name: 'out', from: 'tagged', console: {} },
        { name: 'druid', from: 'tagged', druid: { datasourceRef: 'missing-ds' } },
      ],
    });
    const warned = await apply(druid);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain('streamjob.tributary.dev/to-druid created');
    expect(warned.stderr).toContain(
      `Warning: spec.graph.sinks[1].druid.datasourceRef: DruidDatasource "missing-ds" not found in namespace ${watchNs}; the job is not deployed until it resolves`,
    );
  });

  it("checks a source's fields against the registry's schema version at apply; an unnamed registry only warns", async () => {
    const topic = `wh-clicks-${id}`;
    const client = new SchemaRegistryClient({ url: registryUrl() });
    const v1 = JSON.stringify({
      type: 'record',
      name: 'Click',
      namespace: 'wh',
      fields: [{ name: 'user', type: 'string' }],
    });
    await new AvroCodec({ client, subject: `${topic}-value`, schema: { inline: v1 }, autoRegister: true }).encode({
      user: 'u',
    });
    await client.close();
    const bad = await apply(registryJob('reg-bad', registryUrl(), topic, 'country == "de"'), '--dry-run=server');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/denied the request: spec\.graph\.steps\[0\]\.filter: .*country/);
    expect(bad.stderr).toContain(`(registry schema: version 1 of subject "${topic}-value")`);
    const good = await apply(registryJob('reg-good', registryUrl(), topic, 'user == "u"'), '--dry-run=server');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toBe('');
    // The TLS port's URL is not under the named prefix: not called, the job admitted with a warning.
    const elsewhere = process.env.TRIBUTARY_REGISTRY_TLS_URL!;
    const warned = await apply(registryJob('reg-elsewhere', elsewhere, topic, 'country == "de"'), '--dry-run=server');
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(
      'Warning: spec.graph.sources[0].kafka.registry: fields not checked against the schema: the operator calls only the registries its install names (webhook.schemaRegistries)',
    );
  });

  it('an update to an invalid graph is refused; a metadata-only update of the invalid job stored earlier is allowed', async () => {
    const r = await apply(invalidJob('good'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(refused);
    expect(r.stderr).toContain('error when applying patch');
    const annotated = await kubectl([
      'annotate',
      'streamjob',
      'early-bad',
      '-n',
      watchNs,
      'example.com/owner=webhook-test',
    ]);
    expect(annotated.stderr).toBe('');
    expect(annotated.code).toBe(0);
  });

  it('what slipped past the webhook is still reported: the job stored before it is Degraded/InvalidSpec, finalizer added through the webhook', async () => {
    const j = await waitFor(
      'early-bad Degraded/InvalidSpec',
      async () => {
        const o = await kube.get<StreamJob>(StreamJobs, watchNs, 'early-bad');
        return o.status?.conditions?.some(
          (c) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'InvalidSpec',
        )
          ? o
          : undefined;
      },
      60_000,
      500,
    );
    expect(j.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toMatch(
      /spec\.graph\.steps\[2\]: expected exactly one step kind/,
    );
    expect(j.metadata.finalizers).toContain(finalSavepointFinalizer);
  });

  it('an invalid DruidDatasource is refused with the field path; a valid one is admitted (server dry run)', async () => {
    const bad = await apply(
      datasource('clash', { metrics: [{ type: 'longSum', name: 'country', fieldName: 'clicks' }] }),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'admission webhook "druiddatasources.tributary.dev" denied the request: spec.metrics[0].name: "country" is also spec.dimensions[0]; Druid refuses a column named twice',
    );
    const override = await apply(datasource('kinesis', { specOverrides: { type: 'kinesis' } }));
    expect(override.stderr).toContain(
      'denied the request: spec.specOverrides.type: the operator manages Kafka supervisors only',
    );
    const ok = await apply(
      datasource('fine', { metrics: [{ type: 'longSum', name: 'clicks', fieldName: 'clicks' }] }),
      '--dry-run=server',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('druiddatasource.tributary.dev/fine created (server dry run)');
  });

  it('helm upgrade keeps the generated certificate and CA bundle (lookup), and the webhook keeps refusing', async () => {
    const secret = async () =>
      (await kube.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, relNs, `${webhookService}-tls`))
        .data;
    const caBundles = async () =>
      (
        await kube.request<{ webhooks: { clientConfig: { caBundle: string } }[] }>(
          'GET',
          `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${fullname}`,
        )
      ).webhooks.map((w) => w.clientConfig.caBundle);
    const before = { secret: await secret(), ca: await caBundles() };
    expect(before.ca).toEqual([before.secret['ca.crt'], before.secret['ca.crt']]);
    await sh(helm, ['upgrade', release, chart, '-n', relNs, '-f', valuesFile]);
    expect(await secret()).toEqual(before.secret);
    expect(await caBundles()).toEqual(before.ca);
    expect((await apply(invalidJob('after-upgrade'), '--dry-run=server')).stderr).toMatch(refused);
  }, 120_000);

  it('renders cert-manager mode, a named issuer, the webhook switched off, and refuses bad webhook values', async () => {
    const docs = async (...set: string[]) => {
      const out = await sh(helm, ['template', 'r', chart, '-n', relNs, ...set.flatMap((s) => ['--set', s])]);
      return parseAllDocuments(out)
        .map((d) => d.toJS() as Doc | null)
        .filter((d): d is Doc => d !== null);
    };
    const cm = await docs('webhook.certManager.enabled=true');
    expect(
      cm
        .filter((d) => ['Issuer', 'Certificate', 'Secret'].includes(d.kind))
        .map((d) => `${d.kind}/${d.metadata.name}`)
        .sort(),
    ).toEqual(['Certificate/r-tributary-webhook', 'Issuer/r-tributary-webhook-selfsigned']);
    const vwc = cm.find((d) => d.kind === 'ValidatingWebhookConfiguration');
    expect(vwc?.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${relNs}/r-tributary-webhook`);
    expect(vwc?.webhooks?.every((w) => w.clientConfig.caBundle === undefined)).toBe(true);
    const named = await docs(
      'webhook.certManager.enabled=true',
      'webhook.certManager.issuerRef.name=corp-ca',
      'webhook.certManager.issuerRef.kind=ClusterIssuer',
    );
    expect(named.map((d) => d.kind)).not.toContain('Issuer');
    expect(named.find((d) => d.kind === 'Certificate')?.spec?.['issuerRef']).toEqual({
      name: 'corp-ca',
      kind: 'ClusterIssuer',
    });
    const off = await docs('webhook.enabled=false');
    expect(
      off.filter(
        (d) =>
          d.kind === 'ValidatingWebhookConfiguration' ||
          d.metadata.name.endsWith('-webhook') ||
          d.metadata.name.endsWith('-webhook-tls'),
      ),
    ).toEqual([]);
    expect(JSON.stringify(off.find((d) => d.kind === 'Deployment'))).not.toContain('webhook');
    await expect(docs('webhook.port=8080')).rejects.toThrow(/webhook.port and metrics.port must differ/);
    await expect(docs('webhook.failurePolicy=Sometimes')).rejects.toThrow(/failurePolicy/);
  });
});
