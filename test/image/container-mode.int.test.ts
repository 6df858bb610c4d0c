// The image, built from the Dockerfile by `npm run image`, run as real OCI containers by a
// second node agent in container mode (podman + runc) beside the cluster's own
// (container-node.ts): pods are pinned to it by nodeName or a nodeSelector on its hostname,
// and it takes no other pod, so the rest of the suite keeps its node. What is checked is what
// the kubelet and the image promise together: non-root user 65532, read-only root
// filesystem, the pod's loopback IP, volumes, SIGTERM reaching node as PID 1, OOMKilled,
// ErrImageNeverPull, runAsNonRoot refused for a root image, CreateContainerError with nothing
// left running, and Pod Security `restricted` enforced by the real apiserver.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseInputs, baseTag } from '../../image/base.ts';
import { packageVersion, REPO_ROOT } from '../../image/build.ts';
import { isApiStatus } from '../cluster/node-agent/errors.ts';
import type { KubeApi } from '../cluster/node-agent/kube-api.ts';
import type { Pod } from '../cluster/node-agent/kube-types.ts';
import { waitFor, waitForPod, waitForPodGone } from '../cluster/node-agent/int-helpers.ts';
import {
  CONTAINER_LOGS,
  installChart,
  NODE_NAME,
  podmanPs,
  restricted,
  RUNTIME_IMAGE,
  startContainerNode,
  type ContainerNode,
} from './container-node.ts';

let node: ContainerNode;
let api: KubeApi;
let ns: string;

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

async function containersOf(podName: string, all = true): Promise<string[]> {
  return (await podmanPs('{{.Names}}', all)).filter((n) => n.includes(`_${podName}_${ns}_`));
}

beforeAll(async () => {
  node = await startContainerNode('img');
  api = node.api;
  ns = node.ns;
}, 900_000);

afterAll(async () => {
  await node?.stop();
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
    const logFile = join(CONTAINER_LOGS, `${ns}_ro_main.log`);
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
    expect(await containersOf('badcmd', false)).toEqual([]);
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
    const chart = await installChart(ns);
    const ops = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, {
      labelSelector: 'app.kubernetes.io/name=tributary',
    });
    const op = ops.items[0];
    expect(op?.spec?.nodeName).toBe(NODE_NAME);
    expect(op?.status?.containerStatuses?.[0]?.ready).toBe(true);
    expect(await podmanPs('{{.Image}}')).toContain(`localhost/tributary/operator:${packageVersion()}`);
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
      const log = join(CONTAINER_LOGS, `${ns}_${slot.metadata?.name}_runtime.log`);
      const listening = readFileSync(log, 'utf8')
        .split('\n')
        .find((l) => l.includes('"slot listening"'));
      expect((JSON.parse(listening ?? '{}') as { compileCache?: string }).compileCache).toMatch(
        /^\/app\/\.node-compile-cache\/v24\.[^/]*-65532$/,
      );
    }
    // This namespace's containers only (names are k8s_<container>_<pod>_<namespace>_…): the store is
    // the machine's, and another lane's cluster may run runtime containers at the same time.
    const running = await podmanPs('{{.Image}} {{.Names}}');
    const ours = running.filter((l) => l.split(' ')[1]?.split('_')[3] === ns).map((l) => l.split(' ')[0]);
    expect(ours.filter((i) => i === `localhost/tributary/runtime:${packageVersion()}`)).toHaveLength(2);
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
    await chart.uninstall();
  });
});
