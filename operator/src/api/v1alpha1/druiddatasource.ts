// DruidDatasource (tributary.dev/v1alpha1) as TypeScript: mirrors
// crds/druiddatasources.tributary.dev.yaml, the source of truth.
import type { Condition, ObjectMeta } from './streamjob.ts';

export const kind = 'DruidDatasource';
export const plural = 'druiddatasources';

export type MetricType =
  | 'count'
  | 'longSum'
  | 'doubleSum'
  | 'floatSum'
  | 'longMin'
  | 'longMax'
  | 'doubleMin'
  | 'doubleMax'
  | 'floatMin'
  | 'floatMax'
  | 'longFirst'
  | 'longLast'
  | 'doubleFirst'
  | 'doubleLast'
  | 'stringFirst'
  | 'stringLast'
  | 'hyperUnique'
  | 'thetaSketch'
  | 'HLLSketchBuild';

export interface DruidDatasourceSpec {
  druid: {
    url: string;
    /** Send basicAuthSecretRef credentials over plain http (default false). */
    allowInsecure?: boolean;
    basicAuthSecretRef?: { name: string; usernameKey: string; passwordKey: string };
  };
  dataSource?: string;
  kafka: { bootstrapServers: string; topic: string; consumerProperties?: Record<string, string> };
  timestamp: { column: string; format: 'millis' | 'iso' | 'auto' | 'posix' | 'micro' | 'nano' };
  dimensions?: string[];
  metrics?: { type: MetricType; name: string; fieldName?: string }[];
  granularity: { segment: string; query: string; rollup: boolean };
  ingestion: { taskCount: number; replicas: number; taskDuration: string; useEarliestOffset: boolean };
  suspend: boolean;
  deletionPolicy: 'Terminate' | 'Retain';
  specOverrides?: Record<string, unknown>;
}

export interface DruidDatasourceStatus {
  supervisorId?: string;
  state?: string;
  detailedState?: string;
  healthy?: boolean;
  aggregateLag?: number;
  recentErrors?: string[];
  observedGeneration?: number;
  lastSyncedSpecHash?: string;
  lastError?: string;
  conditions?: Condition[];
}

export interface DruidDatasource {
  apiVersion: 'tributary.dev/v1alpha1';
  kind: typeof kind;
  metadata: ObjectMeta;
  spec: DruidDatasourceSpec;
  status?: DruidDatasourceStatus;
}

/** The datasource (and supervisor id) a DruidDatasource owns. */
export function dataSourceOf(ds: Pick<DruidDatasource, 'metadata' | 'spec'>): string {
  return ds.spec.dataSource ?? ds.metadata.name;
}
