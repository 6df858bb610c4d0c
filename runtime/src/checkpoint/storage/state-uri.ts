// Where checkpoints and savepoints live, as a URI: a local path (`/var/state`, relative paths
// resolve against the working directory) or an object-store prefix (`s3://bucket/prefix`).
// Every location the runtime reports (status, logs, restore paths) is in this form, so a path
// copied from one place can be pasted into another.
import { join, resolve } from 'node:path';
import { TributaryError } from '../../errors.ts';

const S3_SCHEME = 's3://';

export function isS3Uri(location: string): boolean {
  return location.startsWith(S3_SCHEME);
}

export interface S3Location {
  bucket: string;
  /** Object key prefix, without a leading or trailing slash ('' = the bucket's root). */
  key: string;
}

/** `s3://bucket/a/b/` → {bucket, key: 'a/b'}; refuses what S3 would reject or misread. */
export function parseS3Uri(uri: string): S3Location {
  const rest = uri.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = (slash === -1 ? '' : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      `${JSON.stringify(uri)}: "${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`,
    );
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..') && key !== '')
    throw new TributaryError(
      'TRIB_STATE_STORAGE_URI',
      `${JSON.stringify(uri)}: the key prefix has an empty, "." or ".." segment`,
    );
  return { bucket, key };
}

/**
 * An S3 location's storage as users name it in outages and errors: the endpoint
 * (TRIBUTARY_S3_ENDPOINT, else AWS S3) and the bucket, never credentials; undefined for a local path.
 */
export function stateStorageTarget(location: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!isS3Uri(location)) return undefined;
  return `${s3EndpointName(env)} bucket "${parseS3Uri(location).bucket}"`;
}

/** The S3 endpoint the runtime talks to (TRIBUTARY_S3_ENDPOINT, else AWS S3 in its region). */
export function s3EndpointName(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRIBUTARY_S3_ENDPOINT || `AWS S3 (${env.TRIBUTARY_S3_REGION || env.AWS_REGION || 'us-east-1'})`;
}

export function formatS3Uri(l: S3Location): string {
  return `${S3_SCHEME}${l.bucket}${l.key ? `/${l.key}` : ''}`;
}

/** The canonical form of a location: S3 URIs without trailing slash, local paths absolute. */
export function normalizeLocation(location: string): string {
  return isS3Uri(location) ? formatS3Uri(parseS3Uri(location)) : resolve(location);
}

/** A child of a location (file or folder names, never containing '/'). */
export function childOf(location: string, ...names: string[]): string {
  if (!isS3Uri(location)) return join(location, ...names);
  const l = parseS3Uri(location);
  return formatS3Uri({ bucket: l.bucket, key: [l.key, ...names].filter(Boolean).join('/') });
}

/** The last segment of a location (`sp-8` of `s3://b/p/savepoints/sp-8`). */
export function baseName(location: string): string {
  const trimmed = location.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
