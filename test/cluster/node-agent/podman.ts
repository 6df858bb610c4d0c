// Container mode, the I/O part: what podman knows about an image before a container starts,
// and what it knows after one ends (exit code, OOM kill), then the container's removal, so
// nothing is left behind whatever way the container ended.
//
// The container runs attached (`podman run` without -d) as the runner's process: its output
// goes to the container's log file and SIGTERM to that process is forwarded to the
// container's PID 1 (podman's sig-proxy). A SIGKILL of the podman process would leave the
// container running, hence `finish` always ends with `podman rm --force --time 0`.
import { localImageRef, run, storeFlags } from '../../../image/store.ts';
import { NodeAgentError } from './errors.ts';

/** TRIBUTARY_NODE_AGENT_RUNTIME: `process` (default) or `podman`. */
export function runtimeMode(env: NodeJS.ProcessEnv = process.env): 'process' | 'podman' {
  const mode = env['TRIBUTARY_NODE_AGENT_RUNTIME'] || 'process';
  if (mode !== 'process' && mode !== 'podman') {
    throw new NodeAgentError('NODE_AGENT_ARGS', `TRIBUTARY_NODE_AGENT_RUNTIME must be process or podman, not ${mode}`);
  }
  return mode;
}

export interface ImageInfo {
  ref: string;
  user: string;
}

/** The image in our store, or undefined when it is not there (never pulled: no registry). */
export async function inspectImage(image: string): Promise<ImageInfo | undefined> {
  const ref = localImageRef(image);
  const r = await run(['podman', ...storeFlags(), 'image', 'inspect', '--format', '{{.Config.User}}', ref]);
  return r.code === 0 ? { ref, user: r.stdout.trim() } : undefined;
}

export interface ContainerEnd {
  oomKilled: boolean;
  /** podman could not create or start the container (exit 125-127 before it ran). */
  createError: string | undefined;
}

/** Reads how the container ended, then removes it. */
export async function finishContainer(
  name: string,
  podmanExit: number,
  logTail: () => Promise<string>,
): Promise<ContainerEnd> {
  const flags = storeFlags();
  const inspect = await run(['podman', ...flags, 'inspect', '--format', '{{.Id}} {{.State.StartedAt}}', name]);
  const [id = '', startedAt = ''] = inspect.stdout.trim().split(' ');
  await run(['podman', ...flags, 'rm', '--force', '--time', '0', name]);
  const neverStarted = inspect.code !== 0 || startedAt.startsWith('0001-01-01');
  if (podmanExit >= 125 && podmanExit <= 127 && neverStarted) {
    const tail = (await logTail()).trim().split('\n').filter(Boolean).pop() ?? `podman exited ${podmanExit}`;
    return { oomKilled: false, createError: tail.replace(/^Error: /, '') };
  }
  // conmon does not see cgroup v1 OOM kills (podman's State.OOMKilled stays false here);
  // the kernel's log names the killed task's memory cgroup, which carries the container id.
  let oomKilled = false;
  if (podmanExit === 137 && id) {
    const dmesg = await run(['dmesg']);
    oomKilled = dmesg.stdout.split('\n').some((l) => l.includes('oom-kill') && l.includes(`libpod-${id}`));
  }
  return { oomKilled, createError: undefined };
}
