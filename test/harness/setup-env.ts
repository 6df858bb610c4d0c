/**
 * Runs in every integration test worker before its tests: copies the cluster coordinates
 * that global setup provided into process.env, where tests and our code read them
 * (KUBECONFIG, TRIBUTARY_CLUSTER_DIR, TRIBUTARY_KAFKA_BROKERS).
 */
import { inject } from 'vitest';

for (const [k, v] of Object.entries(inject('clusterEnv'))) process.env[k] ??= v;
