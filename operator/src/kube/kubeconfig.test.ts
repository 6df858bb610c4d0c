import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OperatorError } from './errors.ts';
import { loadKubeconfigFile } from './kubeconfig.ts';

function kubeconfig(dir: string, users: string, current = 'main'): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
  - name: c1
    cluster: { server: "https://127.0.0.1:6443", certificate-authority: ca.crt }
  - name: c2
    cluster: { server: "https://10.0.0.1", certificate-authority-data: ${Buffer.from('CA2').toString('base64')}, insecure-skip-tls-verify: true }
contexts:
  - name: main
    context: { cluster: c1, user: u1, namespace: team }
  - name: other
    context: { cluster: c2, user: u2 }
current-context: ${current}
users:
${users}
`,
  );
  return file;
}

describe('kubeconfig loading without client-node', () => {
  it('resolves files relative to the kubeconfig, a static token, and the context namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'ca.crt'), 'CA1');
    writeFileSync(join(dir, 'client.crt'), 'CERT');
    writeFileSync(join(dir, 'client.key'), 'KEY');
    const file = kubeconfig(
      dir,
      '  - name: u1\n    user: { token: abc, client-certificate: client.crt, client-key: client.key }\n  - name: u2\n    user: { username: me, password: pw }',
    );
    const conn = await loadKubeconfigFile(file);
    expect(conn.server).toBe('https://127.0.0.1:6443');
    expect(conn.ca?.toString()).toBe('CA1');
    expect(conn.cert?.toString()).toBe('CERT');
    expect(conn.key?.toString()).toBe('KEY');
    expect(conn.namespace).toBe('team');
    expect(await conn.authHeaders()).toEqual({ authorization: 'Bearer abc' });

    const other = await loadKubeconfigFile(file, 'other');
    expect(other.ca?.toString()).toBe('CA2');
    expect(other.skipTLSVerify).toBe(true);
    expect(await other.authHeaders()).toEqual({ authorization: `Basic ${Buffer.from('me:pw').toString('base64')}` });
  });

  it('re-reads a tokenFile on every refresh (rotating tokens)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'ca.crt'), 'CA1');
    writeFileSync(join(dir, 'token'), 't1\n');
    const conn = await loadKubeconfigFile(kubeconfig(dir, '  - name: u1\n    user: { tokenFile: token }'));
    expect(await conn.authHeaders()).toEqual({ authorization: 'Bearer t1' });
    writeFileSync(join(dir, 'token'), 't2\n');
    expect(await conn.authHeaders()).toEqual({ authorization: 'Bearer t2' });
  });

  it('fails with OPERATOR_KUBECONFIG for a missing file or context', async () => {
    await expect(loadKubeconfigFile('/nonexistent/kubeconfig')).rejects.toMatchObject({ code: 'OPERATOR_KUBECONFIG' });
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const file = kubeconfig(dir, '  - name: u1\n    user: {}', 'missing');
    await expect(loadKubeconfigFile(file)).rejects.toBeInstanceOf(OperatorError);
  });
});
