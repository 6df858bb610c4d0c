import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { NodeAgentError } from './errors.ts';
import type { KubeApi } from './kube-api.ts';
import type { Pod } from './kube-types.ts';
import { PodStatusWriter } from './pod-status-writer.ts';
import type { PodSnapshot } from './status.ts';

const pod: Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { containers: [] },
  status: { conditions: [{ type: 'Foreign', status: 'True' }] },
};

function writer(answer: () => Promise<unknown> = () => Promise.resolve({})) {
  const patches: {
    path: string;
    body: { metadata: unknown; status: { phase?: string; conditions?: { type: string }[] } };
  }[] = [];
  const api = { patch: (path: string, body: never) => (patches.push({ path, body }), answer()) } as unknown as KubeApi;
  let snap: PodSnapshot = {
    init: [],
    containers: [],
    initialized: false,
    sandboxReady: false,
    podIP: undefined,
    hostIP: '127.0.0.1',
    startTime: 't',
  };
  const w = new PodStatusWriter({
    api,
    uid: 'u',
    pod: () => pod,
    snapshot: () => snap,
    log: pino({ level: 'silent' }),
  });
  return { w, patches, set: (s: Partial<PodSnapshot>) => (snap = { ...snap, ...s }) };
}

describe('PodStatusWriter', () => {
  it('coalesces requests into one write of the latest state, uid as precondition, foreign conditions kept', async () => {
    const { w, patches, set } = writer();
    w.request();
    set({ sandboxReady: true, podIP: '127.0.1.9' });
    w.request();
    w.request();
    await w.settled();
    expect(patches).toHaveLength(1);
    expect(patches[0]?.path).toBe('/api/v1/namespaces/ns/pods/p/status');
    expect(patches[0]?.body.metadata).toEqual({ uid: 'u' });
    expect(patches[0]?.body.status).toMatchObject({ podIP: '127.0.1.9' });
    expect(patches[0]?.body.status.conditions?.map((c) => c.type)).toContain('Foreign');
    w.request();
    await w.settled();
    expect(patches).toHaveLength(1); // unchanged: not written again
  });

  it('stops writing once the object is gone or replaced (404/409), and after markObjectGone', async () => {
    const { w, patches, set } = writer(() =>
      Promise.reject(new NodeAgentError('NODE_AGENT_API', 'conflict', { status: 409 })),
    );
    w.request();
    await w.settled();
    expect(w.objectGone).toBe(true);
    set({ sandboxReady: true });
    w.request();
    await w.settled();
    expect(patches).toHaveLength(1);
    const other = writer();
    other.w.markObjectGone();
    other.w.request();
    await other.w.settled();
    expect(other.patches).toHaveLength(0);
  });
});
