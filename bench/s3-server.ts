// The S3-compatible server the S3 benchmarks measure against: the local cluster's when
// TRIBUTARY_S3_* is set (`npm run cluster -- up --with s3`, then its `env`), else a versitygw
// of the benchmark's own — the cluster's cached build (built once from the Go module proxy if
// missing), on a free loopback port, over a temporary folder, with generated keys — stopped
// and removed when the benchmark ends. Either way TRIBUTARY_S3_* names it for the runtime.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureVersitygw, versitygwPath } from '../test/cluster/components/versitygw.ts';

export interface BenchS3 {
  bucket: string;
  endpoint: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The server to use, or why there is none (a skip line for the caller). */
export async function benchS3(): Promise<BenchS3 | string> {
  const env = process.env;
  if (env['TRIBUTARY_S3_ENDPOINT'] && env['TRIBUTARY_S3_BUCKET'])
    return { bucket: env['TRIBUTARY_S3_BUCKET'], endpoint: env['TRIBUTARY_S3_ENDPOINT'], stop: async () => {} };
  const data = await mkdtemp(join(tmpdir(), 'trib-bench-s3-'));
  try {
    await ensureVersitygw(join(data, 'versitygw-build.log'));
  } catch (e) {
    await rm(data, { recursive: true, force: true });
    return `no S3 server: TRIBUTARY_S3_ENDPOINT is unset and versitygw cannot be built (${(e as Error).message})`;
  }
  await mkdir(join(data, 'objects'));
  const port = await freePort();
  const keys = {
    accessKeyId: `BENCH${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(18).toString('hex'),
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(versitygwPath(), ['--port', `127.0.0.1:${port}`, 'posix', join(data, 'objects')], {
    env: { ...env, ROOT_ACCESS_KEY_ID: keys.accessKeyId, ROOT_SECRET_ACCESS_KEY: keys.secretAccessKey },
    stdio: 'ignore',
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await rm(data, { recursive: true, force: true });
  };
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: keys,
    maxAttempts: 1,
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await client.send(new ListBucketsCommand({}));
        break;
      } catch (e) {
        if (i > 100 || child.exitCode !== null) throw e;
        await sleep(100);
      }
    }
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  } catch (e) {
    await stop();
    return `versitygw did not start on ${endpoint}: ${(e as Error).message}`;
  } finally {
    client.destroy();
  }
  Object.assign(env, {
    TRIBUTARY_S3_ENDPOINT: endpoint,
    TRIBUTARY_S3_REGION: 'us-east-1',
    TRIBUTARY_S3_BUCKET: 'bench',
    TRIBUTARY_S3_PATH_STYLE: 'true',
    TRIBUTARY_S3_ACCESS_KEY_ID: keys.accessKeyId,
    TRIBUTARY_S3_SECRET_ACCESS_KEY: keys.secretAccessKey,
  });
  return {
    bucket: 'bench',
    endpoint,
    stop: async () => {
      for (const k of ['ENDPOINT', 'REGION', 'BUCKET', 'PATH_STYLE', 'ACCESS_KEY_ID', 'SECRET_ACCESS_KEY'])
        delete env[`TRIBUTARY_S3_${k}`];
      await stop();
    },
  };
}
