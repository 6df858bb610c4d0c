// How the local cluster's node agent runs pods: `podman` (the default: real OCI containers of
// the images `npm run image` builds, as a kubelet would run them) or `process` (each container
// a local process running the checkout's TypeScript; the fast inner loop, opt-in).
//
//   TRIBUTARY_NODE_AGENT_RUNTIME=process npm run cluster -- up     (process mode)
//
// The mode is the cluster's, fixed when it starts and kept in its state file: a running
// cluster is reused in the mode it has, whatever the environment of a later `up` says.
import { imageExists, run, storeFlags } from '../../image/store.ts';
import { ensureTools } from '../../image/tools.ts';
import { POD_DIR_LABEL } from './node-agent/podman-args.ts';
import { imageName, packageVersion, REPO_ROOT, TARGETS } from '../../image/build.ts';
import { ClusterError } from './errors.ts';

export type PodRuntime = 'podman' | 'process';

/** The mode a cluster started now gets: TRIBUTARY_NODE_AGENT_RUNTIME, else podman. */
export function requestedPodRuntime(env: NodeJS.ProcessEnv = process.env): PodRuntime {
  const mode = env['TRIBUTARY_NODE_AGENT_RUNTIME'] || 'podman';
  if (mode !== 'podman' && mode !== 'process') {
    throw new ClusterError(
      'CLUSTER_BAD_ARGS',
      'node-agent',
      `TRIBUTARY_NODE_AGENT_RUNTIME must be podman (containers, the default) or process, not ${mode}`,
    );
  }
  return mode;
}

/** The images the chart and the operator name by default (tag = the package version). */
export function defaultImages(): string[] {
  const version = packageVersion();
  return TARGETS.map((t) => imageName(t, version));
}

/**
 * The host tools a container-mode node agent runs pods with: podman, and runc as its OCI runtime
 * (podman-args.ts passes `--runtime runc`; Debian's podman brings crun, not runc, so a fresh
 * machine has podman and no runc). Installed with apt-get as root, else an error naming them.
 */
export async function ensureContainerTools(log: (line: string) => void): Promise<void> {
  await ensureTools(['podman', 'runc'], log);
}

/**
 * The tools `npm run image` builds with (buildah, mmdebstrap for the base), installed before
 * anything else runs: an apt-get inside the image build, beside the other builds, could meet
 * another apt-get holding dpkg's lock.
 */
export async function ensureImageTools(log: (line: string) => void): Promise<void> {
  await ensureTools(['buildah', 'podman', 'mmdebstrap'], log);
}

/** The default images not in the local store. */
export async function missingImages(): Promise<string[]> {
  const missing: string[] = [];
  for (const image of defaultImages()) if (!(await imageExists(image))) missing.push(image);
  return missing;
}

/**
 * Builds the images with `npm run image` (buildah; its output streams to ours) when `always`,
 * or when one of them is not in the local store. The build is what the pods of a container
 * mode cluster run: after a change to the code, the images must be rebuilt for pods to see it.
 */
export async function buildImages(o: { always: boolean; log: (line: string) => void }): Promise<void> {
  if (!o.always) {
    const missing = await missingImages();
    if (missing.length === 0) return;
    o.log(`building ${missing.join(', ')} (npm run image): pods run as containers of these images`);
  }
  const r = await run([process.execPath, `${REPO_ROOT}/image/build.ts`], { inherit: true });
  if (r.code !== 0) {
    throw new ClusterError(
      'CLUSTER_BUILD_FAILED',
      'node-agent',
      `npm run image exited ${r.code} (output above); pods cannot run as containers without the images. ` +
        'Fix the build, or start the cluster in process mode: TRIBUTARY_NODE_AGENT_RUNTIME=process',
    );
  }
}

/**
 * A container whose agent was SIGKILLed outlives it (conmon keeps it): remove the containers
 * labelled with a pod folder of this cluster. Other clusters' containers share the store and
 * are left alone.
 */
export async function removeOrphanContainers(podsDir: string): Promise<void> {
  const ps = await run([
    'podman',
    ...storeFlags(),
    'ps',
    '--all',
    '--format',
    `{{.Names}}\t{{index .Labels "${POD_DIR_LABEL}"}}`,
  ]);
  if (ps.code !== 0) return; // no store yet, or podman missing: nothing of ours can be running
  const ours = ps.stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter(([name, dir]) => name && dir?.startsWith(`${podsDir}/`))
    .map(([name]) => name!);
  if (ours.length > 0) await run(['podman', ...storeFlags(), 'rm', '--force', '--time', '0', ...ours]);
}
