// Container mode's launch: an image present in our container store (npm run image) runs as a
// podman container; the agent's own process env (PATH, HOME, TMPDIR, TRIBUTARY_POD_ROOT) is
// not passed in — the container gets its image's env, the Kubernetes env and its mounts at
// their real paths, as under a kubelet.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { storeFlags } from '../../../image/store.ts';
import type { PreparedContainer } from './container-runner.ts';
import type { EnvMap } from './env.ts';
import { expandArgs } from './env.ts';
import { NodeAgentError } from './errors.ts';
import type { Container, Pod } from './kube-types.ts';
import { checkRunAsNonRoot, envFileContent, podmanRunArgv, type BindMount } from './podman-args.ts';
import { finishContainer, type ImageInfo } from './podman.ts';
import type { PodVolumes } from './volumes.ts';

/** runc sets these rlimits itself; the agent's own hard NPROC cannot be raised to here. */
const NOFILE = 16384;
const NPROC = 4096;

/** Images the process mode maps to this checkout: in container mode they must be built. */
export function mustBeBuilt(image: string): boolean {
  return /(^|\/)tributary\/(runtime|operator)(:|@|$)/.test(image);
}

export function imageNotPresent(image: string, pullPolicy: string | undefined): NodeAgentError {
  const how =
    pullPolicy === 'Never'
      ? `Container image "${image}" is not present with pull policy of Never`
      : `Back-off pulling image "${image}": not in the local container store and this cluster pulls nothing`;
  return new NodeAgentError('NODE_AGENT_IMAGE_NOT_PRESENT', `${how}; build it with npm run image`);
}

export async function preparePodman(
  c: Container,
  x: { pod: () => Pod; podDir: string; podRoot: string; volumes: PodVolumes; logFile: string },
  image: ImageInfo,
  k8sEnv: EnvMap,
): Promise<PreparedContainer> {
  const pod = x.pod();
  checkRunAsNonRoot(pod, c, image.user, c.image ?? image.ref);
  const mounts = [...(await x.volumes.bindMounts(c)), await terminationLog(c, x.podRoot)];
  const uid = pod.metadata?.uid ?? '';
  const name = `k8s_${c.name}_${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}_${uid.slice(0, 8)}_${randomBytes(3).toString('hex')}`;
  const envFile = join(x.podDir, 'containers', `${c.name}.env`);
  await mkdir(join(x.podDir, 'containers'), { recursive: true });
  await writeFile(envFile, envFileContent(k8sEnv, c.name), { mode: 0o600 });
  const argv = podmanRunArgv({
    pod,
    container: c,
    image: image.ref,
    imageUser: image.user,
    name,
    command: c.command ? expandArgs(c.command, k8sEnv) : undefined,
    args: c.args ? expandArgs(c.args, k8sEnv) : undefined,
    envFile,
    mounts,
    hostname: pod.spec?.hostname ?? pod.metadata?.name ?? '',
    podDir: x.podDir,
    storeFlags: storeFlags(),
    nofile: NOFILE,
    nproc: NPROC,
  });
  return {
    argv,
    env: { ...(process.env as Record<string, string>) },
    cwd: x.podDir,
    podRoot: x.podRoot,
    finish: (exit) => finishContainer(name, exit, () => tail(x.logFile)),
  };
}

/**
 * The termination message file, bind-mounted as the kubelet does: a fresh empty host file at
 * `terminationMessagePath` (default /dev/termination-log), writable by whatever user the
 * container runs as (even on a read-only root). The agent reads it under the pod root after
 * the container ends, as in process mode.
 */
async function terminationLog(c: Container, podRoot: string): Promise<BindMount> {
  const mountPath = c.terminationMessagePath || '/dev/termination-log';
  const host = join(podRoot, mountPath);
  await mkdir(dirname(host), { recursive: true });
  await writeFile(host, '');
  await chmod(host, 0o666);
  return { host, mountPath, readOnly: false };
}

async function tail(file: string): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 4096);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
