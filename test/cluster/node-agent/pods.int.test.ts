// Pods run by the node agent against the real kube-apiserver and controller-manager of the
// local cluster (brought up, node agent included, by the integration global setup).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  createNamespace,
  getPod,
  hostDir,
  isReady,
  TESTDATA,
  waitFor,
  waitForPod,
  waitForPodGone,
} from './int-helpers.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod } from './kube-types.ts';

describe('the node agent runs pods', () => {
  let api: KubeApi;
  let ns: string;
  const podsPath = () => `/api/v1/namespaces/${ns}/pods`;

  beforeAll(async () => {
    api = await adminApi();
    ns = await createNamespace(api);
  });

  afterAll(async () => {
    await api?.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    await api?.close();
  });

  it('registers a Ready node with a live lease', async () => {
    const node = await api.get<{
      status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
    }>('/api/v1/nodes/tributary-node');
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    // Live: the agent renews it (a renewal observed, not a renewTime compared with this machine's clock).
    const renewTime = async () =>
      (
        await api.get<{ spec?: { renewTime?: string } }>(
          '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/tributary-node',
        )
      ).spec?.renewTime;
    const first = await renewTime();
    expect(first).toBeDefined();
    await waitFor('a lease renewal', async () => ((await renewTime()) ?? '') > first!);
  });

  it('binds a pod, turns it Ready through its HTTP readiness probe, shares an emptyDir and mounts a ConfigMap', async () => {
    const out = hostDir();
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'web-config' },
      data: { greeting: 'hello from a ConfigMap' },
    });
    await api.post(podsPath(), {
      metadata: { name: 'web' },
      spec: {
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'server',
            image: 'tributary/node:24',
            args: [join(TESTDATA, 'probe-server.ts')],
            env: [
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'PORT', value: '8080' },
            ],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
            volumeMounts: [
              { name: 'config', mountPath: '/etc/config' },
              { name: 'shared', mountPath: '/shared' },
              { name: 'out', mountPath: '/out' },
            ],
          },
          {
            name: 'reader',
            image: 'busybox:1.36',
            command: [
              'sh',
              '-c',
              'until [ -f "$TRIBUTARY_POD_ROOT/shared/message" ]; do sleep 0.1; done; cp "$TRIBUTARY_POD_ROOT/shared/message" "$TRIBUTARY_POD_ROOT/out/copied"; exec sleep 3600',
            ],
            volumeMounts: [
              { name: 'shared', mountPath: '/shared' },
              { name: 'out', mountPath: '/out' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'web-config' } },
          { name: 'shared', emptyDir: {} },
          { name: 'out', hostPath: { path: out } },
        ],
      },
    });

    const running = await waitForPod(
      api,
      ns,
      'web',
      'both containers running',
      (p) => (p.status?.containerStatuses ?? []).filter((c) => c.state?.running).length === 2,
    );
    expect(running.spec?.nodeName).toBe('tributary-node');
    expect(running.status?.podIP).toMatch(/^127\.0\.\d+\.\d+$/); // the cluster's pod range (shifted with its port offset)
    expect(running.status?.hostIP).toBe('127.0.0.1');

    // The probe keeps failing until the test lets it pass: not Ready for a few periods.
    await new Promise((r) => setTimeout(r, 2500));
    const notYet = (await getPod(api, ns, 'web'))!;
    expect(isReady(notYet)).toBe(false);
    expect(notYet.status?.containerStatuses?.find((c) => c.name === 'server')?.ready).toBe(false);
    expect(notYet.status?.containerStatuses?.find((c) => c.name === 'reader')?.ready).toBe(true);

    writeFileSync(join(out, 'ready-now'), '');
    const ready = await waitForPod(api, ns, 'web', 'Ready', isReady, 20_000);
    expect(ready.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('True');

    // The server answers on its own pod IP with the ConfigMap's content...
    const res = await fetch(`http://${ready.status?.podIP}:8080/message`);
    expect(await res.text()).toBe('hello from a ConfigMap');
    // ...and the other container read it from the shared emptyDir.
    await waitFor('the reader container to copy the emptyDir file', async () => existsSync(join(out, 'copied')));
    expect(readFileSync(join(out, 'copied'), 'utf8')).toBe('hello from a ConfigMap');

    await api.delete(`${podsPath()}/web`);
    await waitForPodGone(api, ns, 'web', 30_000);
  });

  it('gives a pod a bound service-account token: RBAC allows what it grants (200) and nothing else (403)', async () => {
    await api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'reader' } });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      metadata: { name: 'reader-reads-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    await api.post(podsPath(), {
      metadata: { name: 'api-caller' },
      spec: {
        serviceAccountName: 'reader',
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'tributary/node:24', args: [join(TESTDATA, 'api-caller.ts')] }],
      },
    });
    const done = await waitForPod(
      api,
      ns,
      'api-caller',
      'Succeeded or Failed',
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    );
    const term = done.status?.containerStatuses?.[0]?.state?.terminated;
    expect(done.status?.phase, JSON.stringify(term)).toBe('Succeeded');
    expect(JSON.parse(term?.message ?? '{}')).toEqual({
      namespace: ns,
      configmaps: 200,
      secrets: 403,
      boundPod: 'api-caller',
    });
  });

  it('sends SIGTERM on delete and the pod is gone within its grace period', async () => {
    const out = hostDir();
    await api.post(podsPath(), {
      metadata: { name: 'graceful' },
      spec: {
        terminationGracePeriodSeconds: 20,
        containers: [
          {
            name: 'main',
            image: 'tributary/node:24',
            args: [join(TESTDATA, 'sigterm.ts')],
            env: [{ name: 'EXIT_DELAY_MS', value: '1000' }],
            volumeMounts: [{ name: 'out', mountPath: '/out' }],
          },
        ],
        volumes: [{ name: 'out', hostPath: { path: out } }],
      },
    });
    await waitForPod(api, ns, 'graceful', 'Running', (p) => p.status?.phase === 'Running');
    await waitFor('the program to start', async () => existsSync(join(out, 'started')));
    const t0 = Date.now();
    await api.delete(`${podsPath()}/graceful`);
    await waitForPodGone(api, ns, 'graceful', 30_000);
    const elapsed = Date.now() - t0;
    expect(existsSync(join(out, 'sigterm'))).toBe(true);
    // It exited by itself (1s after SIGTERM, the agent waited for it), not by a SIGKILL at the end of
    // the 20s grace period: its own exit marker is there.
    expect(existsSync(join(out, 'exiting'))).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(900);
  });

  it('SIGKILLs a container that ignores SIGTERM once the grace period is over', async () => {
    const out = hostDir();
    await api.post(podsPath(), {
      metadata: { name: 'stubborn' },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'main',
            image: 'tributary/node:24',
            args: [join(TESTDATA, 'sigterm.ts')],
            env: [{ name: 'IGNORE_SIGTERM', value: '1' }],
            volumeMounts: [{ name: 'out', mountPath: '/out' }],
          },
        ],
        volumes: [{ name: 'out', hostPath: { path: out } }],
      },
    });
    await waitForPod(api, ns, 'stubborn', 'Running', (p) => p.status?.phase === 'Running');
    await waitFor('the program to start', async () => existsSync(join(out, 'started')));
    const t0 = Date.now();
    await api.delete(`${podsPath()}/stubborn`);
    await waitForPodGone(api, ns, 'stubborn', 30_000);
    const elapsed = Date.now() - t0;
    expect(existsSync(join(out, 'sigterm'))).toBe(true);
    // Gone without ever exiting by itself: the agent killed it, and not before the grace period.
    expect(existsSync(join(out, 'exiting'))).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(1800);
  });

  it('reports a crashing container with its exit code and counts its restarts', async () => {
    await api.post(podsPath(), {
      metadata: { name: 'crash-loop' },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo crashing; exit 3'] }] },
    });
    await api.post(podsPath(), {
      metadata: { name: 'crash-once' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 7'] }],
      },
    });
    const failed = await waitForPod(api, ns, 'crash-once', 'Failed', (p) => p.status?.phase === 'Failed');
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 7, reason: 'Error' });
    expect(failed.status?.containerStatuses?.[0]?.restartCount).toBe(0);

    const looping = await waitForPod(
      api,
      ns,
      'crash-loop',
      'restarted twice',
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
      60_000,
    );
    const status = looping.status?.containerStatuses?.[0];
    expect(status?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(looping.status?.phase).toBe('Running');
    const crashLooping = await waitForPod(
      api,
      ns,
      'crash-loop',
      'CrashLoopBackOff',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    );
    expect(crashLooping.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(
      /back-off \d+s restarting failed container=main/,
    );
  });

  it('restarts a container whose liveness probe fails', async () => {
    await api.post(podsPath(), {
      metadata: { name: 'liveness' },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'main',
            image: 'busybox',
            // Healthy for ~1.5s after each start, then the probe's file disappears.
            command: [
              'sh',
              '-c',
              'touch "$TRIBUTARY_POD_ROOT/healthy"; sleep 1.5; rm "$TRIBUTARY_POD_ROOT/healthy"; exec sleep 3600',
            ],
            livenessProbe: {
              exec: { command: ['sh', '-c', 'test -f "$TRIBUTARY_POD_ROOT/healthy"'] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      },
    });
    const restarted = await waitForPod(
      api,
      ns,
      'liveness',
      'restarted by its liveness probe',
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      60_000,
    );
    const last = restarted.status?.containerStatuses?.[0]?.lastState?.terminated;
    expect(last?.message).toContain('failed liveness probe');
    expect(last?.exitCode).toBe(143); // sleep exits on SIGTERM
  });

  it('runs init containers in order, then the app container with env from the downward API, ConfigMaps and Secrets', async () => {
    const out = hostDir();
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'env-config' },
      data: { color: 'blue', size: 'L' },
    });
    await api.post(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'env-secret' },
      stringData: { password: 's3cret' },
    });
    const mount = [{ name: 'out', mountPath: '/out' }];
    await api.post(podsPath(), {
      metadata: { name: 'env', labels: { app: 'env-test' } },
      spec: {
        restartPolicy: 'Never',
        initContainers: [
          {
            name: 'first',
            image: 'busybox',
            command: ['sh', '-c', 'echo first >> "$TRIBUTARY_POD_ROOT/out/order"'],
            volumeMounts: mount,
          },
          {
            name: 'second',
            image: 'busybox',
            command: ['sh', '-c', 'echo second >> "$TRIBUTARY_POD_ROOT/out/order"'],
            volumeMounts: mount,
          },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: [
              'sh',
              '-c',
              'echo main >> "$TRIBUTARY_POD_ROOT/out/order"; env > "$TRIBUTARY_POD_ROOT/out/env"; echo "$(GREETING)" > "$TRIBUTARY_POD_ROOT/out/arg"',
            ],
            envFrom: [{ configMapRef: { name: 'env-config' }, prefix: 'CFG_' }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'password' } } },
              { name: 'GREETING', value: 'hi $(POD_NAME) in $(CFG_color)' },
            ],
            volumeMounts: mount,
          },
        ],
        volumes: [{ name: 'out', hostPath: { path: out } }],
      },
    });
    const done = await waitForPod(
      api,
      ns,
      'env',
      'Succeeded',
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
    );
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual([
      'Completed',
      'Completed',
    ]);
    expect(readFileSync(join(out, 'order'), 'utf8')).toBe('first\nsecond\nmain\n');
    const env = Object.fromEntries(
      readFileSync(join(out, 'env'), 'utf8')
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      POD_NAME: 'env',
      POD_NAMESPACE: ns,
      POD_IP: done.status?.podIP,
      APP: 'env-test',
      NODE: 'tributary-node',
      PASSWORD: 's3cret',
      CFG_color: 'blue',
      CFG_size: 'L',
      GREETING: 'hi env in blue',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      HOSTNAME: 'env',
    });
    expect(env.TRIBUTARY_POD_ROOT).toMatch(new RegExp(`/${ns}_env_${done.metadata?.uid}/root$`));
    expect(readFileSync(join(out, 'arg'), 'utf8')).toBe('hi env in blue\n');
  });

  it('leaves a pod whose image is not in the image map waiting with ImageNotMapped', async () => {
    await api.post(podsPath(), {
      metadata: { name: 'unmapped' },
      spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] },
    });
    const pod: Pod = await waitForPod(
      api,
      ns,
      'unmapped',
      'ImageNotMapped',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImageNotMapped',
    );
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(
      'image "nginx:1.25" is not in the node agent\'s image map',
    );
    await api.delete(`${podsPath()}/unmapped`);
    await waitForPodGone(api, ns, 'unmapped', 15_000);
  });
});
