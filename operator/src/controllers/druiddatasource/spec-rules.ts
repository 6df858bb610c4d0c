// What a DruidDatasource's CRD schema cannot say and a sync would fail on, checked before the
// object is stored (by the admission webhook, admission.ts). Pure.
// Refused (issues): columns Druid's DataSchema rejects (Druid 33 computeAndValidateOutputFieldNames:
// `__time` only as the primary timestamp, no name both a dimension and a metric), and
// specOverrides that take over what the controller owns: the supervisor type, its id (the
// datasource), its suspension, and the Kafka topic and brokers StreamJob druid sinks write to.
// The controller would loop on those forever (recreating, suspending or resuming every poll)
// or feed Druid from a topic no job writes. Refused too: basic-auth credentials bound for a
// plain-http url without spec.druid.allowInsecure. Warned: what syncs but likely is not meant.
import { dataSourceOf, type DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { isoDurationMs } from './supervisor-spec.ts';

export interface DatasourceIssue {
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
const timeColumn = '__time';

type Datasource = Pick<DruidDatasource, 'metadata' | 'spec'>;

export function checkDatasourceSpec(
  ds: Datasource,
  old?: Datasource,
): { issues: DatasourceIssue[]; warnings: string[] } {
  const issues = [...columnIssues(ds), ...overrideIssues(ds), ...transportIssues(ds)];
  const warnings: string[] = [];
  if (ds.spec.kafka?.consumerProperties?.['bootstrap.servers'] !== undefined) {
    warnings.push(
      "spec.kafka.consumerProperties: 'bootstrap.servers' is ignored; spec.kafka.bootstrapServers is always used",
    );
  }
  const task = isoDurationMs(ds.spec.ingestion?.taskDuration ?? 'PT1H');
  if (task !== undefined && task < 60_000) {
    warnings.push(
      `spec.ingestion.taskDuration: ${ds.spec.ingestion.taskDuration} is under a minute; Druid fails such tasks (IllegalArgumentException from the rejection-period timer)`,
    );
  }
  if (old && dataSourceOf(old) !== dataSourceOf(ds)) {
    warnings.push(
      `spec.dataSource: this object moves from supervisor "${dataSourceOf(old)}" to "${dataSourceOf(ds)}"; "${dataSourceOf(old)}" keeps running in Druid`,
    );
  }
  return { issues, warnings };
}

/** Credentials travel only over https unless the CR says allowInsecure. */
function transportIssues(ds: Datasource): DatasourceIssue[] {
  const druid = ds.spec.druid;
  if (!druid?.basicAuthSecretRef || druid.allowInsecure === true) return [];
  if (typeof druid.url !== 'string' || /^https:/i.test(druid.url)) return [];
  return [
    {
      path: 'spec.druid.url',
      message:
        'credentials (spec.druid.basicAuthSecretRef) are sent only over https; use an https url or set spec.druid.allowInsecure: true',
    },
  ];
}

function columnIssues(ds: Datasource): DatasourceIssue[] {
  // Overrides that replace these lists make the fields below unused: Druid judges the override.
  const o = ds.spec.specOverrides;
  if (
    at(o, 'spec', 'dataSchema', 'dimensionsSpec') !== undefined ||
    at(o, 'spec', 'dataSchema', 'metricsSpec') !== undefined
  )
    return [];
  const issues: DatasourceIssue[] = [];
  const dims = ds.spec.dimensions ?? [];
  dims.forEach((d, i) => {
    if (d === timeColumn)
      issues.push({
        path: `spec.dimensions[${i}]`,
        message: `"${timeColumn}" is Druid's primary timestamp, not a string dimension (the timestamp comes from spec.timestamp.column)`,
      });
  });
  (ds.spec.metrics ?? []).forEach((m, i) => {
    if (m.name === timeColumn)
      issues.push({
        path: `spec.metrics[${i}].name`,
        message: `"${timeColumn}" is Druid's primary timestamp; name the metric otherwise`,
      });
    const j = dims.indexOf(m.name);
    if (j >= 0 && m.name !== timeColumn)
      issues.push({
        path: `spec.metrics[${i}].name`,
        message: `"${m.name}" is also spec.dimensions[${j}]; Druid refuses a column named twice`,
      });
  });
  return issues;
}

function overrideIssues(ds: Datasource): DatasourceIssue[] {
  const o = ds.spec.specOverrides;
  if (!isObj(o)) return [];
  const issues: DatasourceIssue[] = [];
  const p = 'spec.specOverrides';
  if (o['type'] !== undefined && o['type'] !== 'kafka')
    issues.push({ path: `${p}.type`, message: 'the operator manages Kafka supervisors only (type kafka)' });
  if (o['suspended'] !== undefined)
    issues.push({
      path: `${p}.suspended`,
      message: 'set spec.suspend instead: the operator suspends and resumes the supervisor from it',
    });
  const dataSource = at(o, 'spec', 'dataSchema', 'dataSource');
  if (dataSource !== undefined && dataSource !== dataSourceOf(ds)) {
    issues.push({
      path: `${p}.spec.dataSchema.dataSource`,
      message: 'set spec.dataSource instead: the datasource is the supervisor id the operator tracks',
    });
  }
  const topic = at(o, 'spec', 'ioConfig', 'topic');
  if (topic !== undefined && topic !== ds.spec.kafka?.topic) {
    issues.push({
      path: `${p}.spec.ioConfig.topic`,
      message: 'set spec.kafka.topic instead: StreamJob druid sinks write to that topic',
    });
  }
  const brokers = at(o, 'spec', 'ioConfig', 'consumerProperties', 'bootstrap.servers');
  if (brokers !== undefined && brokers !== ds.spec.kafka?.bootstrapServers) {
    issues.push({
      path: `${p}.spec.ioConfig.consumerProperties.bootstrap.servers`,
      message: 'set spec.kafka.bootstrapServers instead: StreamJob druid sinks write to those brokers',
    });
  }
  return issues;
}
