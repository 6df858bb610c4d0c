// TEST-ONLY: a Kafka → keyed → Kafka StreamJob spec that can rescale live (spec.rescale.mode live),
// and slot pods in the states a live rescale sees, for unit tests of its decisions.
import { finishedMessage } from '../../../../../runtime/src/control/finished.ts';
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { DEPLOYMENT_LABEL } from '../objects/metadata.ts';
import type { Pod } from '../objects/slot-pod.ts';
import { sampleSpec } from './sample-job.ts';

export const liveSpec = {
  ...sampleSpec,
  rescale: { mode: 'live' },
  graph: {
    sources: [{ name: 'in', kafka: { brokers: 'k:9092', topic: 'in', groupId: 'g' } }],
    steps: [{ name: 'by', from: 'in', keyBy: { key: 'user' } }],
    sinks: [{ name: 'out', from: 'by', kafka: { brokers: 'k:9092', topic: 'out' } }],
  },
} as unknown as StreamJobSpec;

export type PodState = 'running' | 'pending' | 'left' | 'failed' | 'finished' | 'deleting';

/** Slot pod `j-<dep>-<slot>` of deployment `dep` in `state`. */
export function pod(slot: number, state: PodState, dep = 'd1'): Pod {
  const terminated = (exitCode: number, message?: string) => ({
    containerStatuses: [
      {
        name: 'runtime',
        ready: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            message,
            finishedAt: '2026-01-01T00:00:00Z',
          },
        },
      },
    ],
  });
  const done = (left: boolean) =>
    finishedMessage({ slot, deploymentId: dep, recordsIn: 5, recordsOut: 5, ...(left ? { left: true } : {}) });
  const status: Pod['status'] =
    state === 'running' || state === 'deleting'
      ? { phase: 'Running', podIP: `10.0.0.${slot + 1}`, conditions: [{ type: 'Ready', status: 'True' }] }
      : state === 'pending'
        ? { phase: 'Pending' }
        : state === 'failed'
          ? { phase: 'Failed', ...terminated(1, 'boom') }
          : { phase: 'Succeeded', ...terminated(0, done(state === 'left')) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `j-${dep}-${slot}`,
      namespace: 'n',
      uid: `uid-${dep}-${slot}`,
      labels: { [DEPLOYMENT_LABEL]: dep, 'tributary.dev/slot': String(slot) },
      ...(state === 'deleting' ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'runtime', image: 'img:running' }] },
    status,
  };
}

/** slot → pod for the given states, slot i = states[i]. */
export const pods = (...states: PodState[]): Map<number, Pod> => new Map(states.map((s, i) => [i, pod(i, s)]));
