// The S3-compatible object store of the local cluster (`up --with s3`): versitygw, a
// file-backed S3 gateway (Apache-2.0), built once per version from the Go module proxy into
// the cache, serving the cluster folder's `s3/` over loopback with its own access keys.
// Checkpoints and savepoints go there exactly as to a cloud bucket.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ClusterError } from '../errors.ts';
import { cacheRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import {
  assertPortFree,
  isAlive,
  killProcess,
  portOpen,
  runToLog,
  startDetached,
  waitUntil,
  type Started,
} from '../process.ts';
import { readState, writeState, type ClusterState } from '../state.ts';

const component = 's3';

/** The bucket `up` creates; tests and examples put their state under their own prefixes in it. */
export const s3Bucket = 'tributary';
export const s3Region = 'us-east-1';
export const s3Endpoint = `http://${host}:${ports.s3}`;

export function versitygwPath(): string {
  return join(cacheRoot(), `versitygw-${versions.versitygw}`, 'bin', 'versitygw');
}

export async function ensureVersitygw(buildLog: string): Promise<void> {
  const bin = versitygwPath();
  if (existsSync(bin)) return;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 's3-build', 'the Go toolchain (`go`) is not on PATH', {
      cause: err,
    });
  }
  const dir = join(cacheRoot(), `versitygw-${versions.versitygw}`);
  mkdirSync(dir, { recursive: true });
  // A private folder renamed into place: an interrupted build never leaves a binary that looks complete.
  const tmp = mkdtempSync(join(dir, '.build-'));
  process.stderr.write(`building versitygw v${versions.versitygw} from the Go module proxy (once; log: ${buildLog})\n`);
  try {
    await runToLog(
      's3-build',
      'go',
      [
        'install',
        '-trimpath',
        // No compiler debug info: -w drops it at link anyway (same size binary, 7% less compile CPU).
        '-gcflags=all=-dwarf=false',
        '-ldflags',
        '-s -w',
        `github.com/versity/versitygw/cmd/versitygw@v${versions.versitygw}`,
      ],
      buildLog,
      { env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOBIN: tmp, GOFLAGS: '-mod=mod' } },
    );
    mkdirSync(join(dir, 'bin'), { recursive: true });
    renameSync(join(tmp, 'versitygw'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface S3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The gateway's root keys, generated once per cluster folder (kept while the cluster lives). */
export function s3Keys(paths: ClusterPaths): S3Keys {
  const file = join(paths.dir, 's3-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as S3Keys;
  const keys = {
    accessKeyId: `TRIB${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

export function s3Client(keys: S3Keys): S3Client {
  return new S3Client({
    endpoint: s3Endpoint,
    region: s3Region,
    forcePathStyle: true,
    credentials: keys,
    maxAttempts: 1,
  });
}

/** Starts the gateway with root `keys` (other ones than the cluster's revoke its keys while it runs). */
export async function startVersitygw(paths: ClusterPaths, keys: S3Keys = s3Keys(paths)): Promise<Started> {
  await assertPortFree(component, ports.s3);
  mkdirSync(paths.s3Data, { recursive: true });
  const p = startDetached(
    component,
    versitygwPath(),
    ['--port', `${host}:${ports.s3}`, 'posix', paths.s3Data],
    join(paths.logs, 's3.log'),
    // Keys by environment, not argv: a process listing does not show them.
    { env: { ...process.env, ROOT_ACCESS_KEY_ID: keys.accessKeyId, ROOT_SECRET_ACCESS_KEY: keys.secretAccessKey } },
  );
  const client = s3Client(keys);
  try {
    await waitUntil(
      p,
      'serving S3',
      async () => {
        await client.send(new ListBucketsCommand({}));
        return true;
      },
      30_000,
    );
    // Under other root keys the bucket stays as it is: it belongs to the cluster's account.
    const have =
      keys.accessKeyId === s3Keys(paths).accessKeyId ? await client.send(new ListBucketsCommand({})) : undefined;
    if (have && !have.Buckets?.some((b) => b.Name === s3Bucket))
      await client.send(new CreateBucketCommand({ Bucket: s3Bucket }));
  } finally {
    client.destroy();
  }
  return p;
}

export function s3Env(paths: ClusterPaths): Record<string, string> {
  const keys = s3Keys(paths);
  return {
    TRIBUTARY_S3_ENDPOINT: s3Endpoint,
    TRIBUTARY_S3_REGION: s3Region,
    TRIBUTARY_S3_BUCKET: s3Bucket,
    TRIBUTARY_S3_ACCESS_KEY_ID: keys.accessKeyId,
    TRIBUTARY_S3_SECRET_ACCESS_KEY: keys.secretAccessKey,
  };
}

function gatewayOfState(paths: ClusterPaths): { state: ClusterState; index: number } {
  const state = readState(paths);
  const index = state?.components.findIndex((c) => c.component === component) ?? -1;
  if (!state || index < 0)
    throw new ClusterError('CLUSTER_NOT_READY', component, 'not part of the running cluster (up --with s3)');
  return { state, index };
}

/**
 * Kills the running cluster's S3 gateway (SIGKILL: its port closes, connections are refused) and
 * waits until it is gone; the state file keeps naming it, so `restartVersitygw` brings it back
 * on the same port and data folder. Only for a cluster no other test shares.
 */
export async function stopVersitygw(paths: ClusterPaths): Promise<void> {
  const { state, index } = gatewayOfState(paths);
  await killGateway(state.components[index]!);
}

/** SIGKILL, then until its port is closed: the leader shows as exited while Go's threads still hold the socket. */
async function killGateway(p: Started): Promise<void> {
  if (isAlive(p)) process.kill(p.pid, 'SIGCONT');
  await killProcess(p);
  for (let i = 0; i < 100 && (await portOpen(ports.s3, host)); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Freezes (SIGSTOP: the port accepts, nothing answers) or thaws the running gateway. */
export function signalVersitygw(paths: ClusterPaths, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const { state, index } = gatewayOfState(paths);
  const p = state.components[index]!;
  if (!isAlive(p)) throw new ClusterError('CLUSTER_NOT_RUNNING', component, `cannot ${signal} a stopped S3 gateway`);
  process.kill(p.pid, signal);
}

/**
 * (Re)starts the gateway with root `keys` (default: the cluster's own, as `up` started it) and
 * resolves once it serves S3; a running one is killed first. Started with other keys, every
 * client holding the cluster's keys is refused (InvalidAccessKeyId) — a revoked or rotated key.
 */
export async function restartVersitygw(paths: ClusterPaths, keys: S3Keys = s3Keys(paths)): Promise<void> {
  const { state, index } = gatewayOfState(paths);
  const p = state.components[index]!;
  await killGateway(p);
  state.components[index] = await startVersitygw(paths, keys);
  writeState(paths, state);
}
