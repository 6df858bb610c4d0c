// The operator with leader election on (as the chart deploys it) against its REAL kube-apiserver
// (the cluster it is given, env) going away, with the operator as its own process
// (`node operator/src/main.ts`) and a running exactly-once window job (real runtime, Kafka;
// checkpoints in an emptyDir: the job must never be redeployed here).
// Short lease timings (lease 6 s, renew deadline 4 s, retry 0.5 s).
//   - long: the apiserver SIGSTOPped past the renew deadline, the leader on the default 30 s
//     request timeout (the renew deadline, not the request timeout, must bound how long a hung
//     apiserver holds it): it exits non-zero within renewDeadline + retryPeriod + the stop
//     margin (leaseDuration − renewDeadline) + slack, logging OPERATOR_LEADERSHIP_LOST and why
//     (could not renew: the last failure); the slot pods keep producing output meanwhile.
//     After SIGCONT a restarted operator (as its Deployment would restart it) takes the Lease
//     only once it has seen it unchanged for the lease duration, adopts the job without
//     redeploying it (same deployment id, same pods) and brings its status up to date (a
//     checkpoint completed after the outage);
//   - short: SIGSTOPped for 2 s, within the renew deadline, the restarted leader on a 1 s
//     request timeout (its renewals in the freeze fail): it keeps its Lease, never exits, and
//     renews once the apiserver answers again;
//   - standby (the chart's replicas: 2): a second process stands by; the apiserver SIGSTOPped
//     until the leader has exited; after SIGCONT the standby takes the Lease (not before it
//     expired) and adopts the job as above.
// At the end the output holds every window exactly once (Kafka's Java consumer, read_committed).
// Measured time-to-detect and time-to-recover go to stderr for docs/fault-matrix.md. Always
// thaws the apiserver and stops its operators in `finally`: other tests use the apiserver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { signalApiserver, startStoppedApiserver } from '../../../../test/cluster/components/apiserver.ts';
import { ErrorCodes, Resources, type KubeObject } from '../../kube/index.ts';
import type { Lease } from '../../kube/leader-election.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../version.ts';
import { logLines, metric } from './testing/apiserver-access.ts';
import { startOperatorProcess, type OperatorProcess } from './testing/operator-process.ts';
import {
  getJob,
  harnessPerFile,
  javaExactlyOnce,
  runningWith,
  startWindowInput,
  windowGraph,
} from './testing/kafka-job-harness.ts';

const LEASE_S = 6;
const RENEW_DEADLINE_S = 4;
const RETRY_S = 0.5;
/** Exit bound: renew deadline, one retry, the deposed leader's drain (the stop margin), slack for a busy machine. */
const EXIT_BOUND_MS = (RENEW_DEADLINE_S + RETRY_S + (LEASE_S - RENEW_DEADLINE_S) + 4) * 1000;
/** The restarted leader's request timeout: a renewal hung in the short freeze fails (retry + this < the freeze). */
const SHORT_REQUEST_TIMEOUT_S = 1;
/** Shorter than the renew deadline minus a retry period (the last renewal's age at the start) and a request timeout. */
const SHORT_FREEZE_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the leader operator and a kube-apiserver outage past its renew deadline (real apiserver)', () => {
  const harness = harnessPerFile('aple', { in: 1, out: 1 });
  const name = 'led';

  it('exits with OPERATOR_LEADERSHIP_LOST past the renew deadline; a restarted or standby operator adopts the job; a short outage keeps the Lease', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const paths = clusterPaths();
    const dir = mkdtempSync(join(tmpdir(), 'aple-'));
    const ops: OperatorProcess[] = [];
    let frozen = false;
    const startOperator = (n: number, more: string[] = []) => {
      const op = startOperatorProcess({
        namespace: ns,
        defaultImage: DEFAULT_RUNTIME_IMAGE,
        logFile: join(dir, `operator-${n}.log`),
        args: [
          '--leader-elect=true',
          `--lease-namespace=${ns}`,
          '--lease-name=tributary-operator',
          `--leader-elect-lease-duration=${LEASE_S}s`,
          `--leader-elect-renew-deadline=${RENEW_DEADLINE_S}s`,
          `--leader-elect-retry-period=${RETRY_S * 1000}ms`,
          ...more,
        ],
      });
      ops.push(op);
      return op;
    };
    const becameLeader = (op: OperatorProcess) =>
      waitFor('the operator leads', () => logLines(op).find((l) => l.msg === 'became leader'), 60_000, 100);
    const lease = () => kube.get<Lease>(Resources.Lease, ns, 'tributary-operator');
    try {
      await h.stopOperator();
      const op1 = startOperator(1);
      const url1 = await op1.ready;
      let exit1: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
      void op1.exited.then((e) => (exit1 = { ...e, at: Date.now() }));
      const identity1 = (JSON.parse((await becameLeader(op1)).raw) as { identity: string }).identity;

      const input = h.topics.in!;
      const output = h.topics.out!;
      const { reader, finish } = await startWindowInput({
        kafka,
        input,
        output,
        partitions: 1,
        readerGroup: `aple-reader-${id}`,
        keys: 20,
      });
      await h.createJob(name, {
        replicas: 1,
        // Never redeployed here (that is the point): its checkpoints need only outlive nothing.
        upgradeMode: 'stateless',
        stateStorage: { emptyDir: {} },
        checkpointing: { interval: '500ms' },
        graph: windowGraph({ brokers, input, output, groupId: `g-${id}` }),
      });
      const running = await runningWith(kube, ns, name, 1);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      expect(await metric(url1, 'tributary_operator_leader_election_master_status')).toBe(1);

      // ---- long: frozen past the renew deadline.
      const before = await getJob(kube, ns, name);
      const depId = before.status?.deployed?.id;
      expect(depId).toBe(running.status?.deployed?.id);
      const pods = (await kube.list<KubeObject>(Resources.Pod, ns)).items.map((p) => p.metadata?.uid).sort();
      expect(pods.length).toBeGreaterThan(0);
      const leaseBefore = await lease();
      /** The new leader's status is current (a checkpoint completed after `since`); same deployment, same pods. */
      const adopted = async (since: number) => {
        const current = await waitFor(
          'the new leader writes a checkpoint completed after the outage',
          async () => {
            const j = await getJob(kube, ns, name);
            const at = Date.parse(j.status?.lastCheckpoint?.completedAt ?? '');
            return at > since ? { j, at: Date.now() } : undefined;
          },
          60_000,
          100,
        );
        expect(current.j.status?.phase).toBe('Running');
        expect(current.j.status?.pendingOperation).toBeUndefined();
        expect(current.j.status?.deployed?.id).toBe(depId);
        const uids = (await kube.list<KubeObject>(Resources.Pod, ns)).items.map((p) => p.metadata?.uid).sort();
        expect(uids).toEqual(pods);
        return current;
      };
      const outBefore = reader.arrivals.length;
      const t0 = Date.now();
      frozen = true;
      signalApiserver(paths, 'SIGSTOP');
      // Not much past the bound: the apiserver stays frozen while this waits, and other tests share it.
      const exited = await waitFor('the leader exits', () => exit1, EXIT_BOUND_MS + 5_000, 50);
      const detectMs = exited.at - t0;
      const outAtExit = reader.arrivals.length;
      // The slots do not need the apiserver: their output keeps coming while it stays frozen.
      await waitFor('output after the leader exited', () => reader.arrivals.length > outAtExit, 10_000, 100);
      const outDuring = reader.arrivals.length - outBefore;
      const tLift = Date.now();
      signalApiserver(paths, 'SIGCONT');
      frozen = false;
      const lines1 = logLines(op1);
      const lost = lines1.find((l) => l.msg.startsWith('lost the lease'));
      const stopped = lines1.find((l) => l.raw.includes(ErrorCodes.LEADERSHIP_LOST));
      process.stderr.write(
        `[apiserver-leadership] long: exit ${exited.signal ?? `code ${exited.code}`} ${(detectMs / 1000).toFixed(1)} s after the freeze ` +
          `(lost the lease ${lost ? ((lost.time - t0) / 1000).toFixed(1) : '?'} s); bound ${EXIT_BOUND_MS / 1000} s; ` +
          `frozen ${((tLift - t0) / 1000).toFixed(1)} s; output records meanwhile ${outDuring}; log: ${stopped?.raw.slice(0, 600)}\n`,
      );
      expect(exited.code).toBe(1);
      expect(detectMs).toBeLessThanOrEqual(EXIT_BOUND_MS);
      expect(lost?.msg).toMatch(/could not renew it for .* \(renew deadline 4 s\)/);
      expect(stopped?.level).toBe(50);
      expect(stopped?.raw).toMatch(/lost the leader Lease .*tributary-operator: could not renew it/);
      expect(outDuring).toBeGreaterThan(0);

      // ---- the Deployment's restart: a new process takes the Lease once it has seen it unchanged for LEASE_S.
      const tRestart = Date.now();
      const op2 = startOperator(2, [`--kube-request-timeout=${SHORT_REQUEST_TIMEOUT_S}s`]);
      const url2 = await op2.ready;
      const led = await becameLeader(op2);
      const l2 = await lease();
      expect(leaseBefore.spec?.holderIdentity).toBe(identity1);
      expect(l2.spec?.holderIdentity).toBe((JSON.parse(led.raw) as { identity: string }).identity);
      expect(l2.spec?.leaseTransitions).toBe((leaseBefore.spec?.leaseTransitions ?? 0) + 1);
      expect(led.time - tRestart).toBeGreaterThanOrEqual(LEASE_S * 1000);
      const current = await adopted(tLift);
      process.stderr.write(
        `[apiserver-leadership] restart ${((tRestart - tLift) / 1000).toFixed(1)} s after SIGCONT; new leader ${((led.time - tRestart) / 1000).toFixed(1)} s after its start ` +
          `(lease ${LEASE_S} s); status current ${((current.at - tLift) / 1000).toFixed(1)} s after SIGCONT; deployment ${depId} kept, ${pods.length} pod(s) kept\n`,
      );

      // ---- short, on the restarted leader, whose request timeout is shorter than the freeze: its
      // renewals in it fail; they fail for less than the renew deadline: it keeps its Lease.
      const identity2 = (JSON.parse(led.raw) as { identity: string }).identity;
      let exit2: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      void op2.exited.then((e) => (exit2 = e));
      const short0 = Date.now();
      frozen = true;
      signalApiserver(paths, 'SIGSTOP');
      await sleep(SHORT_FREEZE_S * 1000);
      signalApiserver(paths, 'SIGCONT');
      frozen = false;
      const shortLift = Date.now();
      const renewed = await waitFor(
        'the leader renews its Lease after the short outage',
        async () => {
          const l = await lease();
          return Date.parse(l.spec?.renewTime ?? '') > shortLift ? l : undefined;
        },
        RENEW_DEADLINE_S * 1000,
        100,
      );
      // Past the renew deadline counted from the freeze: a leader that miscounted would be gone by now.
      await sleep(Math.max(0, short0 + (RENEW_DEADLINE_S + RETRY_S) * 1000 - Date.now()));
      const lines2 = logLines(op2);
      const failedRenewals = lines2.filter(
        (l) => l.time >= short0 && l.time <= shortLift + 500 && l.msg.startsWith('leader election cannot proceed'),
      );
      process.stderr.write(
        `[apiserver-leadership] short: frozen ${((shortLift - short0) / 1000).toFixed(1)} s; renewal failures logged ${failedRenewals.length}; ` +
          `kept the Lease, renewed ${((Date.parse(renewed.spec!.renewTime!) - shortLift) / 1000).toFixed(1)} s after SIGCONT\n`,
      );
      expect(exit2, 'the leader exited during an outage shorter than its renew deadline').toBeUndefined();
      expect(failedRenewals.length, 'no renewal failed in the freeze: the cell tests nothing').toBeGreaterThan(0);
      expect(renewed.spec?.holderIdentity).toBe(identity2);
      expect(lines2.filter((l) => l.msg.startsWith('lost the lease'))).toEqual([]);
      expect(await metric(url2, 'tributary_operator_leader_election_master_status')).toBe(1);

      // ---- a standby replica (the chart's replicas: 2) takes over from a leader that exits.
      const op3 = startOperator(3);
      await op3.ready;
      await waitFor(
        'a standby',
        () => logLines(op3).find((l) => l.msg.startsWith('another operator holds')),
        10_000,
        100,
      );
      const renewedBefore = await lease();
      const t1 = Date.now();
      frozen = true;
      signalApiserver(paths, 'SIGSTOP');
      await waitFor('the leader exits', () => exit2, EXIT_BOUND_MS + 5_000, 50);
      const detect2 = Date.now() - t1;
      const tLift2 = Date.now();
      signalApiserver(paths, 'SIGCONT');
      frozen = false;
      const led3 = await becameLeader(op3);
      const l3 = await lease();
      expect(l3.spec?.holderIdentity).toBe((JSON.parse(led3.raw) as { identity: string }).identity);
      expect(l3.spec?.leaseTransitions).toBe((renewedBefore.spec?.leaseTransitions ?? 0) + 1);
      // Never before the lease expired: LEASE_S after the deposed leader's last renewal.
      expect(led3.time).toBeGreaterThanOrEqual(Date.parse(renewedBefore.spec!.renewTime!) + LEASE_S * 1000);
      const current3 = await adopted(tLift2);
      process.stderr.write(
        `[apiserver-leadership] standby: the leader exited ${(detect2 / 1000).toFixed(1)} s after the freeze; the standby led ` +
          `${((led3.time - tLift2) / 1000).toFixed(1)} s after SIGCONT; status current ${((current3.at - tLift2) / 1000).toFixed(1)} s after SIGCONT\n`,
      );

      // ---- every window exactly once (Kafka's Java consumer, read_committed)
      const { n, want, check } = await finish();
      const { java, javaCheck } = await javaExactlyOnce(brokers, output, want);
      process.stderr.write(
        `[apiserver-leadership] ${n} input records, ${want.length} reference windows; read_committed (Java) ${java.length}: missing ${javaCheck.missing.length}, duplicates ${javaCheck.dups}\n`,
      );
      expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
      expect(check.dups).toBe(0);
    } finally {
      if (frozen) await startStoppedApiserver(paths);
      await Promise.all(ops.map((o) => o.stop()));
      if (process.env.SJ_KEEP) process.stderr.write(`[apiserver-leadership] operator logs in ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
