// The job's headless Service: stable DNS names for the slot pods (control and data ports),
// ready or not, so peers find each other while starting. Pure builder.
import { CONTROL_PORT, DATA_PORT } from '../../../../../runtime/src/control/contract.ts';
import { standardLabels, withControllerReference, type KubeObject } from '../../../kube/index.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { ownedMeta } from './metadata.ts';

export function headlessService(job: StreamJob): KubeObject & { spec: Record<string, unknown> } {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(job, job.metadata.name),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: standardLabels(job.metadata.name),
      ports: [
        { name: 'control', port: CONTROL_PORT, targetPort: CONTROL_PORT, protocol: 'TCP' },
        { name: 'data', port: DATA_PORT, targetPort: DATA_PORT, protocol: 'TCP' },
      ],
    },
  });
}
