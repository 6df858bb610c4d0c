// Wire types of Druid's supervisor API (/druid/indexer/v1/supervisor), the parts we read.

export type SupervisorState =
  'PENDING' | 'RUNNING' | 'IDLE' | 'SUSPENDED' | 'STOPPING' | 'UNHEALTHY_SUPERVISOR' | 'UNHEALTHY_TASKS';

/** A supervisor spec as POSTed: `{type: 'kafka', spec: {dataSchema, ioConfig, tuningConfig}}`. */
export type SupervisorSpec = Record<string, unknown> & { type: string; spec: Record<string, unknown> };

export interface SupervisorStatus {
  readonly state: SupervisorState | string;
  readonly detailedState: string;
  readonly healthy: boolean;
  readonly suspended: boolean;
  readonly aggregateLag: number | undefined;
  readonly recentErrors: string[];
}
