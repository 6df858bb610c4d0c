// A connector's `tls` spec as the client's options: the CA from a file or inline, verify: false
// as asked, an unreadable file naming itself; and the client refusing a TLS configuration that
// names no trust (or two) even when built without the graph check.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TributaryError } from '../../errors.ts';
import { KuduClient } from './client/kudu-client.ts';
import { clientTls } from './kudu-tls-config.ts';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('kudu tls config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kudu-tls-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ca from a file, takes PEM text as is, passes verify: false, and nothing without tls', () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, pem);
    expect(clientTls({ ca: file })).toEqual({ tls: { ca: pem } });
    expect(clientTls({ ca: pem })).toEqual({ tls: { ca: pem } });
    expect(clientTls({ verify: false })).toEqual({ tls: { verify: false } });
    expect(clientTls(undefined)).toEqual({});
  });

  it('an unreadable CA file fails with TRIB_KUDU_CONFIG naming it', () => {
    const missing = join(dir, 'nope.pem');
    let err: unknown;
    try {
      clientTls({ ca: missing });
    } catch (e) {
      err = e;
    }
    expect((err as TributaryError).code).toBe('TRIB_KUDU_CONFIG');
    expect((err as TributaryError).message).toContain(`tls.ca: cannot read the CA file "${missing}"`);
  });

  it('the client refuses tls with neither a CA nor verify: false, or with both', () => {
    const make = (tls: { ca?: string; verify?: boolean }) => () => new KuduClient({ masters: ['127.0.0.1:1'], tls });
    expect(make({})).toThrow(/tls: ca .* is required unless verify: false/);
    expect(make({ verify: true })).toThrow(/is required unless verify: false/);
    expect(make({ ca: pem, verify: false })).toThrow(/not both/);
    expect(make({ ca: pem })).not.toThrow();
  });
});
