/**
 * Druid failures, by what the caller should do about them: retry later (unreachable, 5xx),
 * report and wait for a spec change (rejected: 4xx with Druid's own message), or treat as
 * absent (not found).
 */
export type DruidErrorCode =
  | 'DRUID_ERR_UNREACHABLE'
  | 'DRUID_ERR_SERVER'
  | 'DRUID_ERR_REJECTED'
  | 'DRUID_ERR_UNAUTHORIZED'
  | 'DRUID_ERR_NOT_FOUND'
  | 'DRUID_ERR_BAD_RESPONSE'
  /** The response body exceeded the client's limit (a hostile or broken endpoint); not retried. */
  | 'DRUID_ERR_RESPONSE_TOO_LARGE';

export class DruidError extends Error {
  readonly code: DruidErrorCode;
  readonly status: number | undefined;
  /** True when the same call may succeed later without any change on our side. */
  readonly retriable: boolean;

  constructor(code: DruidErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(`[${code}] ${message}`, { cause: options.cause });
    this.name = 'DruidError';
    this.code = code;
    this.status = options.status;
    this.retriable = code === 'DRUID_ERR_UNREACHABLE' || code === 'DRUID_ERR_SERVER';
  }
}

export function isDruidError(err: unknown, code?: DruidErrorCode): err is DruidError {
  return err instanceof DruidError && (code === undefined || err.code === code);
}
