import { describe, expect, it } from 'vitest';
import { DEFAULT_S3_REQUEST_TIMEOUT_MS, s3SettingsFromEnv } from './s3-client-config.ts';

describe('TRIBUTARY_S3_REQUEST_TIMEOUT_MS: the stall bound of one S3 request', () => {
  it('defaults to 120000 and takes an integer of milliseconds from 100 to 3600000', () => {
    expect(s3SettingsFromEnv({}).requestTimeoutMs).toBe(DEFAULT_S3_REQUEST_TIMEOUT_MS);
    expect(DEFAULT_S3_REQUEST_TIMEOUT_MS).toBe(120_000);
    expect(s3SettingsFromEnv({ TRIBUTARY_S3_REQUEST_TIMEOUT_MS: '3000' }).requestTimeoutMs).toBe(3000);
    for (const bad of ['99', '2m', '1.5', '3600001', '-1'])
      expect(() => s3SettingsFromEnv({ TRIBUTARY_S3_REQUEST_TIMEOUT_MS: bad }), bad).toThrow(
        expect.objectContaining({
          code: 'TRIB_STATE_STORAGE_URI',
          message: expect.stringContaining('TRIBUTARY_S3_REQUEST_TIMEOUT_MS must be an integer of milliseconds'),
        }),
      );
  });
});
