// The dependency rules `npm run lint` enforces (docs/layout.md explains the layers).
// Type-only imports count: a cycle or a layering breach through `import type` is still a
// structural one (ESLint's import plugins skip them, which is why this tool does the job).
const TEST = '(\\.test\\.ts$|/testing/)';

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
      from: { path: '^runtime/src/state/' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(state/|errors\\.ts$)' },
    },
    {
      name: 'graph-is-the-contract',
      severity: 'error',
      comment: 'runtime/src/graph is the graph model the operator imports: no engine, operator or connector code.',
      from: { path: '^runtime/src/graph/' },
      to: { path: '^runtime/src/', pathNot: '^runtime/src/(graph/|expr/|core/|errors\\.ts$)' },
    },
    // One-way folder pairs of the runtime (docs/layout.md). Tests may drive the layer above
    // (a checkpoint test runs a JobExecutor), so these bind shipped code only.
    {
      name: 'expr-never-imports-graph',
      severity: 'error',
      comment: 'graph/ checks expressions with expr/ (CEL); what both need (record field types) lives in core/.',
      from: { path: '^runtime/src/expr/', pathNot: TEST },
      to: { path: '^runtime/src/graph/' },
    },
    {
      name: 'checkpoint-never-imports-exec',
      severity: 'error',
      comment:
        'exec/ runs the checkpoint machinery (coordinator, slot checkpointer, aligner); the barrier lives in core/.',
      from: { path: '^runtime/src/checkpoint/', pathNot: TEST },
      to: { path: '^runtime/src/exec/' },
    },
    {
      name: 'checkpoint-never-imports-control',
      severity: 'error',
      comment: 'control/ serves checkpoints and savepoints over the control API; SavepointStatus lives in core/.',
      from: { path: '^runtime/src/checkpoint/', pathNot: TEST },
      to: { path: '^runtime/src/control/' },
    },
    {
      name: 'connectors-never-import-operators',
      severity: 'error',
      comment:
        "Sources, sinks and lookup tables build on core/ (Rec, Batch); the lookup operators read connectors' tables, not the reverse.",
      from: { path: '^runtime/src/connectors/', pathNot: TEST },
      to: { path: '^runtime/src/operators/' },
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
