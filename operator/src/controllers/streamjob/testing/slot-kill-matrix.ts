// TEST-ONLY: what the slot pod kill matrix of a live rescale (live-rescale-slot-kill.chaos.int) needs
// besides the harness: the cases (which pod dies at which phase), slot 0's own migration status read
// through its control API (the operator polls it once a second; a kill point needs it sooner), and
// the one process kill of the victim's pod at the first status that meets the case's phase.
import { SLOT_LABEL } from '../../../../../runtime/src/control/contract.ts';
import type { MigrationStatus } from '../../../../../runtime/src/core/migration.ts';
import { ErrorCodes, OperatorError, Resources, type KubeClient } from '../../../kube/index.ts';
import { RuntimeClient } from '../../../runtime-client/client.ts';
import { TOKEN_KEY, tokenSecretName } from '../objects/control-token.ts';
import { podSelector } from '../objects/metadata.ts';
import type { Pod } from '../objects/slot-pod.ts';
import { getJob } from './kafka-job-harness.ts';
import type { KillJobKind } from './kill-matrix-jobs.ts';
import { killSlotProcess } from './kill-slot.ts';

/**
 * Where the kill lands. joining: slot 0 names the slot it awaits (`awaiting`); moving: half-way
 * through the migration steps (those before it moved and were checkpointed, those after it did not
 * move); draining: a scale in past its last migration step, the leaving slots draining and leaving;
 * done: the migration COMPLETED and the job Ready at the target.
 */
export type KillPhase = 'joining' | 'moving' | 'draining' | 'done';

export interface KillCase {
  name: string;
  from: number;
  to: number;
  /** The slot whose pod is killed. */
  victim: number;
  at: KillPhase;
  /** The job rescaled (kill-matrix-jobs.ts); rolling unless named. */
  job?: KillJobKind;
}

const scaleOut = (victim: number, at: KillPhase, who: string): KillCase => ({
  name: `2→3, ${who} (slot ${victim}) killed ${at === 'done' ? 'right after done' : `while ${at}`}`,
  from: 2,
  to: 3,
  victim,
  at,
});
const scaleIn = (victim: number, at: KillPhase, who: string): KillCase => ({
  name: `3→2, ${who} (slot ${victim}) killed ${at === 'done' ? 'right after done' : `while ${at}`}`,
  from: 3,
  to: 2,
  victim,
  at,
});

/** The growth job (kill-matrix-jobs.ts): the topic gains partitions as the rescale starts. */
const growing = (c: KillCase): KillCase => ({ ...c, name: `topic growing: ${c.name}`, job: 'growth' });

/**
 * What CI runs: an old slot while joining, the joining pod mid migration step, the leaving pod while draining, and a
 * staying slot while draining with partitions found during the scale in (a leaving slot must not take one).
 */
export const CI_CASES: readonly KillCase[] = [
  scaleOut(1, 'joining', 'an old slot'),
  scaleOut(2, 'moving', 'the joining pod'),
  scaleIn(2, 'draining', 'the leaving pod'),
  growing(scaleIn(1, 'draining', 'a staying slot')),
];

/** The rest of the matrix (TRIBUTARY_RESCALE_KILL_ROUNDS=n runs every case n times). */
export const MORE_CASES: readonly KillCase[] = [
  scaleOut(0, 'joining', 'the coordinator'),
  scaleOut(2, 'joining', 'the joining pod'),
  scaleOut(0, 'moving', 'the coordinator'),
  scaleOut(1, 'moving', 'an old slot'),
  scaleIn(0, 'draining', 'the coordinator'),
  scaleIn(1, 'draining', 'a staying slot'),
  scaleIn(2, 'moving', 'the leaving pod'),
  scaleOut(1, 'done', 'an old slot'),
  scaleOut(2, 'done', 'the joined pod'),
  scaleIn(0, 'done', 'the coordinator'),
  growing(scaleIn(2, 'draining', 'the leaving pod')),
  growing(scaleOut(2, 'moving', 'the joining pod')),
  growing(scaleIn(0, 'done', 'the coordinator')),
];

/**
 * The event-time window job (TRIBUTARY_RESCALE_KILL_ROUNDS=n only: CI time and risk): the joining pod
 * killed mid migration step of a scale out, while the slots that handed a partition over keep its watermark as a
 * floor until the new owner catches up; the leaving pod killed while draining, where it first waits for
 * its floors to be released (rescale/leave-floors.ts) before its sources end.
 */
export const WINDOW_CASES: readonly KillCase[] = [
  scaleOut(2, 'moving', 'the joining pod'),
  scaleIn(2, 'draining', 'the leaving pod'),
].map((c): KillCase => ({ ...c, name: `window job: ${c.name}`, job: 'window' }));

/** Whether slot 0's status `m` is the case's kill point (`done` is waited for by the caller). */
export function atKillPoint(c: KillCase, m: MigrationStatus): boolean {
  if (m.state !== 'IN_PROGRESS') return false;
  switch (c.at) {
    case 'joining':
      return m.awaiting !== undefined;
    case 'moving':
      return m.phase === 'moving' && m.stepsDone >= Math.max(1, Math.floor(m.steps / 2)) && m.stepsDone < m.steps;
    case 'draining':
      return m.phase === 'draining';
    case 'done':
      return false;
  }
}

/** The pod of `slot` in the job's deployment `dep` that runs now (not Succeeded, not being deleted). */
export async function runningPod(
  kube: KubeClient,
  ns: string,
  job: string,
  dep: string,
  slot: number,
): Promise<Pod | undefined> {
  const pods = await kube.list<Pod>(Resources.Pod, ns, {
    labelSelector: `${podSelector(job, dep)},${SLOT_LABEL}=${slot}`,
  });
  return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.status.podIP);
}

export interface KillHit {
  /** Slot 0's status the kill followed. */
  seen: MigrationStatus;
  pod: string;
  pid: number;
}

/**
 * Polls slot 0 of deployment `dep` (every 10 ms once it runs, the migration id as the operator recorded it)
 * until `atKillPoint`, then SIGKILLs the victim's pod process; a joining pod that has no process
 * yet is retried while the phase holds. Fails when the migration ends or `timeoutMs` passes first.
 */
export async function killAtPhase(
  kube: KubeClient,
  ns: string,
  job: string,
  dep: string,
  c: KillCase,
  timeoutMs = 90_000,
): Promise<KillHit> {
  const secret = await kube.get<{ metadata?: object; data: Record<string, string> }>(
    Resources.Secret,
    ns,
    tokenSecretName(job),
  );
  const token = Buffer.from(secret.data[TOKEN_KEY]!, 'base64').toString('utf8');
  const client = new RuntimeClient({ timeoutMs: 2_000 });
  const t0 = Date.now();
  let last = '';
  // Slot 0 and the migration id do not change while it runs: once known, only slot 0 is asked.
  let ask: { base: string; id: string } | undefined;
  try {
    while (Date.now() - t0 < timeoutMs) {
      if (!ask) {
        const id = (await getJob(kube, ns, job)).status?.migration?.id;
        const ip = (await runningPod(kube, ns, job, dep, 0))?.status?.podIP;
        if (id && ip) ask = { base: RuntimeClient.baseUrl(ip), id };
      }
      const m = ask ? await client.migration(ask.base, token, ask.id).catch(() => undefined) : undefined;
      if (m) last = `${m.state} ${m.phase} ${m.stepsDone}/${m.steps}${m.awaiting ? ' awaiting' : ''}`;
      if (m && m.state !== 'IN_PROGRESS')
        throw new OperatorError(ErrorCodes.TEST_HARNESS, `${c.name}: the migration ended (${last}) before the kill`);
      if (m && atKillPoint(c, m)) {
        const pod = await runningPod(kube, ns, job, dep, c.victim);
        if (pod)
          try {
            return { seen: m, pod: pod.metadata!.name!, pid: killSlotProcess(pod.metadata!.name!) };
          } catch {
            // the pod's process not started yet (a joining pod): the phase still holds, ask again
          }
      }
      await new Promise((r) => setTimeout(r, ask ? 10 : 50));
    }
    throw new OperatorError(ErrorCodes.TEST_HARNESS, `${c.name}: no kill point within ${timeoutMs} ms (last: ${last})`);
  } finally {
    await client.close();
  }
}
