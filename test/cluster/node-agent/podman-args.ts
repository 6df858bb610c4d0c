// Container mode, the pure part: a pod's container spec → the `podman run` command line that
// runs it as a real OCI container (runc, host network so the process binds its own loopback
// pod IP, volumes as bind mounts at their mountPaths). What the kubelet would refuse before
// creating anything (runAsNonRoot for a root image, an env value podman cannot carry) throws.
import type { Container, Pod } from './kube-types.ts';
import { NodeAgentError } from './errors.ts';
import { parseQuantity } from './quantity.ts';

export interface BindMount {
  host: string;
  mountPath: string;
  readOnly: boolean;
}

/** Label naming the pod folder a container belongs to (under the agent's --pods-dir). */
export const POD_DIR_LABEL = 'dev.tributary.pod-dir';

export interface PodmanRunInput {
  pod: Pod;
  container: Container;
  /** The local image reference (`localhost/...`) and its configured user (`USER`). */
  image: string;
  imageUser: string;
  name: string;
  /** Fully resolved `command` + `args` overrides (after `$(VAR)` expansion), if any. */
  command: string[] | undefined;
  args: string[] | undefined;
  envFile: string;
  mounts: BindMount[];
  hostname: string;
  /** The pod's folder: labelled on the container, so the cluster finds the containers of an agent that died. */
  podDir: string;
  /** Global podman flags (store). */
  storeFlags: string[];
  /** Per-container ulimits: runc cannot keep the agent's own here (see README). */
  nofile: number;
  nproc: number;
}

/** The user the container runs as: the securityContext's, else the pod's, else the image's. */
export function effectiveUser(pod: Pod, c: Container, imageUser: string): { uid: string; gid: string | undefined } {
  const uid = c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid = c.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup;
  if (uid !== undefined) return { uid: String(uid), gid: gid === undefined ? undefined : String(gid) };
  const [u = '', g] = imageUser.split(':');
  return { uid: u === '' ? '0' : u, gid: gid === undefined ? g : String(gid) };
}

/**
 * The kubelet's runAsNonRoot check: a numeric non-zero uid is required, since a user name
 * cannot be verified without the image's /etc/passwd (the kubelet refuses the same way).
 */
export function checkRunAsNonRoot(pod: Pod, c: Container, imageUser: string, image: string): void {
  const nonRoot = c.securityContext?.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot;
  if (!nonRoot) return;
  const { uid } = effectiveUser(pod, c, imageUser);
  if (!/^\d+$/.test(uid)) {
    throw new NodeAgentError(
      'NODE_AGENT_SECURITY',
      `container has runAsNonRoot and image ${image} has non-numeric user (${uid}), cannot verify user is non-root`,
    );
  }
  if (uid === '0')
    throw new NodeAgentError('NODE_AGENT_SECURITY', `container has runAsNonRoot and image ${image} will run as root`);
}

export function podmanRunArgv(x: PodmanRunInput): [string, ...string[]] {
  const { pod, container: c } = x;
  const sc = c.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  const argv: string[] = [
    ...x.storeFlags,
    '--runtime',
    'runc',
    '--cgroup-manager',
    'cgroupfs',
    'run',
    '--name',
    x.name,
    '--pull',
    'never',
    '--network',
    'host',
    '--hostname',
    x.hostname,
    '--ulimit',
    `nofile=${x.nofile}:${x.nofile}`,
    '--ulimit',
    `nproc=${x.nproc}:${x.nproc}`,
    '--env-file',
    x.envFile,
    '--label',
    `io.kubernetes.pod.uid=${pod.metadata?.uid ?? ''}`,
    '--label',
    `io.kubernetes.container.name=${c.name}`,
    '--label',
    `${POD_DIR_LABEL}=${x.podDir}`,
    '--stop-timeout',
    '0',
  ];
  const { uid, gid } = effectiveUser(pod, c, x.imageUser);
  argv.push('--user', gid === undefined ? uid : `${uid}:${gid}`);
  if (psc.fsGroup !== undefined) argv.push('--group-add', String(psc.fsGroup));
  for (const g of psc.supplementalGroups ?? []) argv.push('--group-add', String(g));
  if (sc.readOnlyRootFilesystem) argv.push('--read-only', '--read-only-tmpfs=false');
  if (sc.privileged) argv.push('--privileged');
  for (const cap of sc.capabilities?.drop ?? []) argv.push('--cap-drop', cap.toUpperCase());
  for (const cap of sc.capabilities?.add ?? []) argv.push('--cap-add', cap.toUpperCase());
  if (sc.allowPrivilegeEscalation === false) argv.push('--security-opt', 'no-new-privileges');
  const limits = c.resources?.limits ?? {};
  if (limits['memory'] !== undefined) argv.push('--memory', String(Math.floor(parseQuantity(limits['memory']))));
  if (limits['cpu'] !== undefined) argv.push('--cpus', String(parseQuantity(limits['cpu'])));
  for (const m of x.mounts) argv.push('--volume', `${m.host}:${m.mountPath}${m.readOnly ? ':ro' : ''}`);
  if (c.workingDir) argv.push('--workdir', c.workingDir);
  // Kubernetes semantics: `command` replaces ENTRYPOINT (and drops CMD unless args are given).
  // An --entrypoint also clears the image's CMD, as `command` without `args` does.
  if (x.command !== undefined && x.command.length > 0) argv.push('--entrypoint', JSON.stringify(x.command));
  argv.push(x.image, ...(x.args ?? []));
  return ['podman', ...argv];
}

/** `KEY=value` lines for `--env-file`; a value with a newline cannot be carried. */
export function envFileContent(env: Record<string, string>, container: string): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (v.includes('\n')) {
        throw new NodeAgentError(
          'NODE_AGENT_ENV',
          `container ${container}: env ${k} has a newline, which container mode cannot pass`,
        );
      }
      return `${k}=${v}\n`;
    })
    .join('');
}
