// TEST-ONLY: checks of the README's setup commands (kubernetes-path.int.test.ts): the env line
// gives this cluster's clients and S3 server, the credentials Secret is made and opted in,
// Helm installs an operator that is Ready, non-root and has the S3 default storage the
// `--set`s gave, or the checkout's operator runs in the background. Also what the test
// arranges around them on a cluster other tests share: adopting their CRDs into the release,
// removing the release.
import { join } from 'node:path';
import { expect } from 'vitest';
import { Resources, type KubeObject } from '../../operator/src/kube/index.ts';
import { waitFor } from '../../operator/src/kube/testing/cluster.ts';
import { helmPath } from '../cluster/components/helm.ts';
import { kubectlPath } from '../cluster/components/kubectl.ts';
import { outputTopic, topicEnd } from './clicks-output.ts';
import type { PathContext, StepCheck } from './path-context.ts';

interface Pod extends KubeObject {
  spec?: {
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    containers?: {
      securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
      env?: { name: string; value?: string }[];
    }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

/** The README's release: fixed names, so one run at a time (the two variants run in turn). */
const release = { name: 'tributary', namespace: 'tributary-system' };
const crdNames = ['streamjobs.tributary.dev', 'druiddatasources.tributary.dev'];
const isReady = (p: Pod) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;

/** Removes the README's Helm release and its namespace, waiting until they are gone (a rerun installs them again). */
export async function uninstallRelease(c: PathContext): Promise<void> {
  const helm = `'${helmPath()}' --kubeconfig '${c.kubeconfig}'`;
  if ((await c.shell.exec(`${helm} status ${release.name} -n ${release.namespace}`, 60_000)).exitCode === 0) {
    await c.shell.run(
      `${helm} uninstall ${release.name} -n ${release.namespace} --wait --timeout 120s`,
      'test clean-up',
      180_000,
    );
  }
  await c.kube.delete(Resources.Namespace, undefined, release.namespace).catch(() => undefined);
  await waitFor(
    `namespace ${release.namespace} to be gone`,
    async () =>
      c.kube.get(Resources.Namespace, undefined, release.namespace).then(
        () => false,
        () => true,
      ),
    120_000,
    1_000,
  );
}

export const operatorChecks: readonly StepCheck[] = [
  {
    name: "the env line gives KUBECONFIG, the brokers, the S3 server, and the cluster's kubectl and helm on PATH",
    match: /^eval "\$\(npm run -s cluster -- env\)"/,
    async after(c) {
      expect(c.shell.env.KUBECONFIG).toBe(c.kubeconfig);
      expect(c.shell.env.TRIBUTARY_KAFKA_BROKERS).toBe(c.brokers);
      expect({
        endpoint: c.shell.env.TRIBUTARY_S3_ENDPOINT,
        region: c.shell.env.TRIBUTARY_S3_REGION,
        bucket: c.shell.env.TRIBUTARY_S3_BUCKET,
        accessKeyId: c.shell.env.TRIBUTARY_S3_ACCESS_KEY_ID,
        secretAccessKey: c.shell.env.TRIBUTARY_S3_SECRET_ACCESS_KEY,
      }).toEqual(c.s3);
      expect((await c.shell.run('command -v kubectl helm', 'test', 10_000)).trim().split('\n')).toEqual([
        kubectlPath(),
        helmPath(),
      ]);
      // The test's own setup: this variant's namespace as the default of a kubeconfig copy,
      // so the README's namespace-less commands land there.
      const copy = join(c.tmp, `kubeconfig-${c.variant}`);
      await c.shell.run(
        `cp "$KUBECONFIG" '${copy}' && export KUBECONFIG='${copy}' && kubectl create namespace ${c.ns} && kubectl config set-context --current --namespace=${c.ns}`,
        'test setup',
        60_000,
      );
      c.outputFrom = await topicEnd(c.kafka, outputTopic);
      c.clicksFrom = await topicEnd(c.kafka, 'clicks');
    },
  },
  {
    name: 'kubectl create secret + kubectl label: the S3 keys in a Secret opted in for the operator',
    match: /^kubectl label secret s3-credentials /,
    async after(c) {
      const secret = await c.kube.get<KubeObject & { data?: Record<string, string> }>(
        Resources.Secret,
        c.ns,
        's3-credentials',
      );
      expect(secret.metadata?.labels?.['tributary.dev/credentials']).toBe('true');
      const text = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
      expect({ id: text('accessKeyId'), secret: text('secretAccessKey') }).toEqual({
        id: c.s3.accessKeyId,
        secret: c.s3.secretAccessKey,
      });
    },
  },
  {
    name: 'helm install: the operator pod is Ready, runs as non-root and has the S3 default storage',
    match: /^helm install tributary /,
    variants: ['helm'],
    async before(c) {
      await uninstallRelease(c); // left by an interrupted run
      // Other tests apply the CRDs without Helm's ownership: let the release adopt them, as
      // charts/tributary/README.md tells a user who applied crds/ first. (A new cluster has none.)
      for (const crd of crdNames) {
        const o = await c.kube.get(Resources.CustomResourceDefinition, undefined, crd).catch(() => undefined);
        const a = o?.metadata?.annotations ?? {};
        if (
          !o ||
          (a['meta.helm.sh/release-name'] === release.name && a['meta.helm.sh/release-namespace'] === release.namespace)
        )
          continue;
        await c.shell.run(
          `kubectl label crd ${crd} app.kubernetes.io/managed-by=Helm --overwrite && kubectl annotate crd ${crd} meta.helm.sh/release-name=${release.name} meta.helm.sh/release-namespace=${release.namespace} --overwrite`,
          'test setup',
          60_000,
        );
      }
    },
    async after(c) {
      const pods = (
        await c.kube.list<Pod>(Resources.Pod, release.namespace, {
          labelSelector: `app.kubernetes.io/instance=${release.name}`,
        })
      ).items;
      expect(pods.map(isReady)).toEqual([true]);
      const pod = pods[0]!;
      expect(pod.spec?.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.spec?.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.spec?.containers?.[0]?.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
      });
      // The nested --set values reached the operator as its default stateStorage.
      const storage = pod.spec?.containers?.[0]?.env?.find(
        (e) => e.name === 'TRIBUTARY_OPERATOR_DEFAULT_STATE_STORAGE',
      )?.value;
      expect(JSON.parse(storage ?? '{}')).toEqual({
        s3: {
          bucket: c.s3.bucket,
          endpoint: c.s3.endpoint,
          region: c.s3.region,
          credentialsSecretRef: { name: 's3-credentials' },
        },
      });
      // The apiserver's own judgement: enforcing Pod Security "restricted" on the release's
      // namespace would warn about any running pod that could run as root.
      const psa = await c.shell.exec(
        `kubectl label --dry-run=server --overwrite namespace ${release.namespace} pod-security.kubernetes.io/enforce=restricted`,
        60_000,
      );
      expect(psa.exitCode, psa.output).toBe(0);
      expect(psa.output).not.toMatch(/warning/i);
    },
  },
  {
    name: 'kubectl apply -f crds/: both CRDs are established',
    match: /^kubectl apply -f crds\/(\s|$)/,
    variants: ['checkout'],
    async after(c) {
      await c.shell.run(
        `kubectl wait --for=condition=Established ${crdNames.map((n) => `crd/${n}`).join(' ')} --timeout=60s`,
        'test',
        90_000,
      );
    },
  },
  {
    name: 'npm run operator … &: the operator runs from the checkout and is ready',
    match: /^npm run operator\b/,
    variants: ['checkout'],
    async after(c) {
      expect(c.shell.background).toHaveLength(1);
      // Its default probe address (operator/src/config.ts).
      await waitFor(
        'the operator from the checkout to answer /readyz',
        async () => (await fetch('http://127.0.0.1:8080/readyz').catch(() => undefined))?.status === 200,
        60_000,
        500,
      );
    },
  },
];
