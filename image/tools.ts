// The Debian tools the daemonless build and the container mode need. Missing ones are
// installed with apt-get when we are root; otherwise the error says what to install.
import { ImageError } from './errors.ts';
import { run } from './store.ts';

/** Executable → Debian package. */
export const TOOLS: Record<string, string> = {
  buildah: 'buildah',
  podman: 'podman',
  runc: 'runc',
  mmdebstrap: 'mmdebstrap',
};

async function onPath(exe: string): Promise<boolean> {
  return (await run(['sh', '-c', `command -v ${exe} || test -x /usr/sbin/${exe}`])).code === 0;
}

export async function ensureTools(exes: string[], log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const exe of exes) if (!(await onPath(exe))) missing.push(exe);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((m) => TOOLS[m] ?? m))];
  const install = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new ImageError('IMAGE_MISSING_TOOL', `${missing.join(', ')} not found; install them as root: ${install}`);
  }
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of [
    ['apt-get', 'update', '-qq'],
    ['apt-get', 'install', '-y', '-qq', ...packages],
  ]) {
    const r = await run(argv, { env });
    if (r.code !== 0) {
      throw new ImageError('IMAGE_MISSING_TOOL', `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    }
  }
  for (const exe of missing) {
    if (!(await onPath(exe))) throw new ImageError('IMAGE_MISSING_TOOL', `${exe} still missing after: ${install}`);
  }
}
