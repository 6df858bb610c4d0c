// Failures of the image build (`npm run image`) and of the local container store: each
// names the step and, where there is one, the command to run or the package to install.
export type ImageErrorCode =
  'IMAGE_MISSING_TOOL' | 'IMAGE_BASE_FAILED' | 'IMAGE_BUILD_FAILED' | 'IMAGE_BAD_ARGS' | 'IMAGE_STORE_FAILED';

export class ImageError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`[${code}] ${message}`, { cause: options.cause });
    this.name = 'ImageError';
    this.code = code;
  }
}
