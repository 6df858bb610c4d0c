// Every slot's own GET /v1/status (runtime-client), for Ready: slot 0 answers for itself, and a
// slot whose pod still looks ready may have stopped (after a stop-with-savepoint the operator
// did not see complete, slots end while their pods linger); and for the autoscaler, each slot's
// load counters. Read-only; an answer that names another deployment counts as no answer.
import type { DependencyOutage, JobState, SlotLoad, StatusResponse } from '../../../../runtime/src/control/contract.ts';
import { RuntimeClient, RuntimeError } from '../../runtime-client/client.ts';
import type { Pod } from './objects/slot-pod.ts';

/** What one slot's runtime said: its state (JobState, or a state a newer runtime adds), or why it did not answer. */
export type SlotRuntime =
  | {
      state: JobState | (string & {});
      unavailable?: readonly DependencyOutage[];
      /** Records its graph steps dropped, per graph step and error (StatusResponse.recordsDropped). */
      recordsDropped?: StatusResponse['recordsDropped'];
      load?: SlotLoad;
      /** The runtime's own error once it FAILED (StatusResponse.error). */
      failure?: string;
    }
  | { error: string };

/** Asks each slot in `slots` whose pod runs with an IP; slots without one are left out. */
export async function querySlots(
  client: RuntimeClient,
  current: ReadonlyMap<number, Pod>,
  slots: readonly number[],
  token: string,
  deploymentId: string | undefined,
): Promise<Map<number, SlotRuntime>> {
  const asked = slots.flatMap((s) => {
    const p = current.get(s);
    const ip = p?.status?.podIP;
    return ip && p.status?.phase === 'Running' ? [{ s, ip }] : [];
  });
  const answers = await Promise.all(
    asked.map(async ({ s, ip }): Promise<[number, SlotRuntime]> => {
      try {
        const st = await client.status(RuntimeClient.baseUrl(ip), token);
        if (st.deploymentId && st.deploymentId !== deploymentId)
          return [s, { error: `answers for deployment ${st.deploymentId}, expected ${deploymentId}` }];
        return [
          s,
          {
            state: st.state,
            ...(st.unavailable ? { unavailable: st.unavailable } : {}),
            ...(st.recordsDropped ? { recordsDropped: st.recordsDropped } : {}),
            ...(st.load ? { load: st.load } : {}),
            ...(st.error ? { failure: st.error } : {}),
          },
        ];
      } catch (err) {
        return [s, { error: err instanceof RuntimeError ? err.message : String(err) }];
      }
    }),
  );
  return new Map(answers);
}
