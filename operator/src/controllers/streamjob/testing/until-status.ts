// TEST-ONLY: waits for a StreamJob's status to satisfy a condition; a timeout says what the
// status was last (phase, lastError, the pending operation, conditions), not just "timed out".
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { ErrorCodes, OperatorError, type KubeClient } from '../../../kube/index.ts';
import { waitFor } from '../../../kube/testing/cluster.ts';
import { getJob } from './kafka-job-harness.ts';

export async function untilStatus(
  kube: KubeClient,
  ns: string,
  name: string,
  what: string,
  ok: (j: StreamJob) => boolean,
  timeoutMs = 90_000,
): Promise<StreamJob> {
  let last: StreamJob | undefined;
  try {
    return await waitFor(
      what,
      async () => {
        last = await getJob(kube, ns, name);
        return ok(last) ? last : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new OperatorError(
      ErrorCodes.TEST_TIMEOUT,
      `${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`,
      { cause: err },
    );
  }
}

/** Everything status says about a failure: lastError and the conditions' messages, one per line. */
export const statusSays = (j: StreamJob): string =>
  [j.status?.lastError ?? '', ...(j.status?.conditions ?? []).map((c) => `${c.type}/${c.reason}: ${c.message}`)].join(
    '\n',
  );
