// The image, built from the Dockerfile by `npm run image`, run as real OCI containers by a
// second node agent in container mode (podman + runc) beside the cluster's own: pods are
// pinned to it by nodeName, so the rest of the suite keeps its node. What is checked is what
// the kubelet and the image promise together: non-root user 65532, read-only root
// filesystem, the pod's loopback IP, volumes, SIGTERM reaching node as PID 1, OOMKilled,
// ErrImageNeverPull, runAsNonRoot refused for a root image, CreateContainerError with nothing
// left running, and Pod Security `restricted` enforced by the real apiserver.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseInputs, baseTag } from '../../image/base.ts';
import { imageName, packageVersion, REPO_ROOT } from '../../image/build.ts';
import { run, storeFlags } from '../../image/store.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { apiserverUrl, portOffset } from '../cluster/ports.ts';
import { isApiStatus } from '../cluster/node-agent/errors.ts';
import type { KubeApi } from '../cluster/node-agent/kube-api.ts';
import type { Pod } from '../cluster/node-agent/kube-types.ts';
import { adminApi, createNamespace, waitFor, waitForPod, waitForPodGone } from '../cluster/node-agent/int-helpers.ts';

const NODE_NAME = 'tributary-containers';
const RUNTIME_IMAGE = imageName('runtime', packageVersion());
const paths = clusterPaths();
let agent: ChildProcess;
let api: KubeApi;
let ns: string;

const restricted = {
  pod: {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    fsGroup: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  container: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
};

function pod(name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: {
      nodeName: NODE_NAME,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      securityContext: restricted.pod,
      containers: [{ name: 'main', image: RUNTIME_IMAGE, securityContext: restricted.container, ...container }],
      ...spec,
    },
  } as Pod;
}

const stateOf = (p: Pod) => p.status?.containerStatuses?.[0]?.state ?? {};

async function containersOf(podName: string): Promise<string[]> {
  const r = await run(['podman', ...storeFlags(), 'ps', '-a', '--format', '{{.Names}}']);
  return r.stdout.split('\n').filter((n) => n.includes(`_${podName}_${ns}_`));
}

beforeAll(async () => {
  const build = await run(['npm', 'run', '-s', 'image'], { inherit: true });
  expect(build.code).toBe(0);
  const logs = join(paths.logs, 'containers-agent');
  mkdirSync(logs, { recursive: true });
  const out = openSync(join(paths.logs, 'node-agent-containers.log'), 'a');
  agent = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'test/cluster/node-agent/main.ts'),
      `--kubeconfig=${paths.kubeconfig}`,
      `--node-name=${NODE_NAME}`,
      `--pods-dir=${join(paths.dir, 'node-containers', 'pods')}`,
      `--log-dir=${logs}`,
      // 127.1.x: never one of the clusters' own pod ranges (127.0.x).
      `--pod-cidr=127.1.${1 + portOffset / 100}.0/24`,
      `--api-server=${apiserverUrl}`,
      `--ca-file=${join(paths.pki, 'ca.crt')}`,
    ],
    { env: { ...process.env, TRIBUTARY_NODE_AGENT_RUNTIME: 'podman' }, stdio: ['ignore', out, out], cwd: REPO_ROOT },
  );
  api = await adminApi();
  await waitFor(`Node ${NODE_NAME} Ready`, async () => {
    const node = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
      `/api/v1/nodes/${NODE_NAME}`,
    );
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  });
  ns = await createNamespace(api, 'img');
  await api.request('PATCH', `/api/v1/namespaces/${ns}`, {
    body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    contentType: 'application/merge-patch+json',
  });
}, 900_000);

afterAll(async () => {
  if (api && ns) {
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
  }
  if (agent) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  }
  if (api) {
    await api.delete(`/api/v1/nodes/${NODE_NAME}`).catch(() => undefined);
    await api.close();
  }
});

describe('the image in container mode', () => {
  it('runs as 65532 with a read-only root, binds its pod IP, mounts volumes, and gets SIGTERM as PID 1', async () => {
    const script = [
      "const fs=require('fs');let ro='writable';try{fs.writeFileSync('/app/x','x')}catch(e){ro=e.code}",
      "fs.writeFileSync('/tmp/ok','1');",
      'console.log(JSON.stringify({uid:process.getuid(),pid:process.pid,ro,ip:process.env.POD_IP}));',
      "require('http').createServer((q,r)=>r.end('ok')).listen(8080,process.env.POD_IP);",
      "process.on('SIGTERM',()=>{console.log('SIGTERM received');process.exit(0)});",
    ].join('\n');
    await api.post(
      `/api/v1/namespaces/${ns}/pods`,
      pod(
        'ro',
        {
          command: ['node', '-e', script],
          env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
        { volumes: [{ name: 'tmp', emptyDir: {} }] },
      ),
    );
    const ready = await waitForPod(
      api,
      ns,
      'ro',
      'Ready',
      (p) => p.status?.containerStatuses?.[0]?.ready === true,
      120_000,
    );
    const logFile = join(paths.logs, 'containers-agent', 'pods', `${ns}_ro_main.log`);
    const line = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('{"uid"'));
    expect(JSON.parse(line ?? '{}')).toEqual({ uid: 65532, pid: 1, ro: 'EROFS', ip: ready.status?.podIP });
    expect(ready.status?.podIP).toMatch(/^127\.1\./);
    await api.delete(`/api/v1/namespaces/${ns}/pods/ro`);
    await waitForPodGone(api, ns, 'ro');
    expect(readFileSync(logFile, 'utf8')).toContain('SIGTERM received');
    expect(await containersOf('ro')).toEqual([]);
  });

  it('reports OOMKilled for a container over its memory limit', async () => {
    await api.post(
      `/api/v1/namespaces/${ns}/pods`,
      pod('oom', {
        command: ['node', '-e', 'const a=[];for(;;)a.push(Buffer.alloc(1e6).fill(1))'],
        resources: { limits: { memory: '64Mi', cpu: '1' } },
      }),
    );
    const done = await waitForPod(api, ns, 'oom', 'terminated', (p) => 'terminated' in stateOf(p), 120_000);
    expect(stateOf(done).terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(done.status?.phase).toBe('Failed');
  });

  it('waits with ErrImageNeverPull naming an image that was not built', async () => {
    await api.post(
      `/api/v1/namespaces/${ns}/pods`,
      pod('missing', { image: 'tributary/runtime:0.0.0-not-built', imagePullPolicy: 'Never' }),
    );
    const waiting = await waitForPod(
      api,
      ns,
      'missing',
      'ErrImageNeverPull',
      (p) => stateOf(p).waiting?.reason === 'ErrImageNeverPull',
    );
    expect(stateOf(waiting).waiting?.message).toContain('tributary/runtime:0.0.0-not-built');
  });

  it('reports CreateContainerError for a command that cannot start, leaving nothing running', async () => {
    await api.post(`/api/v1/namespaces/${ns}/pods`, pod('badcmd', { command: ['/no/such/binary'] }));
    const waiting = await waitForPod(
      api,
      ns,
      'badcmd',
      'CreateContainerError',
      (p) => stateOf(p).waiting?.reason === 'CreateContainerError',
      120_000,
    );
    expect(stateOf(waiting).waiting?.message).toMatch(/no\/such\/binary/);
    const r = await run(['podman', ...storeFlags(), 'ps', '--format', '{{.Names}}']);
    expect(r.stdout.split('\n').filter((n) => n.includes(`_badcmd_${ns}_`))).toEqual([]);
  });

  it('Pod Security restricted: the apiserver refuses a root pod and admits ours; the agent refuses runAsNonRoot on a root image', async () => {
    const rootPod = pod('root', { securityContext: {} }, { securityContext: {} });
    const refused = await api.post(`/api/v1/namespaces/${ns}/pods`, rootPod).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isApiStatus(refused, 403)).toBe(true);
    expect(String((refused as Error).message)).toContain('violates PodSecurity "restricted');
    // Admitted (runAsNonRoot is declared) but the base image has no USER: the agent, like the
    // kubelet, cannot start it as non-root.
    const base = baseTag(await baseInputs(REPO_ROOT)).replace(/^localhost\//, '');
    await api.post(
      `/api/v1/namespaces/${ns}/pods`,
      pod(
        'rootimage',
        { image: base, command: ['id'] },
        { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } },
      ),
    );
    const waiting = await waitForPod(
      api,
      ns,
      'rootimage',
      'CreateContainerConfigError',
      (p) => stateOf(p).waiting?.reason === 'CreateContainerConfigError',
    );
    expect(stateOf(waiting).waiting?.message).toContain('will run as root');
  });

  it("helm install runs the operator in its container as non-root; a StreamJob's slots run in the image", async () => {
    const helm = await ensureHelm();
    // Per run: a release left by an aborted run (its cluster-scoped webhook) never blocks this one.
    const release = `op-${ns}`;
    // CRDs from crds/ (the chart's CRD templates stay out: another release may own them).
    for (const f of ['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml']) {
      expect(
        (await run(['kubectl', 'apply', '--server-side', '--force-conflicts', '-f', join(REPO_ROOT, 'crds', f)])).code,
      ).toBe(0);
    }
    const install = ['install', release, join(REPO_ROOT, 'charts/tributary'), '-n', ns, '--set', 'crds.install=false'];
    const sets = [
      'image.pullPolicy=Never',
      `watchNamespaces={${ns}}`,
      `nodeSelector.kubernetes\\.io/hostname=${NODE_NAME}`,
    ];
    const inst = await run([helm, ...install, ...sets.flatMap((v) => ['--set', v]), '--wait', '--timeout', '180s']);
    expect(inst.code, inst.stderr).toBe(0);
    const ops = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
      labelSelector: 'app.kubernetes.io/name=tributary',
    });
    const op = ops.items[0];
    expect(op?.spec?.nodeName).toBe(NODE_NAME);
    expect(op?.status?.containerStatuses?.[0]?.ready).toBe(true);
    const names = (await run(['podman', ...storeFlags(), 'ps', '--format', '{{.Names}} {{.Image}} {{.Labels}}']))
      .stdout;
    expect(names).toContain(`localhost/tributary/operator:${packageVersion()}`);
    const job = parse(readFileSync(join(REPO_ROOT, 'crds/examples/clicks-local.yaml'), 'utf8')) as {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
    };
    job.metadata = { name: 'clicks', namespace: ns };
    job.spec['podTemplate'] = { nodeSelector: { 'kubernetes.io/hostname': NODE_NAME } };
    // Its state is a per-pod emptyDir, which only a stateless job may use (no savepoint would outlive its pods).
    job.spec['upgradeMode'] = 'stateless';
    job.spec['savepoints'] = { ...(job.spec['savepoints'] as object), onDelete: false };
    await api.post(`/apis/tributary.dev/v1alpha1/namespaces/${ns}/streamjobs`, job);
    const slots = await waitFor(
      'two Ready slot pods',
      async () => {
        const list = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
          labelSelector: 'tributary.dev/job=clicks',
        });
        const ready = list.items.filter((p) => p.status?.containerStatuses?.[0]?.ready);
        return ready.length === 2 ? ready : false;
      },
      180_000,
    );
    for (const slot of slots) {
      expect(slot.spec?.nodeName).toBe(NODE_NAME);
      // The slot runs on the image's build-time compile cache (as uid 65532), not a cold one.
      const log = join(paths.logs, 'containers-agent', 'pods', `${ns}_${slot.metadata?.name}_runtime.log`);
      const listening = readFileSync(log, 'utf8')
        .split('\n')
        .find((l) => l.includes('"slot listening"'));
      expect((JSON.parse(listening ?? '{}') as { compileCache?: string }).compileCache).toMatch(
        /^\/app\/\.node-compile-cache\/v24\.[^/]*-65532$/,
      );
    }
    const running = (await run(['podman', ...storeFlags(), 'ps', '--format', '{{.Image}}'])).stdout;
    expect(running.split('\n').filter((i) => i === `localhost/tributary/runtime:${packageVersion()}`)).toHaveLength(2);
    // The operator (still running) finishes the job; then the release goes.
    await api.delete(`/apis/tributary.dev/v1alpha1/namespaces/${ns}/streamjobs/clicks`);
    await waitFor(
      'StreamJob clicks gone',
      async () =>
        api.get(`/apis/tributary.dev/v1alpha1/namespaces/${ns}/streamjobs/clicks`).then(
          () => false,
          () => true,
        ),
      120_000,
    );
    expect((await run([helm, 'uninstall', release, '-n', ns, '--wait', '--timeout', '90s'])).code).toBe(0);
  });
});
