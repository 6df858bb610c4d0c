import { describe, expect, it } from 'vitest';
import { parseMigrationRequest } from './migration-routes.ts';

describe('POST /v1/migrations body', () => {
  it('takes the new parallelism and an idempotency key', () => {
    expect(parseMigrationRequest('{"to": 3}')).toEqual({ to: 3 });
    expect(parseMigrationRequest('{"to": 1, "requestId": "r-1"}')).toEqual({ to: 1, requestId: 'r-1' });
  });

  it('refuses a body it cannot act on, naming the field', () => {
    const bad: [string, RegExp][] = [
      ['', /"to" must be an integer ≥ 1/],
      ['{"to": 0}', /"to" must be an integer ≥ 1/],
      ['{"to": 2.5}', /"to" must be an integer ≥ 1/],
      ['{"to": "3"}', /"to" must be an integer ≥ 1/],
      ['{"to": 3, "requestId": ""}', /"requestId" must be a non-empty string/],
      ['[3]', /body must be a JSON object/],
      ['{to: 3}', /body is not JSON/],
    ];
    for (const [body, message] of bad) expect(() => parseMigrationRequest(body), body).toThrow(message);
  });
});
