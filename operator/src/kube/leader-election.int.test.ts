import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { ErrorCodes, OperatorError } from './errors.ts';
import { LeaderElector, type ElectionOutcome, type Lease } from './leader-election.ts';
import { Manager } from './manager.ts';
import { Resources, type KubeObject } from './api-resources.ts';
import { createNamespace, deleteNamespace, newClient, waitFor } from './testing/cluster.ts';

interface Candidate {
  elector: LeaderElector;
  abort: AbortController;
  result: Promise<ElectionOutcome>;
  log: string[];
}

describe('leader election on a coordination.k8s.io/v1 Lease', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = await newClient();
    ns = await createNamespace(client, 'kube-leader');
  });

  afterAll(async () => {
    await deleteNamespace(client, ns);
    await client.close();
  });

  function candidate(
    lease: string,
    identity: string,
    opts: {
      leaseDurationMs?: number;
      renewDeadlineMs?: number;
      retryPeriodMs?: number;
      releaseOnCancel?: boolean;
    } = {},
  ): Candidate {
    const log: string[] = [];
    const abort = new AbortController();
    const elector = new LeaderElector({
      client,
      namespace: ns,
      name: lease,
      identity,
      ...opts,
      onStartedLeading: (signal) => {
        log.push('started');
        signal.addEventListener('abort', () => log.push('leading-signal-aborted'));
      },
      onStoppedLeading: () => {
        log.push('stopped');
      },
    });
    return { elector, abort, result: elector.run(abort.signal), log };
  }

  it('with two candidates one leads; when it releases, the other takes over within the lease duration', async () => {
    const a = candidate('pair', 'a');
    await waitFor('a leads', () => a.elector.isLeader());
    const b = candidate('pair', 'b');
    await new Promise((r) => setTimeout(r, 3000));
    expect(b.elector.isLeader()).toBe(false);
    const lease = await client.get<Lease>(Resources.Lease, ns, 'pair');
    expect(lease.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const t0 = Date.now();
    a.abort.abort();
    expect(await a.result).toBe('released');
    expect(a.log).toEqual(['started', 'leading-signal-aborted', 'stopped']);
    await waitFor('b leads', () => b.elector.isLeader(), 15_000);
    // A released lease is taken at the next retry (≈2–4.4 s), far sooner than its 15 s duration.
    expect(Date.now() - t0).toBeLessThan(15_000);
    const after = await client.get<Lease>(Resources.Lease, ns, 'pair');
    expect(after.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    b.abort.abort();
    expect(await b.result).toBe('released');
  });

  it('a leader that dies without releasing is replaced only after the lease duration', async () => {
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
    const a = candidate('crash', 'a', { ...timing, releaseOnCancel: false });
    await waitFor('a leads', () => a.elector.isLeader());
    const b = candidate('crash', 'b', timing);
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    a.abort.abort(); // stops renewing, keeps the lease: a crash as others see it
    expect(await a.result).toBe('cancelled');
    await waitFor('b leads', () => b.elector.isLeader(), 10_000);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(8000);
    b.abort.abort();
    await b.result;
  });

  it('a leader whose lease is taken stops leading (onStoppedLeading, signal aborted, outcome lost)', async () => {
    const a = candidate('stolen', 'a', { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 });
    await waitFor('a leads', () => a.elector.isLeader());
    const lease = await client.get<Lease>(Resources.Lease, ns, 'stolen');
    await client.replace(Resources.Lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: new Date().toISOString().replace('Z', '000Z') },
    });
    expect(await a.result).toBe('lost');
    expect(a.log).toEqual(['started', 'leading-signal-aborted', 'stopped']);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('a Manager reconciles only while leading, and its run() fails with OPERATOR_LEADERSHIP_LOST when the lease is lost', async () => {
    const manager = new Manager({
      client,
      registry: createRegistry(),
      leaderElection: {
        namespace: ns,
        name: 'manager',
        identity: 'm1',
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      },
      shutdownTimeoutMs: 5000,
    });
    const cms = manager.informer<KubeObject>(Resources.ConfigMap, { namespace: ns, labelSelector: 'le=yes' });
    expect(manager.informer(Resources.ConfigMap, { namespace: ns, labelSelector: 'le=yes' })).toBe(cms);
    const seen: string[] = [];
    const controller = manager.addController({
      name: 'le-toy',
      for: cms,
      reconcile: async (req) => void seen.push(req.name),
    });
    const run = manager.run();
    await waitFor('leading and reconciling', () => manager.isLeader() && controller.started);
    await client.create(Resources.ConfigMap, { metadata: { name: 'one', namespace: ns, labels: { le: 'yes' } } });
    await waitFor('reconciled one', () => seen.includes('one'));
    expect(manager.ready()).toBe(true);

    const lease = await client.get<Lease>(Resources.Lease, ns, 'manager');
    await client.replace(Resources.Lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: new Date().toISOString().replace('Z', '000Z') },
    });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe(ErrorCodes.LEADERSHIP_LOST);
    expect(controller.queue.shuttingDown()).toBe(true);
    await client.create(Resources.ConfigMap, { metadata: { name: 'two', namespace: ns, labels: { le: 'yes' } } });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).not.toContain('two');
  });

  it('a deposed Manager stops within the lease margin, not the shutdown deadline, and says who took the lease', async () => {
    const manager = new Manager({
      client,
      registry: createRegistry(),
      leaderElection: {
        namespace: ns,
        name: 'deposed',
        identity: 'd1',
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      },
      shutdownTimeoutMs: 60_000,
    });
    const cms = manager.informer<KubeObject>(Resources.ConfigMap, { namespace: ns, labelSelector: 'le=deposed' });
    let stuck = false;
    // A reconcile that ignores its abort signal: only the drain deadline ends the wait for it.
    manager.addController({
      name: 'le-stuck',
      for: cms,
      reconcile: () => {
        stuck = true;
        return new Promise<void>(() => undefined);
      },
    });
    const run = manager.run();
    await waitFor('leading', () => manager.isLeader());
    await client.create(Resources.ConfigMap, { metadata: { name: 'hang', namespace: ns, labels: { le: 'deposed' } } });
    await waitFor('a reconcile hangs', () => stuck);
    const lease = await client.get<Lease>(Resources.Lease, ns, 'deposed');
    await client.replace(Resources.Lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'usurper', renewTime: new Date().toISOString().replace('Z', '000Z') },
    });
    // The margin is leaseDuration − renewDeadline = 1 s; the shutdown deadline (60 s) would outlast the test.
    const err = await Promise.race([
      run.then(
        () => undefined,
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r('still draining'), 10_000)),
    ]);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe(ErrorCodes.LEADERSHIP_LOST);
    expect((err as OperatorError).message).toContain(
      `lost the leader Lease ${ns}/deposed: another operator (usurper) holds it`,
    );
  });

  it('a Manager stops gracefully on request: drains, releases the lease, stops its informers', async () => {
    const manager = new Manager({
      client,
      registry: createRegistry(),
      leaderElection: { namespace: ns, name: 'graceful', identity: 'm2' },
    });
    const cms = manager.informer<KubeObject>(Resources.ConfigMap, { namespace: ns, labelSelector: 'graceful=yes' });
    let inFlight = 0;
    let finished = 0;
    const controller = manager.addController({
      name: 'graceful',
      for: cms,
      reconcile: async () => {
        inFlight++;
        await new Promise((r) => setTimeout(r, 500));
        inFlight--;
        finished++;
      },
    });
    const run = manager.run();
    await waitFor('started', () => controller.started && manager.isLeader());
    await client.create(Resources.ConfigMap, {
      metadata: { name: 'slow', namespace: ns, labels: { graceful: 'yes' } },
    });
    await waitFor('in flight', () => inFlight === 1, 10_000, 5);
    manager.stop();
    await run;
    expect(inFlight).toBe(0);
    expect(finished).toBe(1);
    const lease = await client.get<Lease>(Resources.Lease, ns, 'graceful');
    expect(lease.spec?.holderIdentity).toBe('');
  });
});
