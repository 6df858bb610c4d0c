// TEST-ONLY: what the operator's kube-apiserver fault tests need around the real apiserver:
// the operator's log lines and /metrics, an identity of its own (a ServiceAccount kubeconfig,
// which API Priority and Fairness can single out), an APF seat holder, and a proxy that slows
// the operator's requests on demand (a real apiserver cannot be slowed by configuration).
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { delayingProxy } from '../../../../../test/harness/delaying-proxy.ts';
import { ErrorCodes, OperatorError, type KubeClient, type ResourceType } from '../../../kube/index.ts';
import type { OperatorProcess } from './operator-process.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rt = (group: string, plural: string, kind: string): ResourceType => ({
  group,
  version: 'v1',
  plural,
  kind,
  namespaced: false,
});
export const ClusterRoleBinding = rt('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding');
export const FlowSchema = rt('flowcontrol.apiserver.k8s.io', 'flowschemas', 'FlowSchema');
export const PriorityLevel = rt(
  'flowcontrol.apiserver.k8s.io',
  'prioritylevelconfigurations',
  'PriorityLevelConfiguration',
);

export interface LogLine {
  time: number;
  level: number;
  msg: string;
  /** Who logged it: the informer, the controller and key, or the component. */
  source: string;
  /** The whole JSON line. */
  raw: string;
}

export const logLines = (op: OperatorProcess): LogLine[] =>
  readFileSync(op.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((raw) => {
      const j = JSON.parse(raw) as Record<string, string | number | undefined>;
      const source = j.informer
        ? `${j.informer} ${j.labelSelector ?? ''} ${j.fieldSelector ?? ''}`
        : String(j.controller ? `${j.controller} ${j.key}` : (j.component ?? j.msg));
      return { time: Date.parse(String(j.time)), level: Number(j.level), msg: String(j.msg), source, raw };
    });

/** The operator's /metrics sample `name{labels}` (summed over series matching `labels`), 0 if absent. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Holds one APF seat of the level `token` maps to: a POST whose body never comes runs (reading
 * its body) once dispatched. Retried until the apiserver admits it rather than answering 429
 * (it is rejected too while another request of that level executes). `release` ends it.
 */
export async function holdSeat(kube: KubeClient, ns: string, token: string, ca: string): Promise<() => void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const req = https.request(new URL(`/api/v1/namespaces/${ns}/configmaps`, kube.server), {
      method: 'POST',
      ca: readFileSync(ca),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '4096' },
    });
    req.on('error', () => undefined);
    const answered = new Promise<number>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    req.write('{');
    const status = await Promise.race([answered, sleep(1500).then(() => 0)]);
    if (status === 0) return () => req.destroy();
    req.destroy();
    await sleep(50);
  }
  throw new OperatorError(ErrorCodes.TEST_HARNESS, 'the apiserver never admitted the APF seat holder');
}

/** A kubeconfig for ServiceAccount `sa` of `ns`: the operator's own identity, which APF can match. */
export async function serviceAccountKubeconfig(
  kube: KubeClient,
  ns: string,
  sa: string,
  file: string,
  /** The apiserver's URL in the kubeconfig (default the test's own, e.g. a proxy's instead). */
  server: string = kube.server.origin,
): Promise<{ token: string; ca: string }> {
  const tr = await kube.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
  );
  const base = readFileSync(process.env.KUBECONFIG ?? '', 'utf8');
  const ca = /certificate-authority: (\S+)/.exec(base)?.[1] ?? '';
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}", certificate-authority: "${ca}"}}]`,
      `users: [{name: ${sa}, user: {token: "${tr.status.token}"}}]`,
      `contexts: [{name: c, context: {cluster: c, user: ${sa}, namespace: ${ns}}}]`,
      'current-context: c',
      '',
    ].join('\n'),
  );
  return { token: tr.status.token, ca };
}

/**
 * A proxy to the apiserver that holds each request for `delayMs()` (0: at once). TLS passes
 * through untouched (the certificate names 127.0.0.1, whatever the port). Only TLS application
 * data (record type 23) is held, not handshakes, so a request on a new connection is held at
 * most once, like one on an old connection.
 */
export async function slowingProxy(
  target: URL,
  delayMs: () => number,
): Promise<{ server: string; close(): Promise<void> }> {
  const p = await delayingProxy({ host: target.hostname, port: Number(target.port) }, delayMs, (d) => d[0] === 23);
  return { server: `https://127.0.0.1:${p.port}`, close: () => p.close() };
}
