// Slot pods in Kubernetes (real kube-apiserver, the node agent as kubelet): two pods of image
// the runtime image with the contract env find each other through the API (pods by label,
// status.podIP), link their data planes, run a datagen → keyBy → window → Kafka job, and answer
// GET /v1/status through the pod IP. A third pod with the same labels but an older deployment
// id is refused at the handshake and does not disturb them.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  createNamespace,
  isReady,
  waitFor,
  waitForPod,
} from '../../../test/cluster/node-agent/int-helpers.ts';
import type { KubeApi } from '../../../test/cluster/node-agent/kube-api.ts';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import {
  CONTRACT_VERSION,
  CONTROL_PORT,
  METRICS_PORT,
  type JobConfig,
  type StatusResponse,
} from '../control/contract.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { imageName, packageVersion } from '../../../image/build.ts';

/** The runtime image `npm run image` builds: the one the cluster's container mode runs. */
const DEFAULT_RUNTIME_IMAGE = imageName('runtime', packageVersion());

const { Kafka, logLevel } = kafkajs;
const JOB_SECRET = randomUUID();

describe('slot pods in Kubernetes', () => {
  let api: KubeApi;
  let ns: string;
  const run = randomUUID().slice(0, 8);
  const topic = `it-k8s-out-${run}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'trib-k8s-state-'));
  // A hostPath keeps the host's mode (the kubelet changes nothing): the slots run as 65532.
  chmodSync(stateDir, 0o777);
  const brokers = (process.env['TRIBUTARY_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');

  beforeAll(async () => {
    api = await adminApi();
    ns = await createNamespace(api, 'trib-rt');
  });

  afterAll(async () => {
    await api?.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    await api?.close();
    rmSync(stateDir, { recursive: true, force: true });
    const kafka = new Kafka({ clientId: 'it', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  const pod = (name: string, slot: number, deploymentId: string): object => ({
    metadata: { name, labels: { app: 'trib-it', job: 'clicks' } },
    spec: {
      serviceAccountName: 'tributary-slot',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'slot',
          image: DEFAULT_RUNTIME_IMAGE,
          env: [
            { name: 'TRIBUTARY_JOB_NAME', value: 'clicks' },
            { name: 'TRIBUTARY_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'TRIBUTARY_SLOT', value: String(slot) },
            { name: 'TRIBUTARY_PARALLELISM', value: '2' },
            { name: 'TRIBUTARY_MAX_PARALLELISM', value: '128' },
            { name: 'TRIBUTARY_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'TRIBUTARY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'TRIBUTARY_JOB_CONFIG', value: '/etc/tributary/job.json' },
            { name: 'TRIBUTARY_DEPLOYMENT_ID', value: deploymentId },
            // Deliberately wide (no deployment label): the stale pod is discovered and must be refused.
            { name: 'TRIBUTARY_PEER_SELECTOR', value: 'app=trib-it,job=clicks' },
            { name: 'TRIBUTARY_LOG_LEVEL', value: 'info' },
            { name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/var/run/tributary/token' },
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/tributary' },
            { name: 'token', mountPath: '/var/run/tributary', readOnly: true },
            { name: 'state', mountPath: '/state' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: CONTROL_PORT }, periodSeconds: 1 },
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'clicks-job' } },
        { name: 'token', secret: { secretName: 'clicks-token' } },
        { name: 'state', hostPath: { path: stateDir, type: 'DirectoryOrCreate' } },
      ],
    },
  });

  it('two slot pods find each other through the API, run the job, and serve /v1/status on the pod IP', async () => {
    await api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'tributary-slot' } });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      metadata: { name: 'tributary-peers' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      metadata: { name: 'tributary-peers' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tributary-peers' },
      subjects: [{ kind: 'ServiceAccount', name: 'tributary-slot', namespace: ns }],
    });
    const graph: GraphSpec = {
      sources: [
        {
          name: 'gen',
          datagen: {
            generator: 'schema',
            seed: 3,
            rate: 500,
            fields: { user: { type: 'string', prefix: 'u', cardinality: 30 }, ts: { type: 'timestamp' } },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '100ms' },
        },
      ],
      steps: [
        { name: 'by-user', from: 'gen', keyBy: 'user' },
        { name: 'w', from: 'by-user', window: { tumbling: { size: '1s' } } },
        { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'counts', kafka: { brokers, topic, key: 'user' } }],
    };
    const cfg: JobConfig = {
      contractVersion: CONTRACT_VERSION,
      jobName: 'clicks',
      graph,
      parallelism: 2,
      maxParallelism: 128,
      // Exactly-once Kafka sink: output becomes visible when a checkpoint completes.
      checkpointing: { intervalMs: 1000, timeoutMs: 60_000, retained: 2 },
      stateDir: '/state', // a volume shared by all slots (hostPath here, a RWX PVC in a real cluster)
      allowNonRestoredState: false,
    };
    await api.post(`/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'clicks-token' },
      stringData: { token: JOB_SECRET },
    });
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'clicks-job' },
      data: { 'job.json': JSON.stringify(cfg) },
    });
    // A leftover of an older deployment, up first.
    await api.post(`/api/v1/namespaces/${ns}/pods`, pod('clicks-old-1', 1, 'd0'));
    await waitForPod(api, ns, 'clicks-old-1', 'running', (p) => p.status?.phase === 'Running');
    await api.post(`/api/v1/namespaces/${ns}/pods`, pod('clicks-0', 0, 'd1'));
    await api.post(`/api/v1/namespaces/${ns}/pods`, pod('clicks-1', 1, 'd1'));
    const p0 = await waitForPod(api, ns, 'clicks-0', 'Ready (peers linked, job running)', isReady, 120_000);
    await waitForPod(api, ns, 'clicks-1', 'Ready (peers linked, job running)', isReady, 120_000);
    const ip = p0.status?.podIP as string;
    expect(ip).toMatch(/^127\./);
    // The control API answers nothing but the probes without the job's token.
    expect((await fetch(`http://${ip}:${CONTROL_PORT}/v1/status`)).status).toBe(401);
    const auth = { headers: { authorization: `Bearer ${JOB_SECRET}` } };
    const status = (await (await fetch(`http://${ip}:${CONTROL_PORT}/v1/status`, auth)).json()) as StatusResponse;
    expect(status).toMatchObject({
      contractVersion: CONTRACT_VERSION,
      jobName: 'clicks',
      deploymentId: 'd1',
      slot: 0,
      parallelism: 2,
      state: 'RUNNING',
    });
    // The stale pod was refused (by deployment) by the live slots.
    await waitFor('a refused handshake from the stale deployment', async () => {
      // The metrics port (what Prometheus scrapes) needs no token.
      const metrics = await (await fetch(`http://${ip}:${METRICS_PORT}/metrics`)).text();
      return /tributary_net_refused_handshakes_total\{reason="deployment"\} [1-9]/.test(metrics) ? metrics : false;
    });
    // Records crossed the data plane both ways: windows of keys owned by both slots reach Kafka.
    const kafka = new Kafka({ clientId: 'it', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: `it-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const users = new Set<string>();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          users.add((JSON.parse(message.value?.toString() ?? '{}') as { user: string }).user);
          if (users.size >= 30) {
            clearTimeout(t);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(users.size).toBe(30);
    // Checkpoints completed across the two pods (acks crossed the data plane to slot 0's coordinator):
    // a committed one (its metadata written last), not merely a started folder.
    const completed = await latestCheckpointPath(stateDir);
    expect(completed).toBeDefined();
    expect(existsSync(join(completed!, '_metadata.json'))).toBe(true);
    // The exactly-once sink's transaction metrics as Prometheus scrapes them from a slot pod: every slot
    // writes (keys are spread over both), so each pod shows committed transactions, records and latency.
    for (const p of ['clicks-0', 'clicks-1']) {
      const podIp = (await api.get<{ status?: { podIP?: string } }>(`/api/v1/namespaces/${ns}/pods/${p}`)).status
        ?.podIP;
      const text = await waitFor(`committed transactions in ${p}'s /metrics`, async () => {
        const m = await (await fetch(`http://${podIp}:${METRICS_PORT}/metrics`)).text();
        return /^tributary_kafka_sink_transactions_committed_total\{[^}]*\} [1-9]/m.test(m) ? m : false;
      });
      expect(text).toMatch(/^tributary_kafka_sink_committed_records_total\{[^}]*\} [1-9]/m);
      expect(text).toMatch(/^tributary_kafka_sink_visibility_latency_seconds_count\{[^}]*\} [1-9]/m);
      expect(text).toMatch(/^tributary_kafka_sink_oldest_open_transaction_seconds\{[^}]*\} /m);
    }
    // Deleting the pods stops the slots (SIGTERM): they exit cleanly.
    await api.delete(`/api/v1/namespaces/${ns}/pods/clicks-0`);
    await api.delete(`/api/v1/namespaces/${ns}/pods/clicks-1`);
  });
});
