#!/usr/bin/env node
// `npm run image`: builds the repository's Dockerfile without a Docker daemon (buildah,
// chroot isolation, our own store — image/store.ts) into two local images over the same
// layers, `tributary/operator:<version>` and `tributary/runtime:<version>` (version = the
// package version, what the chart and the operator name by default). Unless `--base <image>`
// names a base to use, it first assembles one (image/base.ts) and passes it as BASE_IMAGE,
// since no container registry may be reachable. Prints each step's time and the image size.
//
//   npm run image [-- --base docker.io/library/node:24-bookworm-slim] [--prefix tributary]
//   npm run -s image -- --store-flags    (prints the store's buildah/podman flags, builds nothing)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baseInputs, ensureBase } from './base.ts';
import { ImageError } from './errors.ts';
import { run, storeConfig, storeFlags } from './store.ts';
import { ensureTools } from './tools.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGETS = ['operator', 'runtime'] as const;

export function packageVersion(repoRoot: string = REPO_ROOT): string {
  return (JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The image each target is tagged as. */
export function imageName(target: (typeof TARGETS)[number], version: string, prefix = 'tributary'): string {
  return `${prefix}/${target}:${version}`;
}

/** A CA bundle for npm inside the build when this machine's npm trusts an extra CA. */
async function npmCaFile(): Promise<string | undefined> {
  const fromEnv = process.env['NODE_EXTRA_CA_CERTS'];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const r = await run(['npm', 'config', 'get', 'cafile']);
  const file = r.stdout.trim();
  return r.code === 0 && file && file !== 'null' && existsSync(file) ? file : undefined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { base: { type: 'string' }, prefix: { type: 'string', default: 'tributary' } },
  });
  const log = (line: string) => process.stdout.write(`[image] ${line}\n`);
  const started = Date.now();
  const secs = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;
  const store = storeConfig();
  await ensureTools(values.base ? ['buildah', 'podman'] : ['buildah', 'podman', 'mmdebstrap'], log);
  let base = values.base;
  if (!base) {
    const t = Date.now();
    const ensured = await ensureBase(await baseInputs(REPO_ROOT), store, log);
    base = ensured.tag;
    log(`base ${base} ${ensured.built ? 'imported' : 'cached'} (${secs(t)})`);
  }
  const version = packageVersion();
  const revision = (await run(['git', '-C', REPO_ROOT, 'rev-parse', 'HEAD'])).stdout.trim() || 'unknown';
  const ca = await npmCaFile();
  for (const target of TARGETS) {
    const t = Date.now();
    const name = imageName(target, version, values.prefix);
    const r = await run(
      [
        'buildah',
        ...storeFlags(store),
        'build',
        '--isolation',
        'chroot',
        '--layers',
        ...(values.base ? [] : ['--pull-never']),
        ...(ca ? ['--secret', `id=npm-ca,src=${ca}`] : []),
        '--build-arg',
        `BASE_IMAGE=${base}`,
        '--build-arg',
        `VERSION=${version}`,
        '--build-arg',
        `REVISION=${revision}`,
        '--target',
        target,
        '--tag',
        name,
        '--quiet',
        REPO_ROOT,
      ],
      { inherit: true },
    );
    if (r.code !== 0) throw new ImageError('IMAGE_BUILD_FAILED', `buildah build --target ${target} exited ${r.code}`);
    log(`built ${name} (${secs(t)})`);
  }
  const size = await run([
    'podman',
    ...storeFlags(store),
    'image',
    'inspect',
    '--format',
    '{{.Size}}',
    imageName('runtime', version, values.prefix),
  ]);
  const mb = (Number(size.stdout.trim()) / 1e6).toFixed(0);
  log(
    `image size ${mb} MB (runtime; the operator shares every layer but the runtime's compile cache); total ${secs(started)}`,
  );
  log(`store: ${storeFlags(store).join(' ')}`);
  return 0;
}

/** `--store-flags`: what buildah or podman needs to see the images (README: pushing them). */
async function printStoreFlags(): Promise<number> {
  process.stdout.write(`${storeFlags().join(' ')}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const storeOnly = process.argv.length === 3 && process.argv[2] === '--store-flags';
  (storeOnly ? printStoreFlags() : main()).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
