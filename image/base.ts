// The base image `npm run image` passes as BASE_IMAGE when no container registry can be
// reached: a Debian rootfs (mmdebstrap, `essential` variant plus libstdc++6, docs and
// locales left out) with the Node 24 binary of the `node` npm package (stripped of debug
// info when `strip` is there) at /usr/local/bin/node and the machine's npm at
// /usr/local/lib/node_modules/npm — the layout of the official node image, which the
// Dockerfile's deps stage relies on (`npm ci`).
//
// Cached by what is in it: the tag is `tributary-base:<suite>-node<version>-npm<version>`,
// and the rootfs tarball stays under ~/.cache/tributary/image-base (TRIBUTARY_IMAGE_BASE_CACHE),
// so a rebuild of our layers never assembles the base again, and a wiped store only re-imports
// it. A cold build (bench/container-start.ts) points both this and the store at empty folders.
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImageError } from './errors.ts';
import { imageExists, run, storeFlags, type StoreConfig } from './store.ts';

export const DEBIAN_SUITE = 'bookworm';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BaseInputs {
  nodeBinary: string;
  nodeVersion: string;
  npmDir: string;
  npmVersion: string;
}

/** The Node binary of the `node` npm package in this checkout and the machine's npm. */
export async function baseInputs(repoRoot: string): Promise<BaseInputs> {
  const link = join(repoRoot, 'node_modules', '.bin', 'node');
  if (!existsSync(link)) {
    throw new ImageError(
      'IMAGE_BASE_FAILED',
      `${link} not found: run npm ci first (the node package provides Node 24)`,
    );
  }
  const nodeBinary = realpathSync(link);
  const version = await run([nodeBinary, '--version']);
  const npmRoot = await run(['npm', 'root', '-g']);
  const npmVersion = await run(['npm', '--version']);
  const npmDir = join(npmRoot.stdout.trim(), 'npm');
  if (version.code !== 0 || npmRoot.code !== 0 || !existsSync(join(npmDir, 'bin', 'npm-cli.js'))) {
    throw new ImageError('IMAGE_BASE_FAILED', `cannot find Node (${nodeBinary}) or npm (${npmDir}) to put in the base`);
  }
  return {
    nodeBinary,
    nodeVersion: version.stdout.trim().replace(/^v/, ''),
    npmDir,
    npmVersion: npmVersion.stdout.trim(),
  };
}

/** Where the assembled rootfs tarballs are kept: TRIBUTARY_IMAGE_BASE_CACHE, default ~/.cache/tributary/image-base. */
export function baseCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['TRIBUTARY_IMAGE_BASE_CACHE'] || join(homedir(), '.cache', 'tributary', 'image-base');
}

export function baseTag(inputs: BaseInputs): string {
  return `localhost/tributary-base:${DEBIAN_SUITE}-node${inputs.nodeVersion}-npm${inputs.npmVersion}`;
}

/** Returns the base image's tag, assembling and importing it only when not cached. */
export async function ensureBase(
  inputs: BaseInputs,
  store: StoreConfig,
  log: (line: string) => void,
): Promise<{ tag: string; built: boolean }> {
  const tag = baseTag(inputs);
  if (await imageExists(tag, store)) return { tag, built: false };
  const cacheDir = baseCacheDir();
  await mkdir(cacheDir, { recursive: true });
  const tarball = join(cacheDir, `${tag.split(':')[1]}.tar`);
  if (!existsSync(tarball)) {
    log(`assembling the base ${tag} with mmdebstrap (Debian ${DEBIAN_SUITE}, Node ${inputs.nodeVersion})`);
    const work = join(cacheDir, `work-${process.pid}`);
    await mkdir(work, { recursive: true });
    try {
      const node = join(work, 'node');
      const strip = await run(['strip', '-o', node, inputs.nodeBinary]);
      if (strip.code !== 0) await run(['cp', inputs.nodeBinary, node]);
      const hook = (cmd: string) => `--customize-hook=${cmd}`;
      const partial = `${tarball}.partial`;
      const r = await run(
        [
          'mmdebstrap',
          '--variant=essential',
          // The output name ends in .partial (renamed when complete), from which mmdebstrap
          // would infer a directory: the format must be explicit.
          '--format=tar',
          '--include=libstdc++6',
          '--mode=root',
          '--quiet',
          ...['man', 'doc', 'locale', 'info'].map((d) => `--dpkgopt=path-exclude=/usr/share/${d}/*`),
          '--dpkgopt=path-include=/usr/share/doc/*/copyright',
          hook('mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules"'),
          hook(`cp ${resolve(node)} "$1/usr/local/bin/node"`),
          hook(`cp -a ${inputs.npmDir} "$1/usr/local/lib/node_modules/npm"`),
          hook('ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"'),
          hook('ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'),
          hook('rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*'),
          DEBIAN_SUITE,
          partial,
        ],
        { inherit: true },
      );
      if (r.code !== 0) throw new ImageError('IMAGE_BASE_FAILED', `mmdebstrap exited ${r.code} (output above)`);
      await rename(partial, tarball);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  log(`importing ${tarball} as ${tag}`);
  const imp = await run([
    'podman',
    ...storeFlags(store),
    'import',
    '--change',
    `ENV ${PATH_ENV}`,
    '--change',
    'CMD ["node"]',
    tarball,
    tag,
  ]);
  if (imp.code !== 0) throw new ImageError('IMAGE_BASE_FAILED', `podman import of ${tarball} failed: ${imp.stderr}`);
  return { tag, built: true };
}
