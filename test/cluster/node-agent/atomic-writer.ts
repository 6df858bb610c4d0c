// Writes a set of files into a volume folder the way the kubelet's AtomicWriter does, so that
// a reader never sees a half-updated ConfigMap/Secret/token: the payload goes into a fresh
// hidden `..<timestamp>` folder, the `..data` symlink is swapped to it with a rename (atomic),
// and every visible top-level entry is a symlink through `..data`. Unchanged payloads are not
// rewritten.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { NodeAgentError } from './errors.ts';

export interface PayloadFile {
  data: Buffer | string;
  mode: number;
}

export type Payload = Map<string, PayloadFile>;

function checkRelative(path: string): string {
  const p = normalize(path);
  if (p.startsWith('/') || p === '..' || p.startsWith('../') || p.startsWith('..')) {
    throw new NodeAgentError(
      'NODE_AGENT_VOLUME_CONTENT',
      `invalid volume file path ${JSON.stringify(path)}: must be relative, without '..'`,
    );
  }
  return p;
}

async function currentMatches(dir: string, payload: Payload): Promise<boolean> {
  let target: string;
  try {
    target = await readlink(join(dir, '..data'));
  } catch {
    return false;
  }
  for (const [path, file] of payload) {
    try {
      const existing = await readFile(join(dir, target, path));
      if (!existing.equals(Buffer.from(file.data))) return false;
    } catch {
      return false;
    }
  }
  // Same files, but the set may have shrunk: compare top-level names.
  const tops = new Set([...payload.keys()].map((p) => p.split('/')[0]));
  const visible = (await readdir(dir)).filter((n) => !n.startsWith('..'));
  return visible.length === tops.size && visible.every((n) => tops.has(n));
}

/** Returns true when the folder changed. */
export async function writeAtomically(dir: string, payload: Payload): Promise<boolean> {
  const files = new Map([...payload].map(([p, f]) => [checkRelative(p), f]));
  await mkdir(dir, { recursive: true });
  if (await currentMatches(dir, files)) return false;

  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const staging = join(dir, stamp);
  await mkdir(staging, { recursive: true });
  for (const [path, file] of files) {
    const target = join(staging, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.data);
    await chmod(target, file.mode & 0o777);
  }

  let previous: string | undefined;
  try {
    previous = await readlink(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  const tmpLink = join(dir, '..data_tmp');
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(dir, '..data'));

  const tops = new Set([...files.keys()].map((p) => p.split('/')[0] ?? p));
  for (const name of await readdir(dir)) {
    if (name.startsWith('..')) continue;
    if (!tops.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
  for (const top of tops) {
    const link = join(dir, top);
    try {
      if ((await readlink(link)) === join('..data', top)) continue;
    } catch {
      // absent or not a symlink
    }
    await rm(link, { recursive: true, force: true });
    await symlink(join('..data', top), link);
  }
  if (previous !== undefined && previous !== stamp) await rm(join(dir, previous), { recursive: true, force: true });
  return true;
}
