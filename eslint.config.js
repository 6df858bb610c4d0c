// Type-aware lint on top of `tsc --noEmit`: rules that catch real bugs in async code, the
// layering of the folders (docs/layout.md), no import cycles, and errors that carry a code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// Lower layers never import their callers. Each zone forbids `target` from importing
// anything under `from` except the listed folders: what a lower layer may depend on.
const layering = [
  // The operator's Kubernetes machinery is generic: no controller, API type or Druid client.
  { target: './operator/src/kube', from: './operator/src', except: ['./kube', './telemetry'] },
  // Keyed state and its snapshot format: only the runtime's error type.
  { target: './runtime/src/state', from: './runtime/src', except: ['./state', './errors.ts'] },
  // The graph model is the operator↔runtime contract: no engine, connector or operator code.
  { target: './runtime/src/graph', from: './runtime/src', except: ['./graph', './errors.ts', './expr'] },
  // The runtime never depends on the operator; the operator imports the runtime's contracts.
  { target: './runtime', from: './operator' },
  // Shipped code never imports the test infrastructure or benchmarks.
  { target: './operator/src', from: './test', except: ['./cluster', './harness'] },
  { target: ['./operator/src', './runtime/src'], from: './bench' },
].map((z) => ({
  ...z,
  message: 'layering: a lower layer never imports its callers (docs/layout.md)',
}));

export default tseslint.config(
  { ignores: ['node_modules/**', '.cache/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/extensions': ['.ts', '.js'], 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layering }],
    },
  },
  {
    // Every error a user or operator can see carries a stable code (TributaryError,
    // OperatorError, ClusterError, NodeAgentError, ...); tests may throw plain errors.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ThrowStatement > NewExpression[callee.name=/^(Error|TypeError|RangeError)$/]",
          message: 'throw an error with a stable code (TributaryError / OperatorError / ...), not a bare Error',
        },
      ],
    },
  },
);
