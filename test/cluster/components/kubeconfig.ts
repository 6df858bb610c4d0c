import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** A kubeconfig for `kubectl` and our clients: bearer token, the cluster CA, loopback server. */
export function writeKubeconfig(file: string, server: string, caCert: string, user: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tributary-local', cluster: { server, 'certificate-authority': caCert } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'tributary-local', context: { cluster: 'tributary-local', user, namespace: 'default' } }],
    'current-context': 'tributary-local',
  };
  writeFileSync(file, stringify(config), { mode: 0o600 });
}
