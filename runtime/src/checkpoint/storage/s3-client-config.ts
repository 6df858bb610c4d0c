// How the runtime reaches S3: from the environment the operator (or a user of `tributary run`)
// sets. Without keys the AWS SDK's default chain applies (AWS_* variables, web identity, the
// instance or pod role), so ambient cloud identity needs no configuration here.
//   TRIBUTARY_S3_ENDPOINT           http(s)://host:port of an S3-compatible server (default: AWS)
//   TRIBUTARY_S3_REGION             default: AWS_REGION, else us-east-1
//   TRIBUTARY_S3_PATH_STYLE         "true"/"false"; default true when an endpoint is set
//   TRIBUTARY_S3_ACCESS_KEY_ID, TRIBUTARY_S3_SECRET_ACCESS_KEY   both or neither
//   TRIBUTARY_S3_REQUEST_TIMEOUT_MS how long one request may receive nothing (a stall), default
//                                   120000: the SDK's socket idle timeout for every request,
//                                   and the stall bound of every read (s3-state-store.ts)
import { S3Client } from '@aws-sdk/client-s3';
import { TributaryError } from '../../errors.ts';

export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** TRIBUTARY_S3_REQUEST_TIMEOUT_MS: a request that receives nothing for this long has stalled. */
  requestTimeoutMs: number;
}

/**
 * Today's bound, kept: a stall now fails a read once (no retries) and is warned about from
 * 10 s on, so a restore no longer waits minutes silently; a lower default would also cut off
 * writes and listings of slow S3-compatible servers that answered so far.
 */
export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 120_000;

export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientSettings {
  const endpoint = env.TRIBUTARY_S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      `TRIBUTARY_S3_ENDPOINT must be http(s)://host[:port], got ${JSON.stringify(endpoint)}`,
    );
  const rawPathStyle = env.TRIBUTARY_S3_PATH_STYLE;
  if (rawPathStyle !== undefined && rawPathStyle !== '' && rawPathStyle !== 'true' && rawPathStyle !== 'false')
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      `TRIBUTARY_S3_PATH_STYLE must be "true" or "false", got ${JSON.stringify(rawPathStyle)}`,
    );
  const id = env.TRIBUTARY_S3_ACCESS_KEY_ID || undefined;
  const secret = env.TRIBUTARY_S3_SECRET_ACCESS_KEY || undefined;
  if ((id === undefined) !== (secret === undefined))
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      'TRIBUTARY_S3_ACCESS_KEY_ID and TRIBUTARY_S3_SECRET_ACCESS_KEY are set together or not at all',
    );
  const rawTimeout = env.TRIBUTARY_S3_REQUEST_TIMEOUT_MS;
  const requestTimeoutMs = rawTimeout ? Number(rawTimeout) : DEFAULT_S3_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 100 || requestTimeoutMs > 3_600_000)
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      `TRIBUTARY_S3_REQUEST_TIMEOUT_MS must be an integer of milliseconds from 100 to 3600000, got ${JSON.stringify(rawTimeout)}`,
    );
  return {
    ...(endpoint ? { endpoint } : {}),
    region: env.TRIBUTARY_S3_REGION || env.AWS_REGION || 'us-east-1',
    pathStyle: rawPathStyle ? rawPathStyle === 'true' : endpoint !== undefined,
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}),
    requestTimeoutMs,
  };
}

export function newS3Client(s: S3ClientSettings): S3Client {
  return new S3Client({
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    region: s.region,
    forcePathStyle: s.pathStyle,
    ...(s.credentials ? { credentials: s.credentials } : {}),
    // A server that accepts and never answers (partition, paused process) fails the request
    // instead of hanging it: checkpoints abort on their own timeout, pruning and listing here.
    // socketTimeout is the idle time (nothing sent or received), so a large transfer that
    // progresses is never cut off. (The handler's requestTimeout, time to the response headers,
    // only logs a warning through console unless told to throw: not used.) Reads also watch
    // their own stall, across the SDK's retries (s3-state-store.ts).
    requestHandler: { connectionTimeout: 10_000, socketTimeout: s.requestTimeoutMs },
  });
}
