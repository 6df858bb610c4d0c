import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { ErrorCodes, OperatorError } from './kube/errors.ts';

describe('loadConfig', () => {
  it('reads flags over environment over defaults', () => {
    const cfg = loadConfig(['--workers', '2'], { TRIBUTARY_OPERATOR_WORKERS: '8', TRIBUTARY_OPERATOR_NAMESPACES: 'a, b' });
    expect(cfg).toMatchObject({ workers: 2, namespaces: ['a', 'b'], metricsPort: 8080 });
  });

  it('elects a leader by default only inside a pod (run from a checkout there is one operator)', () => {
    expect(loadConfig([], {})).toMatchObject({ leaderElect: false, inCluster: false });
    expect(loadConfig([], { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toMatchObject({ leaderElect: true, inCluster: true });
    expect(loadConfig(['--leader-elect', 'true'], {})).toMatchObject({ leaderElect: true, inCluster: false });
  });

  it('rejects bad operator configuration with OPERATOR_CONFIG', () => {
    for (const argv of [['--metrics-addr', 'nohostport'], ['--workers', '0'], ['--leader-elect', 'maybe']]) {
      let err: unknown;
      try {
        loadConfig(argv, {});
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).toBeInstanceOf(OperatorError);
      expect((err as OperatorError).code).toBe(ErrorCodes.CONFIG);
    }
  });
});
