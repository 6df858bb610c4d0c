// Maps a registry's HTTP answer to a stable error code. Keyed on the HTTP status, not on the
// body's error_code: Apicurio answers an incompatible schema with 409 but error_code 0.
import { TributaryError, type ErrorCode } from '../../errors.ts';

/** Statuses worth another try: the registry (or a proxy before it) is overloaded or restarting. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function codeOfStatus(status: number): ErrorCode {
  if (status === 404) return 'TRIB_REGISTRY_NOT_FOUND';
  if (status === 409) return 'TRIB_REGISTRY_INCOMPATIBLE';
  if (status === 422) return 'TRIB_REGISTRY_INVALID_SCHEMA';
  if (status === 401 || status === 403) return 'TRIB_REGISTRY_AUTH';
  if (isRetryableStatus(status)) return 'TRIB_REGISTRY_UNAVAILABLE';
  return 'TRIB_REGISTRY_RESPONSE';
}

/** `what` names the subject/version or schema id the request was about. */
export function registryHttpError(o: {
  url: string;
  what: string;
  status: number;
  body: string;
  attempts: number;
}): TributaryError {
  let detail = o.body.slice(0, 500);
  try {
    const parsed = JSON.parse(o.body) as { message?: unknown };
    if (typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // not JSON (a proxy's HTML page): the raw text, bounded, is the best detail there is
  }
  const tries = o.attempts > 1 ? ` after ${o.attempts} attempts` : '';
  return new TributaryError(
    codeOfStatus(o.status),
    `schema registry ${o.url} answered HTTP ${o.status} for ${o.what}${tries}: ${detail}`,
  );
}
