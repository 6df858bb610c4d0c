/**
 * Each worker runs on its own lane's cluster: the coordinates setup-env.ts gave this file are
 * one cluster's, consistently (its folder, its port offset, its apiserver), and that cluster
 * answers. With two lanes, one of the two runs of this check lands on lane 2 whenever vitest
 * schedules this file on worker 2; either way the coordinates must agree with each other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newClient } from '../../operator/src/kube/testing/cluster.ts';
import { LANE_OFFSET_BASE } from './lanes.ts';

describe('the lane this file runs on', () => {
  it('has one cluster, the one its worker id names, and its apiserver answers', async () => {
    const poolId = Number(process.env.VITEST_POOL_ID ?? '1');
    const dir = process.env.TRIBUTARY_CLUSTER_DIR ?? '';
    const offset = Number(process.env.TRIBUTARY_CLUSTER_PORT_OFFSET ?? '0');
    if (poolId >= 2) {
      expect(dir).toMatch(new RegExp(`-lane${poolId}$`));
      expect(offset).toBe(LANE_OFFSET_BASE + 1000 * (poolId - 2));
    } else expect(dir).not.toMatch(/-lane\d+$/);
    expect(process.env.KUBECONFIG).toBe(`${dir}/kubeconfig`);
    // ports.ts reads the offset when it loads: it must be loaded only after setup-env set it.
    const { ports } = await import('../cluster/ports.ts');
    expect(ports.apiserver).toBe(16443 + offset);
    const server = /server: (\S+)/.exec(readFileSync(process.env.KUBECONFIG!, 'utf8'))?.[1];
    expect(server).toBe(`https://127.0.0.1:${16443 + offset}`);
    const brokers = process.env.TRIBUTARY_KAFKA_BROKERS;
    if (brokers) expect(brokers).toBe(`127.0.0.1:${19092 + offset}`);
    // And that apiserver is this lane's: its default namespace answers through the lane's kubeconfig.
    const api = await newClient();
    const ns = await api.request<{ metadata?: { name?: string } }>('GET', '/api/v1/namespaces/default');
    expect(ns.metadata?.name).toBe('default');
  });
});
