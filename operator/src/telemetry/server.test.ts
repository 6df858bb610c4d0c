import { describe, expect, it } from 'vitest';
import { createRegistry, kubeMetrics } from './metrics.ts';
import { startProbeServer } from './server.ts';

describe('probe server', () => {
  it('serves /healthz, /readyz from the readiness check, and /metrics from the registry', async () => {
    const registry = createRegistry();
    kubeMetrics(registry).reconcileTotal.inc({ controller: 'c', result: 'success' });
    let ready = false;
    const srv = await startProbeServer({ registry, ready: () => ready });
    try {
      expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${srv.url}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      expect(metrics).toContain('tributary_operator_reconcile_total{controller="c",result="success"} 1');
      expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    } finally {
      await srv.close();
    }
  });

  it('keeps metrics of separate registries apart', () => {
    const a = kubeMetrics(createRegistry());
    const b = kubeMetrics(createRegistry());
    expect(a).not.toBe(b);
    expect(kubeMetrics(a.registry)).toBe(a);
  });
});
