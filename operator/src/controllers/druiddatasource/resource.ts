import type { ResourceType } from '../../kube/index.ts';

export const DruidDatasources = {
  group: 'tributary.dev',
  version: 'v1alpha1',
  plural: 'druiddatasources',
  kind: 'DruidDatasource',
  namespaced: true,
} as const satisfies ResourceType;

/** Set while we may have to terminate the supervisor; removed once Druid no longer needs us. */
export const supervisorFinalizer = 'tributary.dev/druid-supervisor';
