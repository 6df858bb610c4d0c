// How the runtime reaches S3: from the environment the operator (or a user of `tributary run`)
// sets. Without keys the AWS SDK's default chain applies (AWS_* variables, web identity, the
// instance or pod role), so ambient cloud identity needs no configuration here.
//   TRIBUTARY_S3_ENDPOINT           http(s)://host:port of an S3-compatible server (default: AWS)
//   TRIBUTARY_S3_REGION             default: AWS_REGION, else us-east-1
//   TRIBUTARY_S3_PATH_STYLE         "true"/"false"; default true when an endpoint is set
//   TRIBUTARY_S3_ACCESS_KEY_ID, TRIBUTARY_S3_SECRET_ACCESS_KEY   both or neither
import { S3Client } from '@aws-sdk/client-s3';
import { TributaryError } from '../../errors.ts';

export interface S3ClientSettings {
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

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
  return {
    ...(endpoint ? { endpoint } : {}),
    region: env.TRIBUTARY_S3_REGION || env.AWS_REGION || 'us-east-1',
    pathStyle: rawPathStyle ? rawPathStyle === 'true' : endpoint !== undefined,
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}),
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
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}
