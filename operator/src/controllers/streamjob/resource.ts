// The StreamJob API resource and the finalizer the controller puts on it (as
// druiddatasource/resource.ts does for DruidDatasources).
import type { ResourceType } from '../../kube/index.ts';

export const StreamJobs = {
  group: 'tributary.dev',
  version: 'v1alpha1',
  plural: 'streamjobs',
  kind: 'StreamJob',
  namespaced: true,
} as const satisfies ResourceType;

/** Set while a final savepoint may still be needed. */
export const finalSavepointFinalizer = 'tributary.dev/final-savepoint';
