// The S3-compatible StateStore. State files stream up through lib-storage's multipart Upload
// (parts in parallel, single PUT when small); the commit is a PutObject with
// `If-None-Match: *`, so of two writers of one checkpoint id at most one commits.
// Only NoSuchKey means "absent": a missing bucket, refused credentials or an unreachable
// server are errors naming the bucket and the S3 error code.
//
// Reads (a restore's metadata and state files) are watched for stalls: a GET that receives
// nothing — no response, no body bytes — for the request timeout (TRIBUTARY_S3_REQUEST_TIMEOUT_MS)
// fails with TRIB_STATE_STORAGE naming the storage, the object and the bound, once, not after
// the SDK's retries of its own socket timeout; while it stalls it warns (from half the bound, at
// most 10 s in, then every 30 s). Only idle time counts: a large state arriving slowly is read
// to the end. It logs (this module's own logger, as the store is shared by every caller) and,
// when the read's caller asked for it (read-outages.ts: a slot restoring), reports the stall as
// an S3 outage until the read makes progress or ends, so the slot's early GET /v1/status names it.
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import { createLogger } from '../../telemetry/logger.ts';
import { newS3Client, s3SettingsFromEnv, type S3ClientSettings } from './s3-client-config.ts';
import { stateReadOutageReporters } from './read-outages.ts';
import { StallWatch } from './stall-watch.ts';
import type { RangeRead, StateStore } from './state-store.ts';
import { parseS3Uri, s3EndpointName, stateStorageTarget } from './state-uri.ts';

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

let stallLog: Logger | undefined;
/** Tells this process's reads apart for their outage reporters. */
let readSeq = 0;

/** Where the bound comes from, as users set it. */
const BOUND_NAME = 'TRIBUTARY_S3_REQUEST_TIMEOUT_MS, stateStorage.s3.requestTimeout';

export class S3StateStore implements StateStore {
  /** One client per settings (read from the environment at each use, so a changed setting takes effect). */
  readonly #clients = new Map<string, S3Client>();

  private get client(): S3Client {
    return this.clientFor(s3SettingsFromEnv());
  }

  private clientFor(settings: S3ClientSettings): S3Client {
    const key = JSON.stringify(settings);
    let c = this.#clients.get(key);
    if (!c) {
      c = newS3Client(settings);
      this.#clients.set(key, c);
    }
    return c;
  }

  /**
   * One GET, its body collected, under a StallWatch (see the header): progress is the response
   * and each body chunk; at the bound the request is aborted and the read fails naming it.
   */
  private async get(
    location: string,
    range: string | undefined,
  ): Promise<{ bytes: Uint8Array; contentRange: string | undefined }> {
    const { bucket, key } = parseS3Uri(location);
    const settings = s3SettingsFromEnv();
    const boundMs = settings.requestTimeoutMs;
    const storage = stateStorageTarget(location) as string;
    const log = (stallLog ??= createLogger());
    const stallError = (idleMs: number): TributaryError =>
      new TributaryError(
        'TRIB_STATE_STORAGE',
        `cannot read ${location}: the state storage ${storage} sent nothing for ${idleMs} ms (bound ${boundMs} ms: ${BOUND_NAME})`,
      );
    const abort = new AbortController();
    let body: { destroy?: (e?: Error) => void } | undefined;
    const reporters = stateReadOutageReporters();
    const report = reporters?.reporter(`s3-read:${++readSeq}`);
    const watch = new StallWatch({
      boundMs,
      onWarn: (idleMs) => {
        log.warn(
          { storage, location, stalledMs: idleMs, boundMs },
          `the state storage ${storage} has sent nothing for ${(idleMs / 1000).toFixed(1)} s while this process reads ${location}; the read fails after ${boundMs} ms without a byte (${BOUND_NAME})`,
        );
        report?.({
          dependency: 's3',
          component: reporters?.component ?? 'checkpoint storage',
          target: storage,
          since: new Date(Date.now() - idleMs).toISOString(),
          error: `sent nothing for ${(idleMs / 1000).toFixed(1)} s while this slot reads ${location}`,
          bound: `fails after requestTimeout ${boundMs / 1000}s of no answer`,
        });
      },
      onResume: (idleMs) => {
        report?.(undefined);
        log.info(
          { storage, location, stalledMs: idleMs },
          `the state storage ${storage} is sending ${location} again after ${(idleMs / 1000).toFixed(1)} s`,
        );
      },
      stallError,
    });
    const read = async () => {
      const r = await this.clientFor(settings).send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
        { abortSignal: abort.signal },
      );
      watch.progress();
      const chunks: Uint8Array[] = [];
      if (r.Body) {
        body = r.Body as { destroy?: (e?: Error) => void };
        for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
          chunks.push(chunk);
          watch.progress();
        }
      }
      const all = Buffer.concat(chunks);
      return { bytes: new Uint8Array(all.buffer, all.byteOffset, all.byteLength), contentRange: r.ContentRange };
    };
    try {
      return await Promise.race([read(), watch.stalled]);
    } catch (e) {
      // The SDK's socket timeout (the same bound, on the socket) may fire first mid-body, where
      // the SDK does not retry: the same stall, reported the same way (not a connect timeout).
      if ((e as Error).name === 'TimeoutError' && watch.idleMs() >= boundMs * 0.9) throw stallError(watch.idleMs());
      if (e instanceof TributaryError) {
        abort.abort(e);
        body?.destroy?.(e);
      }
      throw e;
    } finally {
      watch.stop();
      // Over either way: answered, or failed (the failure itself is the caller's to report).
      report?.(undefined);
    }
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
    try {
      return (await this.get(location, undefined)).bytes;
    } catch (e) {
      if (e instanceof TributaryError) throw e;
      if (isNoSuchKey(e)) return undefined;
      throw failure('read', location, e);
    }
  }

  /** A GET with `Range: bytes=a-b`; the whole size from Content-Range. A range past the end (416) reads nothing. */
  async readRange(location: string, offset: number, length: number): Promise<RangeRead | undefined> {
    try {
      const r = await this.get(location, `bytes=${offset}-${offset + length - 1}`);
      const total = /\/(\d+)$/.exec(r.contentRange ?? '')?.[1];
      return { bytes: r.bytes, size: total === undefined ? undefined : Number(total) };
    } catch (e) {
      if (e instanceof TributaryError) throw e;
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

  /** Object stores have no folders: a prefix whose objects are gone is gone (state-store.ts). */
  async removeEmptyFolder(_location: string): Promise<void> {
    return Promise.resolve();
  }
}
