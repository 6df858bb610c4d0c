// The operator rides out its kube-apiserver failing, against the REAL apiserver of the cluster
// it is given (env), with the operator as its own process (`node operator/src/main.ts`, under a
// ServiceAccount of its own so API Priority and Fairness can single it out) and a running
// exactly-once job (real runtime, Kafka, S3):
//   - down: the apiserver process SIGKILLed (port closed) for 20 s, longer than the operator's
//     request timeout (3 s here), then started again;
//   - hung: the apiserver SIGSTOPped for 15 s, then SIGCONT;
//   - 429: a FlowSchema matching the operator's ServiceAccount, mapped to a
//     PriorityLevelConfiguration with no seats and limitResponse Reject, then deleted. APF
//     still runs one request of a seatless level when nothing of it executes, so a noisy
//     neighbour in the same level (a POST whose body never comes, sent by the test under the
//     same ServiceAccount) holds that one: every request of the operator's is then answered 429;
//   - slow: every request held 1.2 s by a proxy in front of the apiserver (request timeout 2 s).
// Per cell: the operator never exits; it warns once when the trouble starts and says when the
// apiserver answers again (never a line per retry); /metrics shows it
// (tributary_operator_kube_apiserver_available, …_kube_request_failures_total{verb,code}); the
// job's pods keep producing output meanwhile; a scale made when the apiserver is back (down,
// hung) or while the operator is throttled (429) is acted on. Slow: it warns that the apiserver
// is slow (not unavailable), no request fails, and a scale made meanwhile is acted on. At the
// end the output holds every window exactly once (Kafka's Java consumer, read_committed).
// Measured time-to-detect and
// time-to-recover go to stderr for docs/fault-matrix.md. Always restores the apiserver and
// deletes what it made in `finally`: other tests run on the same apiserver after this one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import {
  signalApiserver,
  startStoppedApiserver,
  stopApiserver,
} from '../../../../test/cluster/components/apiserver.ts';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../version.ts';
import {
  ClusterRoleBinding,
  FlowSchema,
  holdSeat,
  logLines,
  metric,
  PriorityLevel,
  serviceAccountKubeconfig,
  slowingProxy,
} from './testing/apiserver-access.ts';
import { startOperatorProcess, type OperatorProcess } from './testing/operator-process.ts';
import {
  getJob,
  harnessPerFile,
  javaExactlyOnce,
  runningWith,
  scaleJob,
  startWindowInput,
  windowGraph,
} from './testing/kafka-job-harness.ts';

const PARTITIONS = 2;
const REQUEST_TIMEOUT = '3s';
/** Shorter than the 30 s default, so each cell also shows the periodic "still unavailable" line. */
const TROUBLE_LOG_INTERVAL_S = 8;
/** The slow cell's operator: each request held SLOW_MS, over half its timeout (its "slow" line), under it. */
const SLOW_TIMEOUT = '2s';
const SLOW_MS = 1_200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
describe('the operator rides out its kube-apiserver down, hung, answering 429 and slow (real apiserver)', () => {
  const harness = harnessPerFile('apif', { in: PARTITIONS, out: 1 });
  const name = 'steady';

  it('warns once per outage, shows it in metrics, keeps the job running, acts on the scale afterwards: exactly-once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const paths = clusterPaths();
    const dir = mkdtempSync(join(tmpdir(), 'apif-'));
    const fs = `apif-${id}`;
    let op: OperatorProcess | undefined;
    let frozen = false;
    let stopped = false;
    let releaseSeat: (() => void) | undefined;
    let proxy: Awaited<ReturnType<typeof slowingProxy>> | undefined;
    try {
      // The operator under a ServiceAccount of its own (the admin user is exempt from APF).
      await h.stopOperator();
      await kube.create(Resources.ServiceAccount, { metadata: { name: 'operator', namespace: ns } });
      await kube.create(ClusterRoleBinding, {
        metadata: { name: fs },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
      } as never);
      const kubeconfig = join(dir, 'kubeconfig');
      const identity = await serviceAccountKubeconfig(kube, ns, 'operator', kubeconfig);
      op = startOperatorProcess({
        namespace: ns,
        defaultImage: DEFAULT_RUNTIME_IMAGE,
        logFile: join(dir, 'operator.log'),
        env: { KUBECONFIG: kubeconfig },
        args: [`--kube-request-timeout=${REQUEST_TIMEOUT}`, `--kube-trouble-log-interval=${TROUBLE_LOG_INTERVAL_S}s`],
      });
      const url = await op.ready;
      let exited: string | undefined;
      void op.exited.then((e) => (exited = `${e.signal ?? `code ${e.code}`}`));

      const input = h.topics.in!;
      const output = h.topics.out!;
      const { reader, finish } = await startWindowInput({
        kafka,
        input,
        output,
        partitions: PARTITIONS,
        readerGroup: `apif-reader-${id}`,
        keys: 20,
      });
      await h.createJob(name, {
        replicas: 1,
        upgradeMode: 'savepoint',
        checkpointing: { interval: '500ms' },
        graph: windowGraph({ brokers, input, output, groupId: `g-${id}` }),
      });
      await runningWith(kube, ns, name, 1);
      await waitFor('first output', () => reader.arrivals.length > 0, 60_000, 100);
      expect(await metric(url, 'tributary_operator_kube_apiserver_available')).toBe(1);

      /** One cell: the fault from `t0`; `lift` ends it; `change` is the scale the operator must act on. */
      const cell = async (c: {
        label: string;
        start: () => Promise<void>;
        lift: () => Promise<void>;
        lastsMs: number;
        changeDuring?: number;
        changeAfter?: number;
      }) => {
        // Trouble that starts within the report interval of the last warning is reported by the
        // interval's line, not at once (flap suppression): space the cells so each starts warned.
        const lastApiWarn = logLines(op!)
          .filter((l) => l.level === 40 && l.msg.includes('kube-apiserver'))
          .at(-1);
        if (lastApiWarn) await sleep(Math.max(0, lastApiWarn.time + (TROUBLE_LOG_INTERVAL_S + 1) * 1000 - Date.now()));
        const warnsBefore = logLines(op!).length;
        const outBefore = reader.arrivals.length;
        const t0 = Date.now();
        await c.start();
        if (c.changeDuring !== undefined) await scaleJob(kube, ns, name, c.changeDuring);
        const detected = await waitFor(
          `${c.label}: the operator warns`,
          () => logLines(op!).find((l) => l.time >= t0 && l.level === 40 && l.msg.includes('unavailable:')),
          c.lastsMs + 30_000,
          100,
        );
        const detectS = (detected.time - t0) / 1000;
        await waitFor(
          `${c.label}: /metrics shows the apiserver unavailable`,
          async () => (await metric(url, 'tributary_operator_kube_apiserver_available')) === 0,
          10_000,
          100,
        );
        await sleep(Math.max(0, t0 + c.lastsMs - Date.now()));
        const outDuring = reader.arrivals.length - outBefore;
        const tLift = Date.now();
        await c.lift();
        const tBack = Date.now();
        if (c.changeAfter !== undefined) await scaleJob(kube, ns, name, c.changeAfter);
        const replicas = c.changeAfter ?? c.changeDuring!;
        const back = await waitFor(
          `${c.label}: the operator says the apiserver answers again`,
          // It may hear back before the test's own /readyz poll does.
          () => logLines(op!).find((l) => l.time >= tLift && l.msg.includes('answers again')),
          60_000,
          100,
        );
        const acted = await waitFor(
          `${c.label}: the operator acts on the scale to ${replicas}`,
          async () => {
            const j = await getJob(kube, ns, name);
            return j.status?.pendingOperation || j.status?.deployed?.parallelism === replicas ? Date.now() : undefined;
          },
          60_000,
          100,
        );
        await runningWith(kube, ns, name, replicas);
        const done = Date.now();
        const lines = logLines(op!).slice(warnsBefore);
        const warns = lines.filter((l) => l.level >= 40);
        const failures = await metric(url, 'tributary_operator_kube_request_failures_total');
        process.stderr.write(
          `[apiserver-faults] ${c.label}: fault ${((tLift - t0) / 1000).toFixed(1)} s; detect ${detectS.toFixed(1)} s; ` +
            `apiserver back (lift took ${((tBack - tLift) / 1000).toFixed(1)} s; "answers again" ${((back.time - tLift) / 1000).toFixed(1)} s after the lift started) → ` +
            `scale acted on ${((acted - tBack) / 1000).toFixed(1)} s, → Running with ${replicas} ${((done - tBack) / 1000).toFixed(1)} s; ` +
            `output records meanwhile ${outDuring}; warn lines ${warns.length}: ${warns.map((w) => `${w.source}: ${w.msg.slice(0, 140)}`).join(' | ')}; ` +
            `kube_request_failures_total ${failures}\n`,
        );
        expect(exited, `${c.label}: the operator exited`).toBeUndefined();
        // A warning when the trouble starts, then one per report interval, none per retry (a
        // restarted apiserver flaps between answers and 429 "storage is (re)initializing" for a
        // few seconds after /readyz: no more lines for that); other sources warn at most once
        // (every cell is shorter than their 30 s period).
        const apiWarns = warns.filter((w) => w.msg.includes('kube-apiserver')).length;
        expect(apiWarns).toBeGreaterThanOrEqual(1);
        expect(apiWarns).toBeLessThanOrEqual(Math.ceil((back.time - t0) / 1000 / TROUBLE_LOG_INTERVAL_S) + 1);
        // The operator notices a hung apiserver only at its next request, so the trouble it logs
        // may be shorter than the fault.
        if (tLift - detected.time > (TROUBLE_LOG_INTERVAL_S + 1) * 1000)
          expect(warns.some((w) => w.msg.includes('still unavailable after'))).toBe(true);
        const bySource = new Map<string, number>();
        for (const w of warns)
          if (!w.msg.includes('kube-apiserver')) bySource.set(w.source, (bySource.get(w.source) ?? 0) + 1);
        expect([...bySource].filter(([, n]) => n > 1)).toEqual([]);
        expect(outDuring, `${c.label}: the job's pods kept producing`).toBeGreaterThan(0);
        expect(await metric(url, 'tributary_operator_kube_apiserver_available')).toBe(1);
      };

      await cell({
        label: 'down (SIGKILL, port closed)',
        lastsMs: 20_000,
        start: async () => {
          stopped = true;
          await stopApiserver(paths, 'SIGKILL');
        },
        lift: async () => {
          await startStoppedApiserver(paths);
          stopped = false;
        },
        changeAfter: 2,
      });
      expect(
        await metric(url, 'tributary_operator_kube_request_failures_total', { code: 'transport' }),
      ).toBeGreaterThan(0);

      await cell({
        label: 'hung (SIGSTOP)',
        lastsMs: 15_000,
        start: async () => {
          frozen = true;
          signalApiserver(paths, 'SIGSTOP');
        },
        lift: async () => {
          signalApiserver(paths, 'SIGCONT');
          frozen = false;
        },
        changeAfter: 1,
      });
      expect(await metric(url, 'tributary_operator_kube_request_failures_total', { code: 'timeout' })).toBeGreaterThan(
        0,
      );

      await cell({
        label: '429 (APF: FlowSchema → PriorityLevel with no seats, Reject)',
        lastsMs: 12_000,
        start: async () => {
          await kube.create(PriorityLevel, {
            metadata: { name: fs },
            spec: {
              type: 'Limited',
              limited: {
                nominalConcurrencyShares: 0,
                lendablePercent: 0,
                borrowingLimitPercent: 0,
                limitResponse: { type: 'Reject' },
              },
            },
          } as never);
          await kube.create(FlowSchema, {
            metadata: { name: fs },
            spec: {
              priorityLevelConfiguration: { name: fs },
              matchingPrecedence: 50,
              distinguisherMethod: { type: 'ByUser' },
              rules: [
                {
                  subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: 'operator', namespace: ns } }],
                  resourceRules: [
                    { verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true },
                  ],
                  nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
                },
              ],
            },
          } as never);
          await waitFor(
            'the FlowSchema in effect',
            async () =>
              (
                (await kube.get(FlowSchema, undefined, fs)) as { status?: { conditions?: { type: string }[] } }
              ).status?.conditions?.some((c) => c.type === 'Dangling'),
            10_000,
            100,
          );
          releaseSeat = await holdSeat(kube, ns, identity.token, identity.ca);
        },
        // The operator's watch, opened before the limit, still delivers the scale; its writes get 429.
        changeDuring: 2,
        lift: async () => {
          releaseSeat?.();
          releaseSeat = undefined;
          await kube.delete(FlowSchema, undefined, fs);
          await kube.delete(PriorityLevel, undefined, fs);
        },
      });
      const throttled = await metric(url, 'tributary_operator_kube_request_failures_total', { code: '429' });
      expect(throttled).toBeGreaterThan(0);

      // ---- slow: each request held SLOW_MS by a proxy, under the request timeout. An answer is
      // the server working: the operator warns that it is slow, fails nothing, acts on the scale.
      // It is restarted to reach the apiserver through the proxy, as a rollout would.
      let slowMs = 0;
      proxy = await slowingProxy(kube.server, () => slowMs);
      const slowConfig = join(dir, 'kubeconfig-slow');
      await serviceAccountKubeconfig(kube, ns, 'operator', slowConfig, proxy.server);
      await op.stop();
      exited = undefined;
      op = startOperatorProcess({
        namespace: ns,
        defaultImage: DEFAULT_RUNTIME_IMAGE,
        logFile: join(dir, 'operator-slow.log'),
        env: { KUBECONFIG: slowConfig },
        args: [`--kube-request-timeout=${SLOW_TIMEOUT}`, `--kube-trouble-log-interval=${TROUBLE_LOG_INTERVAL_S}s`],
      });
      const slowUrl = await op.ready;
      void op.exited.then((e) => (exited = `${e.signal ?? `code ${e.code}`}`));
      const failuresBefore = await metric(slowUrl, 'tributary_operator_kube_request_failures_total');
      const slowOutBefore = reader.arrivals.length;
      const tSlow = Date.now();
      slowMs = SLOW_MS;
      await scaleJob(kube, ns, name, 1);
      const slowWarn = await waitFor(
        'slow: the operator warns that the apiserver is slow',
        () => logLines(op!).find((l) => l.time >= tSlow && l.level === 40 && l.msg.includes(' slow: ')),
        60_000,
        100,
      );
      await runningWith(kube, ns, name, 1);
      const slowActed = Date.now();
      const slowRequests =
        (await metric(slowUrl, 'tributary_operator_kube_request_duration_seconds_count')) -
        (await metric(slowUrl, 'tributary_operator_kube_request_duration_seconds_bucket', { le: '1' }));
      slowMs = 0;
      const slowLines = logLines(op).filter((l) => l.time >= tSlow && l.level >= 40);
      process.stderr.write(
        `[apiserver-faults] slow (each request held ${SLOW_MS} ms, timeout ${SLOW_TIMEOUT}): detect ` +
          `${((slowWarn.time - tSlow) / 1000).toFixed(1)} s; scale acted on → Running with 1 ` +
          `${((slowActed - tSlow) / 1000).toFixed(1)} s; requests over 1 s ${slowRequests}; output records meanwhile ` +
          `${reader.arrivals.length - slowOutBefore}; warn lines ${slowLines.length}: ${slowWarn.msg.slice(0, 200)}\n`,
      );
      expect(slowRequests).toBeGreaterThan(0);
      expect(await metric(slowUrl, 'tributary_operator_kube_request_failures_total')).toBe(failuresBefore);
      expect(slowLines.filter((l) => l.msg.includes('unavailable'))).toEqual([]);
      expect(reader.arrivals.length - slowOutBefore, 'slow: the job kept producing').toBeGreaterThan(0);
      expect(await metric(slowUrl, 'tributary_operator_kube_apiserver_available')).toBe(1);

      // ---- exactly-once across all three: the reference windows, each once (Kafka's Java consumer)
      await sleep(1500);
      const { n, want, check } = await finish();
      const { java, javaCheck } = await javaExactlyOnce(brokers, output, want);
      process.stderr.write(
        `[apiserver-faults] ${n} input records, ${want.length} reference windows; read_committed (Java) ${java.length}: missing ${javaCheck.missing.length}, duplicates ${javaCheck.dups}\n`,
      );
      expect(javaCheck).toEqual({ missing: [], unexpected: [], dups: 0, count: want.length });
      expect(check.dups).toBe(0);
      expect(exited).toBeUndefined();
    } finally {
      releaseSeat?.();
      if (frozen) signalApiserver(paths, 'SIGCONT');
      if (stopped || frozen) await startStoppedApiserver(paths);
      await kube.delete(FlowSchema, undefined, fs).catch(() => undefined);
      await kube.delete(PriorityLevel, undefined, fs).catch(() => undefined);
      await kube.delete(ClusterRoleBinding, undefined, fs).catch(() => undefined);
      if (op) {
        if (process.env.SJ_KEEP) process.stderr.write(`[apiserver-faults] operator log ${op.logFile}\n`);
        await op.stop();
      }
      await proxy?.close();
      if (!process.env.SJ_KEEP) rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);
});
