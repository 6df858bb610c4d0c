// TEST-ONLY: the set-up the image's integration tests share: the image built by `npm run
// image`, a second node agent in container mode (podman + runc) beside the cluster's own
// (pods reach it by nodeName or a nodeSelector on its hostname, so the rest of the suite keeps
// its node), a namespace that enforces Pod Security `restricted`, the chart installed there
// (the operator in its container), and where the agent keeps each container's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageName, packageVersion, REPO_ROOT } from '../../image/build.ts';
import { ErrorCodes, OperatorError } from '../../operator/src/kube/index.ts';
import { run, storeFlags } from '../../image/store.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { buildImages, ensureContainerTools } from '../cluster/pod-runtime.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { apiserverUrl, portOffset } from '../cluster/ports.ts';
import type { KubeApi } from '../cluster/node-agent/kube-api.ts';
import { adminApi, createNamespace, waitFor } from '../cluster/node-agent/int-helpers.ts';

export const NODE_NAME = 'tributary-containers';
export const RUNTIME_IMAGE = imageName('runtime', packageVersion());
export const OPERATOR_IMAGE = imageName('operator', packageVersion());
const paths = clusterPaths();
/** Where the container agent writes each container's log (`<ns>_<pod>_<container>.log`). */
export const CONTAINER_LOGS = join(paths.logs, 'containers-agent', 'pods');

/** The pod and container security context of Pod Security `restricted` (what the slot pods carry). */
export const restricted = {
  pod: {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    fsGroup: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  container: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
};

const harnessError = (message: string) => new OperatorError(ErrorCodes.TEST_HARNESS, message);

export interface ContainerNode {
  api: KubeApi;
  /** A namespace enforcing Pod Security `restricted`. */
  ns: string;
  stop(): Promise<void>;
}

/**
 * `npm run image` (unless `build` is false), then the container agent (Ready) and a
 * restricted namespace `<prefix>-…`. Shared by the tests here and bench/container-start.ts.
 */
export async function startContainerNode(prefix: string, o: { build?: boolean } = {}): Promise<ContainerNode> {
  // A container-mode cluster's test setup has just built the images from this checkout: only
  // check they are there. A process-mode cluster built none, so build them here.
  const log = (line: string) => process.stderr.write(`[image] ${line}\n`);
  await ensureContainerTools(log);
  if (o.build !== false) await buildImages({ always: process.env['TRIBUTARY_NODE_AGENT_RUNTIME'] !== 'podman', log });
  mkdirSync(CONTAINER_LOGS, { recursive: true });
  const out = openSync(join(paths.logs, 'node-agent-containers.log'), 'a');
  const agent: ChildProcess = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'test/cluster/node-agent/main.ts'),
      `--kubeconfig=${paths.kubeconfig}`,
      `--node-name=${NODE_NAME}`,
      `--pods-dir=${join(paths.dir, 'node-containers', 'pods')}`,
      `--log-dir=${join(paths.logs, 'containers-agent')}`,
      // 127.1.x: never one of the clusters' own pod ranges (127.0.x).
      `--pod-cidr=127.1.${1 + portOffset / 100}.0/24`,
      `--api-server=${apiserverUrl}`,
      `--ca-file=${join(paths.pki, 'ca.crt')}`,
      // Never a pod that selects no node: those are the cluster node's, whatever test made them.
      '--pinned-only',
    ],
    { env: { ...process.env, TRIBUTARY_NODE_AGENT_RUNTIME: 'podman' }, stdio: ['ignore', out, out], cwd: REPO_ROOT },
  );
  const exited = new Promise((r) => agent.once('exit', r));
  const api = await adminApi();
  await waitFor(`Node ${NODE_NAME} Ready`, async () => {
    const node = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
      `/api/v1/nodes/${NODE_NAME}`,
    );
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  });
  const ns = await createNamespace(api, prefix);
  await api.request('PATCH', `/api/v1/namespaces/${ns}`, {
    body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    contentType: 'application/merge-patch+json',
  });
  return {
    api,
    ns,
    async stop() {
      // Pods first, while the agent is still there to stop their containers.
      await api.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
      await waitFor(
        `namespace ${ns} gone`,
        async () =>
          api.get(`/api/v1/namespaces/${ns}`).then(
            () => false,
            () => true,
          ),
        120_000,
      ).catch(() => undefined);
      agent.kill('SIGTERM');
      await exited;
      await api.delete(`/api/v1/nodes/${NODE_NAME}`).catch(() => undefined);
      await api.close();
    },
  };
}

/** The text of a container's log on the container node ('' while there is none). */
export function containerLog(ns: string, pod: string, container: string): string {
  try {
    return readFileSync(join(CONTAINER_LOGS, `${ns}_${pod}_${container}.log`), 'utf8');
  } catch {
    return '';
  }
}

/** The JSON log lines of a container whose `msg` is `msg`. */
export function logRecords(ns: string, pod: string, container: string, msg: string): Record<string, unknown>[] {
  return containerLog(ns, pod, container)
    .split('\n')
    .filter((l) => l.includes(`"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['msg'] === msg);
}

/** `podman ps` of our store: one line per running container, in `format`. */
export async function podmanPs(format: string, all = false): Promise<string[]> {
  const r = await run(['podman', ...storeFlags(), 'ps', ...(all ? ['-a'] : []), '--format', format]);
  return r.stdout.split('\n').filter(Boolean);
}

export interface Release {
  helm: string;
  release: string;
  uninstall(): Promise<void>;
}

/**
 * `helm install` of the chart into `ns`, the operator pinned to the container node and
 * watching only `ns`; the CRDs applied from crds/ (the chart's CRD templates stay out: another
 * release may own them). `sets` are more `--set` values, `json` more `--set-json` ones.
 */
export async function installChart(ns: string, sets: string[] = [], json: string[] = []): Promise<Release> {
  const helm = await ensureHelm();
  // Per namespace: a release left by an aborted run (its cluster-scoped webhook) never blocks this one.
  const release = `op-${ns}`;
  for (const f of ['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml']) {
    const r = await run(['kubectl', 'apply', '--server-side', '--force-conflicts', '-f', join(REPO_ROOT, 'crds', f)]);
    if (r.code !== 0) throw harnessError(`kubectl apply of crds/${f} failed: ${r.stderr}`);
  }
  const all = [
    'crds.install=false',
    'image.pullPolicy=Never',
    `watchNamespaces={${ns}}`,
    `nodeSelector.kubernetes\\.io/hostname=${NODE_NAME}`,
    ...sets,
  ];
  const inst = await run([
    helm,
    'install',
    release,
    join(REPO_ROOT, 'charts/tributary'),
    '-n',
    ns,
    ...all.flatMap((v) => ['--set', v]),
    ...json.flatMap((v) => ['--set-json', v]),
    '--wait',
    '--timeout',
    '180s',
  ]);
  if (inst.code !== 0) throw harnessError(`helm install ${release} failed: ${inst.stderr}`);
  return {
    helm,
    release,
    async uninstall() {
      const r = await run([helm, 'uninstall', release, '-n', ns, '--wait', '--timeout', '90s']);
      if (r.code !== 0) throw harnessError(`helm uninstall ${release} failed: ${r.stderr}`);
    },
  };
}
