// The local container store shared by `npm run image` (buildah) and the cluster's node agent
// (podman): one storage root of our own, never the machine's /var/lib/containers, so other
// users of buildah/podman on the machine and ours never see each other's images or locks.
//
//   TRIBUTARY_CONTAINERS_ROOT    default ~/.cache/tributary/containers
//   TRIBUTARY_CONTAINERS_DRIVER  overlay (default) or vfs
//
// The run root (locks, container runtime state) sits beside the store unless that path is over
// podman's 50-character limit (any home longer than /root's: /home/alice/.cache/… is 56); then it
// is a short directory of ours under /tmp named after the store, so every process of a store still
// shares one. That directory is used only when this user owns it and no one else may write it.
//
// overlay is the default because vfs copies the whole image for every layer and every
// container (measured here: a container start 15-24 s on vfs vs 1.5 s on overlay, a full
// build 8 min vs 1 min); vfs is the fallback for kernels or filesystems without overlayfs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from './errors.ts';

export interface StoreConfig {
  root: string;
  driver: 'overlay' | 'vfs';
}

export function storeConfig(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  const root = env['TRIBUTARY_CONTAINERS_ROOT'] || join(homedir(), '.cache', 'tributary', 'containers');
  const driver = env['TRIBUTARY_CONTAINERS_DRIVER'] || 'overlay';
  if (driver !== 'overlay' && driver !== 'vfs') {
    throw new ImageError('IMAGE_BAD_ARGS', `TRIBUTARY_CONTAINERS_DRIVER must be overlay or vfs, not ${driver}`);
  }
  return { root, driver };
}

/** podman refuses a run root longer than this ("the specified runroot is longer than 50 characters"). */
export const MAX_RUNROOT_LENGTH = 50;

/** Where a store's run root is: beside it when the path fits podman's limit, else a short path under /tmp. */
export function runRootOf(cfg: StoreConfig): string {
  const beside = join(cfg.root, `run-${cfg.driver}`);
  if (beside.length <= MAX_RUNROOT_LENGTH) return beside;
  const id = createHash('sha256').update(cfg.root).digest('hex').slice(0, 12);
  return join('/tmp', `tributary-run-${id}-${cfg.driver}`);
}

/** Run roots under /tmp this process created or checked: storeFlags runs for every podman call. */
const checkedRunRoots = new Set<string>();

/**
 * Creates a run root under /tmp (mode 0700) or checks the one there: a directory, not a link, of
 * this user, that no one else may write. Anything else fails: another user's directory there could
 * hold the locks and state of the containers we run.
 */
function ensureOwnRunRoot(path: string): void {
  if (checkedRunRoots.has(path)) return;
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new ImageError(
      'IMAGE_STORE_FAILED',
      `container run root ${path}: not a directory of uid ${uid ?? '?'} that only it may write ` +
        `(uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it, or set TRIBUTARY_CONTAINERS_ROOT to a shorter path`,
    );
  }
  checkedRunRoots.add(path);
}

/** Global flags of buildah and podman that select our store. */
export function storeFlags(cfg: StoreConfig = storeConfig()): string[] {
  const runRoot = runRootOf(cfg);
  if (!runRoot.startsWith(cfg.root)) ensureOwnRunRoot(runRoot);
  return ['--root', join(cfg.root, `storage-${cfg.driver}`), '--runroot', runRoot, '--storage-driver', cfg.driver];
}

/**
 * Local images carry the `localhost/` domain (what buildah gives an unqualified tag); a
 * reference without a registry domain is looked up there, so the chart's
 * `tributary/runtime:0.1.0` finds what `npm run image` built.
 */
export function localImageRef(image: string): string {
  const ref = image.trim();
  const first = ref.split('/')[0] ?? '';
  const hasDomain = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const withTag = /:[^/]+$/.test(ref) || ref.includes('@') ? ref : `${ref}:latest`;
  return hasDomain ? withTag : `localhost/${withTag}`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, collecting its output; `inherit` streams it to ours instead. */
export function run(argv: string[], opts: { inherit?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file ?? '', args, {
      stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Whether `image` exists in our store (podman image exists). */
export async function imageExists(image: string, cfg: StoreConfig = storeConfig()): Promise<boolean> {
  const r = await run(['podman', ...storeFlags(cfg), 'image', 'exists', localImageRef(image)]);
  return r.code === 0;
}
