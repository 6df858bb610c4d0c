// Test pod program: an in-cluster client. It loads the service-account credentials the node
// agent materialized under $TRIBUTARY_POD_ROOT and reports the HTTP status of a call RBAC
// allows (list ConfigMaps in its namespace) and of one it does not (list Secrets), plus the
// pod name its token is bound to. The report goes to /dev/termination-log (under the pod
// root), which the node agent copies into the container's terminated.message.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const root = process.env.TRIBUTARY_POD_ROOT ?? '';
const kc = new KubeConfig();
kc.loadFromCluster(root);
const core = kc.makeApiClient(CoreV1Api);
const namespace = readFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/namespace'), 'utf8');
const token = readFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/token'), 'utf8');

async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
  'kubernetes.io'?: { pod?: { name?: string } };
};
const report = {
  namespace,
  configmaps: await status(() => core.listNamespacedConfigMap({ namespace })),
  secrets: await status(() => core.listNamespacedSecret({ namespace })),
  boundPod: claims['kubernetes.io']?.pod?.name,
};
console.log(JSON.stringify(report));
mkdirSync(join(root, 'dev'), { recursive: true });
writeFileSync(join(root, 'dev/termination-log'), JSON.stringify(report));
