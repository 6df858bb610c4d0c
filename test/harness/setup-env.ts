/**
 * Runs in every integration test worker before its tests: installs the kafkajs read_committed
 * fix before any test file loads kafkajs (an ESM test importing 'kafkajs' ahead of our modules
 * would otherwise get the unpatched filter, and its read_committed reads would include records
 * of aborted transactions), then copies the cluster coordinates that global setup provided
 * into process.env, where tests and our code read them (KUBECONFIG, TRIBUTARY_CLUSTER_DIR,
 * TRIBUTARY_KAFKA_BROKERS).
 */
import { patched } from '../../runtime/src/connectors/kafka/kafkajs-read-committed.ts';
import { TributaryError } from '../../runtime/src/errors.ts';
import { routeProcessWarnings } from '../../runtime/src/telemetry/process-warnings.ts';
import { createLogger } from '../../runtime/src/telemetry/logger.ts';
import { inject } from 'vitest';

if (!patched)
  throw new TributaryError(
    'TRIB_INVARIANT',
    'the kafkajs read_committed fix did not install (kafkajs loaded before test/harness/setup-env.ts?)',
  );
// As in the runtime: warnings as log lines.
routeProcessWarnings(createLogger('warn'));
for (const [k, v] of Object.entries(inject('clusterEnv'))) process.env[k] ??= v;
