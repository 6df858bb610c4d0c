// The S3-compatible StateStore. State files stream up through lib-storage's multipart Upload
// (parts in parallel, single PUT when small); the commit is a PutObject with
// `If-None-Match: *`, so of two writers of one checkpoint id at most one commits.
// Only NoSuchKey means "absent": a missing bucket, refused credentials or an unreachable
// server are errors naming the bucket and the S3 error code.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TributaryError } from '../../errors.ts';
import { newS3Client, s3SettingsFromEnv } from './s3-client-config.ts';
import type { RangeRead, StateStore } from './state-store.ts';
import { parseS3Uri, s3EndpointName } from './state-uri.ts';

/** Multipart part size: 8 MiB parts, 4 in flight per file (lib-storage's queue). */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

/** The S3 error code (NoSuchBucket, AccessDenied, InvalidAccessKeyId, ...) or the network errno. */
export function s3ErrorCode(e: unknown): string {
  const x = e as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = x.$metadata?.httpStatusCode;
  const name = x.Code ?? (x.name && x.name !== 'Error' ? x.name : undefined) ?? x.code ?? 'unknown error';
  return status ? `${name} (HTTP ${status})` : name;
}

/** Names the endpoint too: which server refused or did not answer. */
function failure(op: string, location: string, e: unknown): TributaryError {
  const { bucket } = parseS3Uri(location);
  return new TributaryError(
    'TRIB_STATE_STORAGE',
    `cannot ${op} ${location}: S3 bucket "${bucket}" answered ${s3ErrorCode(e)} at ${s3EndpointName()}: ${(e as Error).message}`,
    { cause: e },
  );
}

function isNoSuchKey(e: unknown): boolean {
  const x = e as { name?: string; Code?: string };
  return x.name === 'NoSuchKey' || x.Code === 'NoSuchKey';
}

export class S3StateStore implements StateStore {
  /** One client per settings (read from the environment at each use, so a changed setting takes effect). */
  readonly #clients = new Map<string, S3Client>();

  private get client(): S3Client {
    const settings = s3SettingsFromEnv();
    const key = JSON.stringify(settings);
    let c = this.#clients.get(key);
    if (!c) {
      c = newS3Client(settings);
      this.#clients.set(key, c);
    }
    return c;
  }

  async write(location: string, body: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Uri(location);
    try {
      await new Upload({
        client: this.client,
        params: { Bucket: bucket, Key: key, Body: body },
        partSize: PART_SIZE,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false,
      }).done();
    } catch (e) {
      throw failure('write', location, e);
    }
  }

  async commit(location: string, body: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Uri(location);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }));
    } catch (e) {
      throw failure('commit', location, e);
    }
  }

  async read(location: string): Promise<Uint8Array | undefined> {
    const { bucket, key } = parseS3Uri(location);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
    } catch (e) {
      if (isNoSuchKey(e)) return undefined;
      throw failure('read', location, e);
    }
  }

  /** A GET with `Range: bytes=a-b`; the whole size from Content-Range. A range past the end (416) reads nothing. */
  async readRange(location: string, offset: number, length: number): Promise<RangeRead | undefined> {
    const { bucket, key } = parseS3Uri(location);
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      const bytes = r.Body ? await r.Body.transformToByteArray() : new Uint8Array();
      const total = /\/(\d+)$/.exec(r.ContentRange ?? '')?.[1];
      return { bytes, size: total === undefined ? undefined : Number(total) };
    } catch (e) {
      if (isNoSuchKey(e)) return undefined;
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416)
        return { bytes: new Uint8Array(), size: undefined };
      throw failure('read', location, e);
    }
  }

  /** By listing, not HEAD: a HEAD's 404 cannot tell a missing key from a missing bucket. */
  async exists(location: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(location);
    try {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
      return r.Contents?.[0]?.Key === key;
    } catch (e) {
      throw failure('read', location, e);
    }
  }

  async list(location: string): Promise<string[]> {
    const { bucket, key } = parseS3Uri(location);
    const prefix = key ? `${key}/` : '';
    const names = new Set<string>();
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
        );
        for (const p of r.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(prefix.length, -1));
        for (const o of r.Contents ?? []) if (o.Key && o.Key !== prefix) names.add(o.Key.slice(prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw failure('list', location, e);
    }
    return [...names];
  }

  async remove(location: string): Promise<void> {
    const { bucket, key } = parseS3Uri(location);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      if (!isNoSuchKey(e)) throw failure('delete', location, e);
    }
  }

  /** Lists and deletes from the start until nothing is left (deleting invalidates continuation tokens). */
  async removeTree(location: string): Promise<void> {
    const { bucket, key } = parseS3Uri(location);
    const prefix = `${key}/`;
    try {
      for (;;) {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
        const keys = (r.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length === 0) return;
        const d = await this.client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        const first = d.Errors?.[0];
        if (first)
          throw new TributaryError(
            'TRIB_STATE_STORAGE',
            `cannot delete s3://${bucket}/${first.Key ?? prefix}: S3 bucket "${bucket}" answered ${first.Code ?? 'error'}: ${first.Message ?? ''}`,
          );
      }
    } catch (e) {
      if (e instanceof TributaryError) throw e;
      throw failure('delete', location, e);
    }
  }
}
