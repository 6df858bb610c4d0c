import { describe, expect, it } from 'vitest';
import type { Pod } from './kube-types.ts';
import { isCandidate } from './scheduler.ts';

const pod = (spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): Pod =>
  ({ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [], ...spec }, status }) as Pod;

describe('isCandidate', () => {
  it('takes every unbound live pod of the default scheduler on the cluster node', () => {
    expect(isCandidate(pod(), 'tributary-node', false)).toBe(true);
    expect(isCandidate(pod({ nodeSelector: { 'kubernetes.io/hostname': 'other' } }), 'tributary-node', false)).toBe(
      true, // considered, then reported Unschedulable by podFitsNode
    );
    expect(isCandidate(pod({ nodeName: 'tributary-node' }), 'tributary-node', false)).toBe(false);
    expect(isCandidate(pod({ schedulerName: 'custom' }), 'tributary-node', false)).toBe(false);
    expect(isCandidate(pod({}, { phase: 'Failed' }), 'tributary-node', false)).toBe(false);
  });

  it('a pinnedOnly node takes only the pods whose nodeSelector names its hostname', () => {
    const node = 'tributary-containers';
    expect(isCandidate(pod(), node, true)).toBe(false);
    expect(isCandidate(pod({ nodeSelector: { 'kubernetes.io/os': 'linux' } }), node, true)).toBe(false);
    expect(isCandidate(pod({ nodeSelector: { 'kubernetes.io/hostname': 'tributary-node' } }), node, true)).toBe(false);
    expect(isCandidate(pod({ nodeSelector: { 'kubernetes.io/hostname': node } }), node, true)).toBe(true);
  });
});
