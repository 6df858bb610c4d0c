// The exclusive-commit probe (exclusive-commit-probe.ts) against the local S3 server, and against
// the same server behind a proxy that answers a refused conditional PUT 200 (a store ignoring
// `If-None-Match: *`, which a real server cannot be made to be): the restore lookup of a
// successor and a job's start refuse it with TRIB_STATE_STORE_NOT_EXCLUSIVE naming
// the endpoint and bucket, before writing a fence, a decision or a checkpoint.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { unconditionalS3Proxy, type UnconditionalS3Proxy } from '../../../../test/harness/unconditional-s3-proxy.ts';
import { validateGraph } from '../../connectors/validate-graph.ts';
import { resolveLatestRestore } from '../../control/restore-latest.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import { ensureExclusiveCommit } from './exclusive-commit-probe.ts';
import { stateStoreFor } from './state-store-for.ts';

describe('a state store that ignores If-None-Match (S3)', () => {
  const bucket = process.env['TRIBUTARY_S3_BUCKET'] as string;
  const endpoint = process.env['TRIBUTARY_S3_ENDPOINT'] as string;
  const stateDir = `s3://${bucket}/tests/probe-${randomUUID().slice(0, 8)}`;
  let proxy: UnconditionalS3Proxy | undefined;
  afterAll(async () => {
    process.env['TRIBUTARY_S3_ENDPOINT'] = endpoint;
    await proxy?.close();
    await stateStoreFor(stateDir)
      .removeTree(stateDir)
      .catch(() => undefined);
  });

  it('the real server passes the probe', async () => {
    expect(endpoint, 'start the local cluster with --with s3').toBeTruthy();
    await ensureExclusiveCommit(stateDir);
  });

  it('is refused, named, at the restore lookup and when the job starts', async () => {
    proxy = await unconditionalS3Proxy(endpoint);
    process.env['TRIBUTARY_S3_ENDPOINT'] = proxy.endpoint;
    const named = new RegExp(
      `^the state storage ${proxy.endpoint.replace(/[.]/g, '\\.')} bucket "${bucket}" accepted a second conditional write`,
    );
    await expect(
      resolveLatestRestore(
        stateDir,
        { since: new Date(0).toISOString(), lineage: ['uid/b', 'uid/a'] },
        undefined,
        undefined,
        'uid/b',
      ),
    ).rejects.toMatchObject({ code: 'TRIB_STATE_STORE_NOT_EXCLUSIVE', message: expect.stringMatching(named) });
    // Nothing the probe guards was written.
    expect(await stateStoreFor(stateDir).list(`${stateDir}/fences`)).toEqual([]);

    const job = await createJobExecutor(
      validateGraph({
        sources: [
          {
            name: 'gen',
            datagen: { generator: 'schema', rate: 1000, count: 1e9, fields: { id: { type: 'sequence' } } },
          },
        ],
        sinks: [{ name: 'out', from: 'gen', console: {} }],
      }),
      { parallelism: 1, maxParallelism: 8, checkpointing: { stateDir, deployment: 'uid/a', timeoutMs: 10_000 } },
    );
    // The coordinator starts with the job: the job fails before its first checkpoint.
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_STATE_STORE_NOT_EXCLUSIVE',
      message: expect.stringMatching(named) as unknown,
    });
    expect(await stateStoreFor(stateDir).list(`${stateDir}/checkpoints`)).toEqual([]);
  }, 60_000);
});
