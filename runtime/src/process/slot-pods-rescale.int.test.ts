// Live rescale of slot pods (real kube-apiserver, the node agent as kubelet, real Kafka), the test playing
// the operator's part: two slot pods of one deployment run Kafka → keyBy → rolling count → exactly-once Kafka
// while input flows; POST /v1/migrations {to: 3} to slot 0's control API on its pod IP answers at once, the
// migration's status names the joining pod it waits for (`awaiting`), the test creates that pod (slot 2,
// TRIBUTARY_JOIN, TRIBUTARY_PARALLELISM=3, the deployment's ConfigMap saying parallelism 2 and a restore it
// must ignore), and the migration completes; then {to: 2}: slot 2's pod ends Succeeded with the finished
// termination message saying it left; then both once more (a new pod for slot 2). No pod restarted or
// replaced; Kafka's Java read_committed reader finds exactly the reference. Then a joining pod that is never
// created: the migration fails by the bound (TRIBUTARY_PEER_TIMEOUT) naming slot 2, and the job fails (slot 0
// exits non-zero) rather than hanging.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  createNamespace,
  getPod,
  isReady,
  waitForPod,
} from '../../../test/cluster/node-agent/int-helpers.ts';
import type { KubeApi } from '../../../test/cluster/node-agent/kube-api.ts';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { imageName, packageVersion } from '../../../image/build.ts';
import {
  CONTRACT_VERSION,
  CONTROL_PORT,
  SLOT_LABEL,
  type JobConfig,
  type StatusResponse,
} from '../control/contract.ts';
import { parseFinishedMessage } from '../control/finished.ts';
import type { MigrationStatus } from '../core/migration.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import { readTopic } from '../testing/kafka-reader.ts';

const IMAGE = imageName('runtime', packageVersion());
const TOKEN = randomUUID();
const DEP = 'd1';
const JOB = 'live';
const SELECTOR = `app=trib-live,tributary.dev/deployment=${DEP}`;
/** Seconds the running slots wait for a joining pod (and a starting pod for its peers). */
const PEER_TIMEOUT_S = 20;
const KEYS = 40;
const CHUNKS = 30;
const PER_CHUNK = 200;
const RECORDS = CHUNKS * PER_CHUNK;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PodState {
  metadata?: { uid?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      restartCount: number;
      state?: { terminated?: { exitCode?: number; message?: string } };
    }[];
  };
}

describe('live rescale of slot pods: the runtime with the test as operator (real pods, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-slot-pods-rescale-it');
  const input = `pods-rescale-in-${run}`;
  const output = `pods-rescale-out-${run}`;
  let api: KubeApi;
  let ns: string;
  const stateDir = mkdtempSync(join(tmpdir(), 'trib-pods-rescale-'));
  chmodSync(stateDir, 0o777); // a hostPath keeps the host's mode; the slots run as 65532

  beforeAll(async () => {
    api = await adminApi();
    ns = await createNamespace(api, 'trib-live');
  });
  afterAll(async () => {
    await api?.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    await api?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const name = (slot: number, attempt = ''): string => `${JOB}-${DEP}-${slot}${attempt}`;
  /** A slot pod as the operator's slotPod() makes it (contract env, SLOT_LABEL, the deployment's ConfigMap). */
  const pod = (slot: number, parallelism: number, join?: number, attempt = ''): object => ({
    metadata: {
      name: name(slot, attempt),
      labels: { app: 'trib-live', 'tributary.dev/deployment': DEP, [SLOT_LABEL]: String(slot) },
    },
    spec: {
      serviceAccountName: 'tributary-slot',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'runtime',
          image: IMAGE,
          env: [
            { name: 'TRIBUTARY_JOB_NAME', value: JOB },
            { name: 'TRIBUTARY_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'TRIBUTARY_SLOT', value: String(slot) },
            { name: 'TRIBUTARY_PARALLELISM', value: String(parallelism) },
            { name: 'TRIBUTARY_MAX_PARALLELISM', value: '128' },
            { name: 'TRIBUTARY_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'TRIBUTARY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'TRIBUTARY_JOB_CONFIG', value: '/etc/tributary/job.json' },
            { name: 'TRIBUTARY_DEPLOYMENT_ID', value: DEP },
            { name: 'TRIBUTARY_PEER_SELECTOR', value: SELECTOR },
            { name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/var/run/tributary/token' },
            { name: 'TRIBUTARY_PEER_TIMEOUT', value: String(PEER_TIMEOUT_S) },
            { name: 'TRIBUTARY_LOG_LEVEL', value: 'info' },
            ...(join !== undefined ? [{ name: 'TRIBUTARY_JOIN', value: String(join) }] : []),
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/tributary', readOnly: true },
            { name: 'token', mountPath: '/var/run/tributary', readOnly: true },
            { name: 'state', mountPath: '/state' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: CONTROL_PORT }, periodSeconds: 1 },
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${JOB}-${DEP}` } },
        { name: 'token', secret: { secretName: `${JOB}-token` } },
        { name: 'state', hostPath: { path: stateDir, type: 'DirectoryOrCreate' } },
      ],
    },
  });

  async function deploy(): Promise<void> {
    const v1 = `/api/v1/namespaces/${ns}`;
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
    await api.post(`${v1}/serviceaccounts`, { metadata: { name: 'tributary-slot' } });
    await api.post(`${rbac}/roles`, {
      metadata: { name: 'tributary-peers' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    await api.post(`${rbac}/rolebindings`, {
      metadata: { name: 'tributary-peers' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tributary-peers' },
      subjects: [{ kind: 'ServiceAccount', name: 'tributary-slot', namespace: ns }],
    });
    await api.post(`${v1}/secrets`, { metadata: { name: `${JOB}-token` }, stringData: { token: TOKEN } });
    const graph: GraphSpec = {
      sources: [{ name: 'events', kafka: { brokers: bs, topic: input, groupId: `pods-${run}` } }],
      steps: [
        { name: 'byKey', from: 'events', keyBy: 'k' },
        { name: 'running', from: 'byKey', aggregate: { n: 'count()', maxId: 'max(id)' } },
      ],
      sinks: [{ name: 'out', from: 'running', kafka: { brokers: bs, topic: output, key: 'k' } }],
    };
    const cfg: JobConfig = {
      contractVersion: CONTRACT_VERSION,
      jobName: JOB,
      graph,
      parallelism: 2,
      maxParallelism: 128,
      checkpointing: { intervalMs: 200, timeoutMs: 30_000, retained: 5 },
      stateDir: '/state',
      allowNonRestoredState: false,
      // The deployment's start restored this (absent: an empty start); a joining pod must ignore it.
      restoreLatest: { since: '2020-01-01T00:00:00Z' },
    };
    await api.post(`${v1}/configmaps`, {
      metadata: { name: `${JOB}-${DEP}` },
      data: { 'job.json': JSON.stringify(cfg) },
    });
    await api.post(`${v1}/pods`, pod(0, 2));
    await api.post(`${v1}/pods`, pod(1, 2));
  }

  const state = async (n: string): Promise<PodState> => (await getPod(api, ns, n)) as PodState;
  let ip = '';
  const auth = { authorization: `Bearer ${TOKEN}` };
  const status = async (): Promise<StatusResponse> =>
    (await (await fetch(`http://${ip}:${CONTROL_PORT}/v1/status`, { headers: auth })).json()) as StatusResponse;
  const migration = async (id: string): Promise<MigrationStatus> =>
    (await (
      await fetch(`http://${ip}:${CONTROL_PORT}/v1/migrations/${id}`, { headers: auth })
    ).json()) as MigrationStatus;
  const post = async (to: number): Promise<string> => {
    const res = await fetch(`http://${ip}:${CONTROL_PORT}/v1/migrations`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ to }),
      signal: AbortSignal.timeout(5000), // the answer must not wait for the joining pod
    });
    const body = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    return body.id;
  };

  async function writeInput(k: Kafka, gates: Map<number, Promise<void>>): Promise<void> {
    const producer = inputProducer(k);
    await producer.connect();
    for (let c = 0; c < CHUNKS; c++) {
      await gates.get(c);
      const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
        const id = c * PER_CHUNK + j;
        return { key: `k${id % KEYS}`, value: JSON.stringify({ id, k: `k${id % KEYS}` }) };
      });
      await producer.send({ topic: input, messages });
      await sleep(50);
    }
    await producer.disconnect();
  }

  function reference(): string[] {
    const seen = new Map<string, number>();
    return Array.from({ length: RECORDS }, (_, id) => {
      const k = `k${id % KEYS}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return `${k}:${n}:${id}`;
    });
  }

  /** The operator's part of a scale out to 3: create the pod `awaiting` names; resolves once COMPLETED. */
  async function scaleOut(generation: number, attempt: string): Promise<void> {
    const id = await post(3);
    // The operator's cue: which pod to create (slot, generation, parallelism), while slot 0 waits for it.
    await expect
      .poll(async () => (await migration(id)).awaiting, { timeout: 10_000 })
      .toEqual({ slot: 2, generation, parallelism: 3 });
    expect((await status()).migration).toMatchObject({ id, state: 'IN_PROGRESS', phase: 'joining' });
    await api.post(`/api/v1/namespaces/${ns}/pods`, pod(2, 3, generation, attempt));
    await expect.poll(async () => (await migration(id)).state, { timeout: 60_000, interval: 250 }).toBe('COMPLETED');
    const done = await migration(id);
    expect(done).toMatchObject({ from: 2, to: 3, phase: 'done' });
    expect(done.awaiting).toBeUndefined();
    expect((await status()).parallelism).toBe(3);
  }

  /** A scale in to 2: nothing to create; slot 2's pod `attempt` ends Succeeded saying it left. */
  async function scaleIn(attempt: string): Promise<void> {
    const id = await post(2);
    await expect.poll(async () => (await migration(id)).state, { timeout: 60_000, interval: 250 }).toBe('COMPLETED');
    expect(await migration(id)).toMatchObject({ from: 3, to: 2, phase: 'done' });
    const left = await waitForPod(api, ns, name(2, attempt), 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    const t = (left as PodState).status?.containerStatuses?.[0]?.state?.terminated;
    expect(t?.exitCode).toBe(0);
    expect(parseFinishedMessage(t?.message)).toMatchObject({ slot: 2, deploymentId: DEP, left: true });
  }

  it('2 → 3 with the joining pod the status asks for, 3 → 2 (slot 2 leaves), and again: exactly once', async () => {
    await createTopics(kafka, { [input]: 4, [output]: 1 });
    await deploy();
    const p0 = await waitForPod(api, ns, name(0), 'Ready', isReady, 60_000);
    await waitForPod(api, ns, name(1), 'Ready', isReady, 60_000);
    ip = p0.status?.podIP as string;
    const uids = [(await state(name(0))).metadata?.uid, (await state(name(1))).metadata?.uid];
    // Chunk CHUNKS − 4k waits for the k-th rescale: input arrives after each, however fast or slow the machine.
    const release: (() => void)[] = [];
    const gates = new Map(
      [16, 12, 8, 4].map((back) => [CHUNKS - back, new Promise<void>((r) => release.push(r))] as const),
    );
    const writing = writeInput(kafka, gates);
    await expect.poll(async () => (await status()).recordsIn ?? 0, { timeout: 30_000 }).toBeGreaterThan(500);

    await scaleOut(1, '');
    release[0]?.();
    await scaleIn('');
    release[1]?.();
    // A slot that left joins again (kubectl scale 2 → 3 → 2 → 3): a new pod for slot 2, the old one Succeeded.
    await scaleOut(3, 'b');
    release[2]?.();
    await scaleIn('b');
    release[3]?.();

    await writing;
    const committed = await readTopic(kafka, output, { expected: RECORDS, timeoutMs: 60_000, settleMs: 0 });
    expect(committed.length).toBeGreaterThanOrEqual(RECORDS);
    // Live, not by a restart: the running pods are the same pods, never restarted.
    for (const [i, n] of [name(0), name(1)].entries()) {
      const s = await state(n);
      expect(s.metadata?.uid).toBe(uids[i]);
      expect(s.status?.phase).toBe('Running');
      expect(s.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    }
    const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
      const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
      return `${v.k}:${v.n}:${v.maxId}`;
    });
    const diff = deliveryDiff(reference(), got);
    expect({
      missing: diff.missing.length,
      duplicated: diff.duplicated.length,
      unexpected: diff.unexpected.length,
    }).toEqual({ missing: 0, duplicated: 0, unexpected: 0 });
  }, 150_000);

  it('a joining pod never created: the migration fails by the bound naming slot 2, and the job fails', async () => {
    expect(ip, 'the first test deployed the job').not.toBe('');
    const started = Date.now();
    const id = await post(3);
    await expect
      .poll(async () => (await migration(id)).awaiting, { timeout: 10_000 })
      // Every part of a rescale is a generation, the scale ins' too.
      .toEqual({ slot: 2, generation: 5, parallelism: 3 });
    // Slot 0 fails the job once the bound passed: its pod ends Failed, saying why (the operator restarts the job).
    const failed = await waitForPod(
      api,
      ns,
      name(0),
      'Failed',
      (p) => p.status?.phase === 'Failed',
      (PEER_TIMEOUT_S + 25) * 1000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(PEER_TIMEOUT_S * 1000);
    const t = (failed as PodState).status?.containerStatuses?.[0]?.state?.terminated;
    expect(t?.exitCode).not.toBe(0);
    expect(t?.message).toMatch(/TRIB_PEER_TIMEOUT/);
    expect(t?.message).toMatch(/joining slot 2/);
  }, 90_000);
});
