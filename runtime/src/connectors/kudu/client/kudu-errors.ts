// Kudu's failures as TributaryErrors with stable codes. The server's own status (AppStatusPB,
// MasterErrorPB, TabletServerErrorPB codes) is kept in the message, so a log shows both the
// stable code and what Kudu said.
import { TributaryError, type ErrorCode } from '../../../errors.ts';

/** AppStatusPB.ErrorCode names, for messages. */
const appStatusNames: Record<number, string> = {
  0: 'OK',
  1: 'NOT_FOUND',
  2: 'CORRUPTION',
  3: 'NOT_SUPPORTED',
  4: 'INVALID_ARGUMENT',
  5: 'IO_ERROR',
  6: 'ALREADY_PRESENT',
  7: 'RUNTIME_ERROR',
  8: 'NETWORK_ERROR',
  9: 'ILLEGAL_STATE',
  10: 'NOT_AUTHORIZED',
  11: 'ABORTED',
  12: 'REMOTE_ERROR',
  13: 'SERVICE_UNAVAILABLE',
  14: 'TIMED_OUT',
  15: 'UNINITIALIZED',
  16: 'CONFIGURATION_ERROR',
  17: 'INCOMPLETE',
  18: 'END_OF_FILE',
  19: 'CANCELLED',
};

export interface AppStatus {
  readonly code: number;
  readonly message?: string;
}

export function describeStatus(status: AppStatus | undefined): string {
  if (!status) return 'no status';
  return `${appStatusNames[status.code] ?? `code ${status.code}`}: ${status.message ?? ''}`.trim();
}

/** MasterErrorPB.Code values the client acts on. */
export const masterErrors = {
  TABLE_NOT_FOUND: 3,
  TABLE_ALREADY_PRESENT: 4,
  CATALOG_MANAGER_NOT_INITIALIZED: 6,
  NOT_THE_LEADER: 7,
  INVALID_SCHEMA: 2,
} as const;

/** TabletServerErrorPB.Code values the client acts on. */
export const tserverErrors = {
  TABLET_NOT_FOUND: 6,
  SCANNER_EXPIRED: 7,
  TABLET_NOT_RUNNING: 12,
  NOT_THE_LEADER: 15,
  THROTTLED: 19,
} as const;

export interface ServiceError {
  readonly code: number;
  readonly status: AppStatus;
}

/** Master or tablet-server errors worth retrying elsewhere or later (leader moved, starting up). */
export function isRetriableServiceError(kind: 'master' | 'tserver', error: ServiceError): boolean {
  if (kind === 'master') {
    return error.code === masterErrors.NOT_THE_LEADER || error.code === masterErrors.CATALOG_MANAGER_NOT_INITIALIZED;
  }
  return (
    error.code === tserverErrors.NOT_THE_LEADER ||
    error.code === tserverErrors.TABLET_NOT_RUNNING ||
    error.code === tserverErrors.THROTTLED ||
    // AppStatus SERVICE_UNAVAILABLE: e.g. a tablet still bootstrapping.
    error.status.code === 13
  );
}

export function kuduError(code: ErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, `kudu: ${message}`, cause === undefined ? {} : { cause });
}
