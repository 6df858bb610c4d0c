// Failures of the README-as-test harness. Each names the README line it concerns when there is
// one (`README.md:<n>`), so a red run says which documented command broke.
export type ReadmeErrorCode =
  /** The README's section does not have the shape the test reads (a section, a block, a command). */
  | 'README_FORMAT'
  /** A README command exited non-zero. */
  | 'README_STEP_FAILED'
  /** A README command did not finish in time. */
  | 'README_STEP_TIMEOUT'
  /** A README command ran, but what it promises (its comment, the prose around it) is not so. */
  | 'README_CHECK_FAILED';

export class ReadmeError extends Error {
  readonly code: ReadmeErrorCode;

  constructor(code: ReadmeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReadmeError';
    this.code = code;
  }
}
