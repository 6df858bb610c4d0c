import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { runToLog } from '../process.ts';

/**
 * The cluster's trust material, made once per cluster directory with the system openssl:
 * a CA, the apiserver's serving certificate (valid for 127.0.0.1 and the in-cluster
 * service names, so pods can verify it with the kube-root-ca.crt the controller-manager
 * publishes), the service-account signing key, and the admin bearer token.
 */
export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly saKey: string;
  readonly saPub: string;
  readonly tokenFile: string;
  readonly adminToken: string;
}

export async function ensurePki(dir: string, logFile: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (name: string): string => join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    tokenFile: p('tokens.csv'),
    adminToken: '',
  };
  const ssl = (...args: string[]): Promise<void> => runToLog('pki', 'openssl', args, logFile, { cwd: dir });
  if (!existsSync(pki.caCert)) {
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      pki.caKey,
      '-out',
      pki.caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=tributary-local-ca',
    );
  }
  if (!existsSync(pki.serverCert)) {
    const ext = p('apiserver.ext');
    writeFileSync(
      ext,
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
        'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' +
        'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
    );
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      pki.serverKey,
      '-out',
      p('apiserver.csr'),
      '-subj',
      '/CN=kube-apiserver',
    );
    await ssl(
      'x509',
      '-req',
      '-in',
      p('apiserver.csr'),
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-CAcreateserial',
      '-out',
      pki.serverCert,
      '-days',
      '3650',
      '-extfile',
      ext,
    );
  }
  if (!existsSync(pki.saKey)) {
    await ssl('genrsa', '-out', pki.saKey, '2048');
    await ssl('rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub);
  }
  if (!existsSync(pki.tokenFile)) {
    const adminToken = randomBytes(24).toString('hex');
    const ctrlToken = randomBytes(24).toString('hex');
    // The controller-manager gets its own identity so its RBAC is the real one, not cluster-admin.
    writeFileSync(
      pki.tokenFile,
      `${adminToken},admin,admin,"system:masters"\n` + `${ctrlToken},system:kube-controller-manager,kcm,""\n`,
      { mode: 0o600 },
    );
  }
  return { ...pki, adminToken: tokenOf(pki, 'admin') };
}

/** The bearer token of the named user in the token file. */
export function tokenOf(pki: Pick<Pki, 'tokenFile'>, user: string): string {
  for (const line of readFileSync(pki.tokenFile, 'utf8').trim().split('\n')) {
    const [token, name] = line.split(',');
    if (name === user && token) return token;
  }
  throw new ClusterError('CLUSTER_START_FAILED', 'pki', `no token for ${user} in ${pki.tokenFile}`);
}
