/**
 * Runs in every integration test worker before its tests: installs the kafkajs read_committed
 * fix before any test file loads kafkajs (an ESM test importing 'kafkajs' ahead of our modules
 * would otherwise get the unpatched filter, and its read_committed reads would include records
 * of aborted transactions), then copies the coordinates of this worker's lane's cluster that
 * global setup provided into process.env, where tests and our code read them (KUBECONFIG,
 * TRIBUTARY_CLUSTER_DIR, TRIBUTARY_KAFKA_BROKERS, TRIBUTARY_CLUSTER_PORT_OFFSET).
 * Invariant: this runs before anything imports test/cluster/ports.ts, which reads the port
 * offset once when it loads; so nothing imported here may import test/cluster/.
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
// Vitest gives each concurrently running file a distinct VITEST_POOL_ID in 1..maxWorkers, and
// maxWorkers is the lane count (vitest.config.ts): so no two running files share a lane. Only in
// a run of this project alone: run beside the unit project (vitest 4.1), concurrent files were
// seen with the same id, so `npm test` runs the two projects one after the other.
const lanes = inject('clusterLanes');
const poolId = Number(process.env.VITEST_POOL_ID ?? '1');
const lane = lanes[poolId - 1];
if (!lane)
  throw new TributaryError(
    'TRIB_INVARIANT',
    `VITEST_POOL_ID ${poolId} has no lane (${lanes.length} started): vitest.config.ts and global-setup.ts disagree`,
  );
// '=', not '??=': the worker inherited lane 1's coordinates from the main process.
for (const [k, v] of Object.entries(lane)) process.env[k] = v;
