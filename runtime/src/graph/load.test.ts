import { describe, expect, it } from 'vitest';
import { loadJobText } from './load.ts';

describe('loadJobText', () => {
  const manifest = `
apiVersion: tributary.dev/v1alpha1
kind: StreamJob
metadata: { name: demo }
spec:
  replicas: 3
  graph:
    sources: [{ name: s, datagen: { generator: nexmark, rate: 10 } }]
    sinks: [{ name: o, from: s, console: {} }]
`;
  it('reads a StreamJob manifest and applies --set to the graph and spec', () => {
    const j = loadJobText(manifest, ['graph.sources[0].datagen.rate=500', 'spec.replicas=2']);
    expect(j.name).toBe('demo');
    expect(j.replicas).toBe(2);
    expect(j.graphPath).toBe('spec.graph');
    expect((j.graph as { sources: { datagen: { rate: number } }[] }).sources[0]?.datagen.rate).toBe(500);
  });

  it('fails clearly on invalid YAML', () => {
    expect(() => loadJobText('sources: [')).toThrow(/not valid YAML or JSON/);
  });

  it('reads spec.stateBackend as written (the run checks it), and a --set on it', () => {
    expect(loadJobText(manifest).stateBackend).toBeUndefined();
    const j = loadJobText(manifest, ['spec.stateBackend.type=disk', 'spec.stateBackend.cacheEntries=5000']);
    expect(j.stateBackend).toEqual({ type: 'disk', cacheEntries: 5000 });
  });
});
