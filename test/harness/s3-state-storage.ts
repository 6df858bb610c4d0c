// TEST-ONLY: StreamJob state on the local cluster's S3 server (versitygw; `up --with s3`). A test
// gets a stateStorage block under a prefix of its own in the cluster's bucket and the opted-in
// credentials Secret in its namespace, and can list, read and remove what the job left in the
// bucket (read with the S3 SDK directly, not through the runtime's own state store).
import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CREDENTIALS_LABEL } from '../../operator/src/api/v1alpha1/credentials-label.ts';
import type { StateStorage } from '../../operator/src/api/v1alpha1/streamjob.ts';
import {
  ErrorCodes,
  isAlreadyExists,
  OperatorError,
  Resources,
  type KubeClient,
} from '../../operator/src/kube/index.ts';

export interface LocalS3 {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The cluster's S3 server from the environment `cluster env` prints; throws when it is not up. */
export function localS3(env: NodeJS.ProcessEnv = process.env): LocalS3 {
  const need = (name: string) => {
    const v = env[name];
    if (!v)
      throw new OperatorError(
        ErrorCodes.TEST_HARNESS,
        `${name} is not set: start the local cluster with --with s3 and eval its env`,
      );
    return v;
  };
  return {
    endpoint: need('TRIBUTARY_S3_ENDPOINT'),
    region: need('TRIBUTARY_S3_REGION'),
    bucket: need('TRIBUTARY_S3_BUCKET'),
    accessKeyId: need('TRIBUTARY_S3_ACCESS_KEY_ID'),
    secretAccessKey: need('TRIBUTARY_S3_SECRET_ACCESS_KEY'),
  };
}

export const S3_SECRET_NAME = 'tributary-s3';

/** Creates (or keeps) the labelled credentials Secret in `namespace`. */
export async function ensureS3Secret(kube: KubeClient, namespace: string, s3: LocalS3 = localS3()): Promise<void> {
  try {
    await kube.create(Resources.Secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: S3_SECRET_NAME, namespace, labels: { [CREDENTIALS_LABEL]: 'true' } },
      stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/**
 * spec.stateStorage on the local S3 server under a fresh prefix `tests/<tag>-<random>` (so runs
 * never see each other's objects), with the Secret created in `namespace`.
 */
export async function s3StateStorage(
  kube: KubeClient,
  namespace: string,
  tag: string,
  s3: LocalS3 = localS3(),
): Promise<StateStorage & { s3: NonNullable<StateStorage['s3']> }> {
  await ensureS3Secret(kube, namespace, s3);
  return {
    s3: {
      bucket: s3.bucket,
      prefix: `tests/${tag}-${randomBytes(4).toString('hex')}`,
      endpoint: s3.endpoint,
      region: s3.region,
      pathStyle: true,
      credentialsSecretRef: { name: S3_SECRET_NAME },
    },
    path: '/state',
  };
}

function clientOf(s3: LocalS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Keys under `s3://bucket/<prefix>/` (every page). */
export async function listKeys(prefix: string, s3: LocalS3 = localS3()): Promise<string[]> {
  const client = clientOf(s3);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: s3.bucket,
          Prefix: `${prefix.replace(/\/$/, '')}/`,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  } finally {
    client.destroy();
  }
}

/** The text of object `key` in the cluster's bucket; undefined when there is no such key. */
export async function readObject(key: string, s3: LocalS3 = localS3()): Promise<string | undefined> {
  const client = clientOf(s3);
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return await r.Body?.transformToString('utf8');
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  } finally {
    client.destroy();
  }
}

/** Deletes every key under `s3://bucket/<prefix>/` (a test's own prefix, after it). */
export async function deletePrefix(prefix: string, s3: LocalS3 = localS3()): Promise<number> {
  const keys = await listKeys(prefix, s3);
  const client = clientOf(s3);
  try {
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(
        new DeleteObjectsCommand({
          Bucket: s3.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
    return keys.length;
  } finally {
    client.destroy();
  }
}

/**
 * Deletes the objects under `prefix` once namespace `ns` is gone (its deletion was requested):
 * until its slot pods have stopped they keep writing checkpoints, which would outlive an
 * earlier delete. Gives up waiting after `timeoutMs` and deletes anyway.
 */
export async function deletePrefixAfterNamespace(
  kube: KubeClient,
  ns: string,
  prefix: string,
  s3: LocalS3 = localS3(),
  timeoutMs = 120_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const gone = await kube.get(Resources.Namespace, undefined, ns).then(
      () => false,
      () => true,
    );
    if (gone) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return deletePrefix(prefix, s3);
}

/** The key of an `s3://<bucket>/<key>` location in the cluster's bucket (refuses another bucket). */
export function keyOf(uri: string, s3: LocalS3 = localS3()): string {
  const head = `s3://${s3.bucket}/`;
  if (!uri.startsWith(head))
    throw new OperatorError(ErrorCodes.TEST_HARNESS, `${uri} is not in the local S3 bucket (${head})`);
  return uri.slice(head.length).replace(/\/+$/, '');
}
