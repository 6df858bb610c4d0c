// TEST-ONLY: a valid StreamJob spec (datagen → console, savepoint mode, historyLimit 2) and
// a StreamJob around it, for unit tests of the pure parts of the controller.
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';

export const sampleSpec = {
  replicas: 2,
  maxParallelism: 128,
  state: 'running',
  upgradeMode: 'savepoint',
  restartNonce: 0,
  savepointNonce: 0,
  checkpointing: { interval: '10s', timeout: '2m', retained: 3 },
  stateStorage: { pvc: { claimName: 'state' }, path: '/state' },
  savepoints: { timeout: '5m', historyLimit: 2, onDelete: true, onFailure: 'block', maxCheckpointAge: '10m' },
  restartPolicy: { maxRestarts: 3, backoff: { initial: '1s', max: '10s' } },
  graph: {
    sources: [
      { name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string', values: ['a'] } } } },
    ],
    sinks: [{ name: 'out', from: 'gen', console: {} }],
  },
} as unknown as StreamJobSpec;

/** StreamJob `n/j` (uid u1) with `spec` and `status`. */
export const sampleJob = (s: StreamJobSpec, status: StreamJob['status'] = {}): StreamJob => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'StreamJob',
  metadata: { name: 'j', namespace: 'n', uid: 'u1' },
  spec: s,
  status,
});
