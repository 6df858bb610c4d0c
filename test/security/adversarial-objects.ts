// Random and adversarial StreamJob and DruidDatasource objects for the abuse test
// (fuzz.int.test.ts): a valid base with one or two hostile mutations each (wrong types, huge
// strings, deep nesting, unicode, hostile CEL, out-of-range numbers). StreamJobs stay
// `state: suspended` unless a mutation breaks that field's type, so a valid one deploys no pod;
// DruidDatasources point at a port nothing listens on. Seeded: a failure replays.
import type { KubeObject } from '../../operator/src/kube/index.ts';

export type Rnd = () => number;

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): Rnd {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const unicode = ['ünïcödé', '名前', '🙂🚀', '\u202Eevil', 'a\u0000b', '\uFEFFbom', 'Ω≈ç√∫', '\uD800'];
const hostileCel = [
  '[1,2,3].all(a, [1,2,3].all(b, [1,2,3].all(c, [1,2,3].all(d, true))))',
  'x'.repeat(20_000),
  '('.repeat(500) + '1' + ')'.repeat(500),
  'size("' + 'a'.repeat(5_000) + '") > 0',
  'n == ',
  '1 / 0 == 1',
  '"\u0000" == n',
  'dyn(n).missing.field > 2',
];
const numbers = [-1, 0, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, Number.MAX_SAFE_INTEGER];
const huge = (n: number) => 'z'.repeat(n);

type Obj = Record<string, unknown>;
type Mutation = (spec: Obj, rnd: Rnd) => void;

/** The spec's graph as an object (an earlier mutation may have replaced it with a non-object). */
function graphOf(s: Obj): Obj {
  if (typeof s.graph !== 'object' || s.graph === null || Array.isArray(s.graph)) s.graph = {};
  return s.graph as Obj;
}

const jobMutations: Mutation[] = [
  (s, r) => (s.replicas = pick(r, ['two', true, null, [], {}, ...numbers])),
  (s, r) => (s.maxParallelism = pick(r, numbers)),
  (s, r) => (s.image = pick(r, [huge(100_000), ...unicode, 42])),
  (s, r) => (graphOf(s).steps = [{ name: 'f', from: 'gen', filter: pick(r, hostileCel) }]),
  (s, r) => (graphOf(s).steps = [{ name: 'm', from: 'gen', map: { x: pick(r, hostileCel) } }]),
  (s, r) => (graphOf(s).steps = [{ name: 'k', from: 'gen', keyBy: pick(r, hostileCel) }]),
  (s) => (graphOf(s).steps = [{ name: 'deep', from: 'gen', map: nested(90) }]),
  (s) => (graphOf(s).sources = nested(60)),
  (s, r) => (graphOf(s).sources = [{ name: pick(r, unicode), datagen: { generator: 'schema' } }]),
  (s) => (graphOf(s).sinks = [{ name: huge(50_000), from: 'gen', console: {} }]),
  (s, r) => (s.checkpointing = { interval: pick(r, ['999999999h', '-1s', '0s', 'soon', huge(5_000)]) }),
  (s, r) => (s.restartPolicy = { maxRestarts: pick(r, numbers), backoff: { initial: pick(r, ['1ns', '1y', '']) } }),
  (s, r) => (s.podTemplate = { env: [{ name: pick(r, ['TRIBUTARY_PEERS', 'NODE_OPTIONS', ...unicode]), value: 'x' }] }),
  (s, r) => (s.podTemplate = { metadata: { annotations: { [pick(r, unicode)]: huge(10_000) } } }),
  (s) => (s.podTemplate = { serviceAccountName: 'cluster-admin' }),
  (s, r) => (s.restore = { savepointPath: pick(r, ['../../etc/passwd', '/state/../x', huge(3_000)]) }),
  (s, r) => (s.upgradeMode = pick(r, ['yolo', 3, null])),
  (s) => (s.graph = 'not a graph'),
  (s) => (s.extra = { unknown: true }),
  (s, r) => (graphOf(s).sources = [{ name: 'gen', kafka: { brokers: pick(r, numbers), topic: nested(5) } }]),
];

const dsMutations: Mutation[] = [
  (s, r) => ((s.druid as Obj).url = pick(r, ['file:///etc/passwd', 'gopher://x', huge(3_000), ...unicode])),
  (s, r) => (s.dataSource = pick(r, ['', '.hidden', 'a/b', huge(300), ...unicode])),
  (s, r) => (s.dimensions = pick(r, [['__time'], [huge(10_000)], unicode, 'country', [nested(20)]])),
  (s, r) => (s.metrics = [{ type: pick(r, ['longSum', 'bogus', 7]), name: pick(r, unicode), fieldName: 'x' }]),
  (s, r) => ((s.ingestion as Obj).taskCount = pick(r, numbers)),
  (s, r) => ((s.ingestion as Obj).taskDuration = pick(r, ['PT0S', 'P99999999D', 'forever', ''])),
  (s) => (s.specOverrides = { type: 'kinesis', spec: nested(80) }),
  (s) => (s.specOverrides = { context: { 'tributary.dev/owner': 'other/ns' }, blob: huge(200_000) }),
  (s) => ((s.druid as Obj).basicAuthSecretRef = { name: 'no-such-secret' }),
  (s, r) => ((s.kafka as Obj).consumerProperties = { [pick(r, unicode)]: pick(r, numbers) }),
  (s) => ((s.timestamp as Obj).format = 'sundial'),
  (s, r) => (s.granularity = { segment: pick(r, ['FORTNIGHT', 3]), query: 'MINUTE', rollup: 'yes' }),
];

function mutate(spec: Obj, rnd: Rnd, mutations: Mutation[]): void {
  const n = rnd() < 0.7 ? 1 : 2;
  for (let i = 0; i < n; i++) pick(rnd, mutations)(spec, rnd);
}

export function adversarialStreamJob(rnd: Rnd, name: string, namespace: string): KubeObject {
  const spec: Obj = {
    replicas: 1,
    state: 'suspended',
    graph: {
      sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 1, fields: { n: { type: 'sequence' } } } }],
      sinks: [{ name: 'out', from: 'gen', console: {} }],
    },
    stateStorage: { pvc: { claimName: name }, path: '/state' },
    savepoints: { onDelete: false },
  };
  mutate(spec, rnd, jobMutations);
  return { apiVersion: 'tributary.dev/v1alpha1', kind: 'StreamJob', metadata: { name, namespace }, spec } as KubeObject;
}

export function adversarialDatasource(rnd: Rnd, name: string, namespace: string): KubeObject {
  const spec: Obj = {
    druid: { url: 'http://127.0.0.1:1' },
    kafka: { bootstrapServers: '127.0.0.1:1', topic: name },
    dimensions: ['country'],
    timestamp: { column: 'ts', format: 'millis' },
    granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
    ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
    suspend: false,
    deletionPolicy: 'Retain',
  };
  mutate(spec, rnd, dsMutations);
  return {
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'DruidDatasource',
    metadata: { name, namespace },
    spec,
  } as KubeObject;
}
