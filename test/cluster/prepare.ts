// What `up` fetches and builds before any process starts, run as concurrent lanes. A cold
// machine spends its setup on Go compiles (CPU-bound: Kubernetes, kubectl, helm, promtool, versitygw),
// Maven and jar downloads (network-bound) and the images (mmdebstrap, then `npm ci` inside
// buildah): one after another they took the sum of all of them; side by side the Go lanes
// keep both cores busy (the linker is mostly single-threaded, module downloads wait on the
// network) and the downloads and the image build hide behind the compiles.
import { addons, buildLogOf, type Addon, type PrepareLane } from './addons.ts';
import { ensureEtcdBinary } from './components/etcd.ts';
import { ensureHelm } from './components/helm.ts';
import { ensureKubeBinaries } from './components/kube-binaries.ts';
import { ensureKubectl } from './components/kubectl.ts';
import { ensurePromtool } from './components/promtool.ts';
import { ensureNginx } from './components/registry-auth.ts';
import type { ClusterPaths } from './paths.ts';
import { buildImages, ensureContainerTools, ensureImageTools, missingImages, type PodRuntime } from './pod-runtime.ts';

export interface PrepareOptions {
  readonly addons: readonly Addon[];
  readonly podRuntime: PodRuntime;
  /** Rebuild the images even when they exist (the test setup: pods must run the checkout's code). */
  readonly rebuildImages: boolean;
  readonly log: (line: string) => void;
}

/**
 * Builds and downloads what is missing, each cached by version and renamed into place when
 * complete (so a lane that fails or is interrupted leaves nothing that looks done). Every lane
 * runs to its end even when another fails, so no build is left half-way in the background;
 * then the first failure is thrown.
 */
export async function prepare(paths: ClusterPaths, o: PrepareOptions): Promise<void> {
  const buildLog = buildLogOf(paths);
  // Installs by apt-get come first, one at a time: concurrent apt-gets fail on dpkg's lock.
  ensureEtcdBinary(`(log: ${buildLog})`);
  if (o.podRuntime === 'podman') await ensureContainerTools(o.log);
  const buildsImages = o.podRuntime === 'podman' && (o.rebuildImages || (await missingImages()).length > 0);
  if (buildsImages) await ensureImageTools(o.log);
  if (o.addons.includes('registry')) ensureNginx();
  const inLane = (lane: PrepareLane) => o.addons.filter((a) => addons[a].prepareLane === lane);
  const lanes: Record<string, () => Promise<unknown>> = {
    // kubectl comes out of the apiserver's build (build-kube.sh); ensureKubectl puts it in its folder.
    kubernetes: async () => {
      await ensureKubeBinaries(paths.kubeBin, buildLog);
      await ensureKubectl();
    },
    // The other Go builds: helm (client-go 0.34), promtool (the alert rules' tests) and versitygw
    // share no package with Kubernetes 1.36.
    'helm+go addons': async () => {
      await ensureHelm();
      await ensurePromtool();
      for (const a of inLane('go')) await addons[a].prepare(paths, buildLog);
    },
    // One Maven at a time: Maven 3.8 does not lock its local repository.
    maven: async () => {
      for (const a of inLane('maven')) await addons[a].prepare(paths, buildLog);
    },
    downloads: () => Promise.all(inLane('download').map((a) => addons[a].prepare(paths, buildLog))),
    images: async () => {
      if (buildsImages) await buildImages({ always: o.rebuildImages, log: o.log });
    },
  };
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const results = await Promise.allSettled(
    Object.entries(lanes).map(async ([name, run]) => {
      await run();
      o.log(`prepared ${name} at ${secs()}s`);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  o.log(`builds and downloads done in ${secs()}s (log: ${buildLog})`);
}
