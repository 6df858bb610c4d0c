/**
 * Every failure of the local cluster names the component that failed and, when it has one,
 * the log file to read, so that a red CI run points at the cause without a rerun.
 */
export type ClusterErrorCode =
  | 'CLUSTER_PORT_IN_USE'
  | 'CLUSTER_MISSING_TOOL'
  | 'CLUSTER_BUILD_FAILED'
  | 'CLUSTER_DOWNLOAD_FAILED'
  | 'CLUSTER_START_FAILED'
  | 'CLUSTER_NOT_READY'
  | 'CLUSTER_NOT_RUNNING'
  | 'CLUSTER_BAD_ARGS';

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  readonly component: string;
  readonly logFile: string | undefined;

  constructor(
    code: ClusterErrorCode,
    component: string,
    message: string,
    options: { logFile?: string; cause?: unknown } = {},
  ) {
    const where = options.logFile ? ` (log: ${options.logFile})` : '';
    super(`[${code}] ${component}: ${message}${where}`, { cause: options.cause });
    this.name = 'ClusterError';
    this.code = code;
    this.component = component;
    this.logFile = options.logFile;
  }
}
