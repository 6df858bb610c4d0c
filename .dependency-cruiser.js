// The dependency rules `npm run lint` enforces (docs/layout.md explains the layers).
// Type-only imports count: a cycle or a layering breach through `import type` is still a
// structural one (ESLint's import plugins skip them, which is why this tool does the job).
const TEST = '(\\.test\\.ts$|/testing/)';
// What the layer and contract rules do not bind: tests and their harnesses may drive the layer
// above (a checkpoint test runs a JobExecutor), and testdata/ holds programs a test runs as a
// user's job module (they import the DataStream API, api.ts).
const TEST_OR_FIXTURE = '(\\.test\\.ts$|/testing/|/testdata/)';

// The runtime's layers, lowest first (docs/layout.md): a layer imports only itself and the layers
// before it, so any import of a later layer fails lint. [name, path under runtime/src/].
export const RUNTIME_LAYERS = [
  ['errors', 'errors\\.ts$'],
  ['fifo', 'fifo\\.ts$'],
  ['core', 'core/'],
  ['telemetry', 'telemetry/'],
  ['state', 'state/'],
  ['expr', 'expr/'],
  ['graph', 'graph/'],
  ['time', 'time/'],
  ['formats', 'formats/'],
  ['checkpoint', 'checkpoint/'],
  ['connectors', 'connectors/'],
  ['operators', 'operators/'],
  ['functions', 'functions/'],
  ['net', 'net/'],
  ['control', 'control/'],
  ['exec', 'exec/'],
  ['rescale', 'rescale/'],
  ['job', 'job/'],
  ['process', 'process/'],
  ['dashboard', 'dashboard/'],
  ['application', 'application/'],
  ['api', 'api\\.ts$'],
  ['cli', 'cli/'],
  ['slot', 'slot/'],
  ['slot-main', 'slot-main\\.ts$'],
  ['main', 'main\\.ts$'],
  ['warm-compile-cache', 'warm-compile-cache\\.ts$'],
  ['testing', 'testing/'],
];

const under = (paths) => `^runtime/src/(${paths.join('|')})`;

/** Per layer, one rule: its shipped files import no later layer. */
function layerRules() {
  return RUNTIME_LAYERS.slice(0, -1).map(([name, path], i) => {
    const later = RUNTIME_LAYERS.slice(i + 1);
    return {
      name: `layer-${name}`,
      severity: 'error',
      comment: `Layer ${name} imports no later layer (${later[0][0]} … ${later.at(-1)[0]}: docs/layout.md, "Layers").`,
      from: { path: under([path]), pathNot: TEST_OR_FIXTURE },
      to: { path: under(later.map(([, p]) => p)) },
    };
  });
}

// The runtime files the operator's shipped code may import (docs/layout.md lists them): the
// contract both sides agree on, as Arroyo's arroyo-rpc is its controller's only one, and the
// runtime code the operator runs in its own process.
const OPERATOR_IMPORTS_OF_THE_RUNTIME = [
  // The contract: the slot pod and its control API (with what it re-exports), spec.graph, durations.
  'control/contract\\.ts',
  'graph/spec\\.ts',
  'graph/duration\\.ts',
  // Run in the operator: validation at admission, a registry's field types, the dashboard.
  'connectors/validate-graph\\.ts',
  'connectors/kafka/registry-typing\\.ts',
  'dashboard/(model|dashboard-server|series-store|checkpoint-table)\\.ts',
];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycles: split the shared part into its own file.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kube-is-generic',
      severity: 'error',
      comment:
        'operator/src/kube is generic controller machinery: it imports no controller, API type or client of ours.',
      from: { path: '^operator/src/kube/' },
      to: { path: '^operator/src/', pathNot: '^operator/src/(kube|telemetry)/' },
    },
    {
      name: 'core-is-a-leaf',
      severity: 'error',
      comment:
        'runtime/src/core holds the concepts every layer shares (record, batch, barrier, watermark): it imports nothing of the runtime but its error type.',
      from: { path: '^runtime/src/core/' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(core/|errors\\.ts$)' },
    },
    {
      name: 'state-is-a-leaf',
      severity: 'error',
      comment: 'runtime/src/state (keyed state, snapshot format) depends on nothing of the runtime but its error type.',
      from: { path: '^runtime/src/state/', pathNot: '\\.test\\.ts$' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(state/|errors\\.ts$)' },
    },
    {
      name: 'state-tests-are-near-a-leaf',
      severity: 'error',
      comment:
        "runtime/src/state's tests import the state layer, the error type and the test backends (testing/state-backends.ts, itself on state/ only) to run against the heap and the disk store.",
      from: { path: '^runtime/src/state/.*\\.test\\.ts$' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(state/|errors\\.ts$|testing/state-backends\\.ts$)' },
    },
    {
      name: 'graph-is-the-contract',
      severity: 'error',
      comment: 'runtime/src/graph is the graph model the operator imports: no engine, operator or connector code.',
      from: { path: '^runtime/src/graph/' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(graph/|expr/|core/|errors\\.ts$)' },
    },
    ...layerRules(),
    {
      name: 'layer-unlisted',
      severity: 'error',
      comment:
        'Every runtime file is in a layer: a new folder takes its place in RUNTIME_LAYERS (docs/layout.md, "Layers").',
      from: { path: '^runtime/src/', pathNot: [TEST_OR_FIXTURE, under(RUNTIME_LAYERS.map(([, p]) => p))] },
      to: { path: '^runtime/src/' },
    },
    {
      name: 'operator-imports-the-runtime-contract',
      severity: 'error',
      comment:
        "The operator's shipped code imports the runtime only through the files named in OPERATOR_IMPORTS_OF_THE_RUNTIME; its tests may import more (they drive real systems with the runtime's clients and harnesses).",
      from: { path: '^operator/src/', pathNot: TEST_OR_FIXTURE },
      to: { path: '^runtime/', pathNot: `${under(OPERATOR_IMPORTS_OF_THE_RUNTIME)}$` },
    },
    {
      name: 'runtime-never-imports-operator',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^operator/' },
    },
    {
      name: 'shipped-code-never-imports-tests',
      severity: 'error',
      comment: 'What ships in the image must not reach into test/ or bench/.',
      from: { path: '^(operator|runtime)/src/', pathNot: TEST },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'shipped-code-never-imports-testing',
      severity: 'error',
      comment:
        "testing/ folders hold the harnesses of tests and benches: what ships (the npm package's api.ts too) never needs them.",
      from: { path: '^(operator|runtime)/src/', pathNot: TEST },
      to: { path: '^(runtime/src/testing/|operator/src/testing/|operator/src/.*/testing/)' },
    },
    {
      name: 'shipped-code-uses-production-dependencies',
      severity: 'error',
      comment: 'The image installs production dependencies only (npm ci --omit=dev).',
      from: { path: '^(operator|runtime)/src/', pathNot: TEST },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.cache|dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['import', 'node', 'default'],
      exportsFields: ['exports'],
    },
  },
};
