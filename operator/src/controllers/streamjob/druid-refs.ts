// `druid: { datasourceRef }` sinks: the operator resolves each reference to a DruidDatasource
// in the StreamJob's namespace into the concrete Kafka settings the runtime writes to
// (`druid.kafka: {brokers, topic}` = the datasource's spec.kafka, `druid.timestamp` = its
// spec.timestamp), in the graph of the JobConfig it hands the slots. The runtime never
// reads the Kubernetes API for this. The StreamJob's own spec is left as written (its hash,
// hence rescale/upgrade classification, does not depend on the datasource).
// A missing or unusable reference is a spec issue at `spec.graph.sinks[i].druid.datasourceRef`:
// the job is Degraded (InvalidSpec) and not (re)deployed until the reference resolves.
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { isNotFound, type KubeClient } from '../../kube/index.ts';
import { DruidDatasources } from '../druiddatasource/resource.ts';
import type { SpecIssue } from './validation.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface DruidRef {
  index: number;
  name: string;
  path: string;
}

/** The druid sinks of a (structurally valid) graph and the DruidDatasource each names. */
export function druidSinkRefs(graph: unknown): DruidRef[] {
  if (!isObj(graph) || !Array.isArray(graph['sinks'])) return [];
  const out: DruidRef[] = [];
  graph['sinks'].forEach((s: unknown, index: number) => {
    const d = isObj(s) ? s['druid'] : undefined;
    if (isObj(d) && typeof d['datasourceRef'] === 'string')
      out.push({ index, name: d['datasourceRef'], path: `spec.graph.sinks[${index}].druid.datasourceRef` });
  });
  return out;
}

/** Reads the referenced DruidDatasources (absent = not found). */
export async function loadDruidRefs(
  kube: Pick<KubeClient, 'get'>,
  namespace: string,
  graph: unknown,
  signal?: AbortSignal,
): Promise<Map<string, DruidDatasource | undefined>> {
  const out = new Map<string, DruidDatasource | undefined>();
  for (const r of druidSinkRefs(graph)) {
    if (out.has(r.name)) continue;
    try {
      out.set(
        r.name,
        await kube.get<DruidDatasource & { metadata: { name: string } }>(
          DruidDatasources,
          namespace,
          r.name,
          signal ? { signal } : {},
        ),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      out.set(r.name, undefined);
    }
  }
  return out;
}

/** Pure: the graph with every druid sink resolved, or the issues naming the bad references. */
export function resolveDruidRefs(
  graph: unknown,
  found: ReadonlyMap<string, DruidDatasource | undefined>,
  namespace: string,
): { graph: unknown; issues: SpecIssue[] } {
  const refs = druidSinkRefs(graph);
  if (refs.length === 0) return { graph, issues: [] };
  const issues: SpecIssue[] = [];
  const resolved = structuredClone(graph) as { sinks: Obj[] };
  for (const r of refs) {
    const dds = found.get(r.name);
    if (!dds) {
      issues.push({ path: r.path, message: `DruidDatasource "${r.name}" not found in namespace ${namespace}` });
      continue;
    }
    if (dds.metadata.deletionTimestamp) {
      issues.push({ path: r.path, message: `DruidDatasource "${r.name}" is being deleted` });
      continue;
    }
    const k = dds.spec?.kafka;
    if (!k?.bootstrapServers || !k.topic) {
      issues.push({ path: r.path, message: `DruidDatasource "${r.name}" has no spec.kafka.bootstrapServers/topic` });
      continue;
    }
    const sink = resolved.sinks[r.index] as Obj;
    sink['druid'] = {
      ...(sink['druid'] as Obj),
      kafka: { brokers: k.bootstrapServers, topic: k.topic },
      ...(dds.spec.timestamp?.column
        ? { timestamp: { column: dds.spec.timestamp.column, format: dds.spec.timestamp.format ?? 'auto' } }
        : {}),
    };
  }
  return { graph: resolved, issues };
}
