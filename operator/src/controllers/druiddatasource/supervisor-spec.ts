import { createHash } from 'node:crypto';
import { dataSourceOf, type DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { SupervisorSpec } from '../../druid/types.ts';

/**
 * The Kafka supervisor spec a DruidDatasource asks for: our fields, then `specOverrides`
 * deep-merged on top. Only the keys in this object are "ours": drift detection compares them
 * and ignores everything Druid fills in by itself.
 */
export function desiredSupervisorSpec(ds: Pick<DruidDatasource, 'metadata' | 'spec'>): SupervisorSpec {
  const s = ds.spec;
  const dimensions = s.dimensions ?? [];
  const generated: SupervisorSpec = {
    type: 'kafka',
    // Druid keeps suspension in the spec itself; /suspend and /resume rewrite this flag.
    suspended: s.suspend,
    spec: {
      dataSchema: {
        dataSource: dataSourceOf(ds),
        timestampSpec: { column: s.timestamp.column, format: s.timestamp.format },
        // No dimensions listed = let Druid discover them from the records.
        dimensionsSpec:
          dimensions.length > 0
            ? { dimensions: dimensions.map((name) => ({ type: 'string', name })) }
            : { dimensions: [], useSchemaDiscovery: true },
        metricsSpec: (s.metrics ?? []).map((m) =>
          m.type === 'count' ? { type: 'count', name: m.name } : { type: m.type, name: m.name, fieldName: m.fieldName },
        ),
        granularitySpec: {
          type: 'uniform',
          segmentGranularity: s.granularity.segment,
          queryGranularity: s.granularity.query,
          rollup: s.granularity.rollup,
        },
      },
      ioConfig: {
        topic: s.kafka.topic,
        inputFormat: { type: 'json' },
        // read_committed: our exactly-once sink's records appear only once their checkpoint commits.
        consumerProperties: {
          'isolation.level': 'read_committed',
          ...s.kafka.consumerProperties,
          'bootstrap.servers': s.kafka.bootstrapServers,
        },
        taskCount: s.ingestion.taskCount,
        replicas: s.ingestion.replicas,
        taskDuration: s.ingestion.taskDuration,
        useEarliestOffset: s.ingestion.useEarliestOffset,
      },
      tuningConfig: { type: 'kafka' },
    },
  };
  return s.specOverrides ? (deepMerge(generated, s.specOverrides) as SupervisorSpec) : generated;
}

/** Objects merge key by key; anything else in `override` (arrays included) replaces. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  return out;
}

/**
 * Paths (like `spec.ioConfig.taskCount`) where the live spec differs from the desired one,
 * looking only at keys the desired spec sets. Druid rewrites some values on the way in
 * (PT1H comes back as PT3600S), so ISO durations compare by length of time.
 */
export function driftedPaths(desired: unknown, live: unknown, path = ''): string[] {
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) return [path || '(root)'];
    return Object.entries(desired).flatMap(([k, v]) => driftedPaths(v, live[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [path];
    return desired.flatMap((v, i) => driftedPaths(v, live[i], `${path}[${i}]`));
  }
  return sameScalar(desired, live) ? [] : [path];
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') {
    const da = isoDurationMs(a);
    return da !== undefined && da === isoDurationMs(b);
  }
  return false;
}

const isoDuration = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** An ISO-8601 duration (days to seconds, as the CRD allows) in ms; undefined when it is not one. */
export function isoDurationMs(text: string): number | undefined {
  const m = isoDuration.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Stable across key order, so a re-ordered but equal spec hashes the same. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
