// The operator's StreamJob and DruidDatasource controllers running in this process against the
// real kube-apiserver, watching one new Pod Security "restricted" namespace; slot pods run the
// TEST-ONLY stand-in runtime. `stop()` removes what the tests left (finalizers first, so the
// namespace can go even with the controllers stopped).
import { join } from 'node:path';
import { Manager, Resources, type KubeClient, type KubeObject } from '../../operator/src/kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import { createRegistry } from '../../operator/src/telemetry/metrics.ts';
import { addStreamJobController } from '../../operator/src/controllers/streamjob/controller.ts';
import { addDruidDatasourceController } from '../../operator/src/controllers/druiddatasource/controller.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { DruidDatasources } from '../../operator/src/controllers/druiddatasource/resource.ts';
import { repoRoot } from '../cluster/paths.ts';

const fake = join(repoRoot, 'operator/src/controllers/streamjob/testing/fake-runtime.ts');

export interface InProcessOperator {
  readonly kube: KubeClient;
  readonly ns: string;
  /** What the manager failed with, if it did. */
  failure(): unknown;
  stop(): Promise<void>;
}

export async function startOperatorInProcess(nsPrefix: string, o: { druidPollMs: number }): Promise<InProcessOperator> {
  const kube = await newClient();
  await applyRepoCrd(kube, 'streamjobs.tributary.dev');
  await applyRepoCrd(kube, 'druiddatasources.tributary.dev');
  await waitFor('the CRDs', async () => (await kube.list(StreamJobs), await kube.list(DruidDatasources), true), 30_000);
  const ns = `${nsPrefix}-${suffix()}`;
  await kube.create(Resources.Namespace, {
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  });
  const mgr = new Manager({ client: kube, registry: createRegistry(), shutdownTimeoutMs: 2_000 });
  const closers = [
    addStreamJobController(mgr, { namespace: ns, defaultImage: 'tributary/node:test', containerArgs: [fake] }).close,
    addDruidDatasourceController(mgr, { namespace: ns, pollIntervalMs: o.druidPollMs }).close,
  ];
  let failed: unknown;
  const running = mgr.run().catch((err: unknown) => {
    failed = err;
  });
  return {
    kube,
    ns,
    failure: () => failed,
    async stop() {
      mgr.stop();
      await running;
      for (const c of closers) await c();
      for (const rt of [StreamJobs, DruidDatasources])
        for (const obj of (await kube.list(rt, ns).catch(() => ({ items: [] as KubeObject[] }))).items)
          await kube.patch(rt, ns, obj.metadata?.name ?? '', { metadata: { finalizers: null } }).catch(() => undefined);
      await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    },
  };
}
