// At admission, a Kafka source that reads a version of its subject (`registry.schema.version`,
// a number or latest) and declares no `schema` has its graph's expressions checked against that
// version's fields, as `tributary validate` does: a filter naming a field the schema lacks is
// refused with its path. The webhook calls only the registries the operator's install names
// (`--webhook-schema-registries`, chart value webhook.schemaRegistries: URL prefixes), because it
// would otherwise send requests to any URL a StreamJob's author writes, from the operator's place
// in the network. Sources whose registry asks for credentials or a CA (basicAuth, caFile) are not
// checked: those belong to the slot pods, and the operator does not read them.
// Invariant (as for the DruidDatasource references): a registry that cannot be asked, a schema
// that does not parse, a source not checked, is a warning, never a refusal; only field errors
// against a schema the registry gave refuse.
import { checkGraph } from '../../../../runtime/src/connectors/validate-graph.ts';
import {
  isRegistryFormat,
  registryFieldTypes,
  resolveReferences,
  SchemaRegistryClient,
} from '../../../../runtime/src/connectors/kafka/registry-typing.ts';
import type { RegistryFormat } from '../../../../runtime/src/graph/spec.ts';
import { bounded } from '../../kube/index.ts';
import type { SpecIssue } from '../spec-issues.ts';

/** A mapping of the spec document under review (as the runtime's validation names it). */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sources checked per review at most: each is a registry call (and one per reference) inside the review's deadline. */
const MAX_SOURCES = 8;
/** Per registry call; the whole pass also stops at the review's signal. */
const CALL_TIMEOUT_MS = 1_500;

export interface RegistryAdmission {
  /** URL prefixes of the registries the webhook may call; empty: none (every such source is a warning). */
  readonly allowed: readonly string[];
}

/** True when `url` is `prefix` or lies under it at a path boundary (`http://reg` does not allow `http://reg.evil`). */
export function registryAllowed(url: string, allowed: readonly string[]): boolean {
  return allowed.some((p) => {
    if (!url.startsWith(p)) return false;
    return url.length === p.length || p.endsWith('/') || url[p.length] === '/';
  });
}

interface Candidate {
  readonly index: number;
  readonly kafka: Obj;
  readonly url: string;
  readonly version: number | 'latest';
}

/** The sources the pass is about: registry format, a version as reader schema, no declared field types. */
function candidates(graph: Obj): Candidate[] {
  const sources = Array.isArray(graph['sources']) ? (graph['sources'] as unknown[]) : [];
  const out: Candidate[] = [];
  sources.forEach((s, index) => {
    const kafka = isObj(s) ? s['kafka'] : undefined;
    if (!isObj(kafka) || !isRegistryFormat(kafka['format']) || kafka['schema'] !== undefined) return;
    const r = kafka['registry'];
    const schema = isObj(r) ? r['schema'] : undefined;
    const version = isObj(schema) ? schema['version'] : undefined;
    if (!isObj(r) || typeof r['url'] !== 'string' || (version !== 'latest' && typeof version !== 'number')) return;
    out.push({ index, kafka, url: r['url'], version });
  });
  return out;
}

/**
 * Refusals (field errors against a registry's schema) and warnings (what was not checked, and why) for a graph
 * that passed validation without the registry. `graph` is not changed: the pass types a copy.
 */
export async function registryTypedIssues(
  graph: unknown,
  o: RegistryAdmission,
  signal: AbortSignal,
): Promise<{ issues: SpecIssue[]; warnings: string[] }> {
  if (!isObj(graph)) return { issues: [], warnings: [] };
  const copy = structuredClone(graph);
  const warnings: string[] = [];
  const typed: string[] = [];
  for (const [n, c] of candidates(copy).entries()) {
    const path = `spec.graph.sources[${c.index}].kafka.registry`;
    const unchecked = (why: string) => warnings.push(`${path}: fields not checked against the schema: ${why}`);
    const r = c.kafka['registry'] as Obj;
    if (n >= MAX_SOURCES) unchecked(`more than ${MAX_SOURCES} such sources in one job`);
    else if (!registryAllowed(c.url, o.allowed))
      unchecked(`the operator calls only the registries its install names (webhook.schemaRegistries)`);
    else if (r['basicAuth'] !== undefined || r['caFile'] !== undefined)
      unchecked('its credentials and CA are for the slot pods, the operator does not read them');
    else if (signal.aborted) unchecked('no time left in the review');
    else {
      const subject = `${String(c.kafka['topic'])}-value`;
      const client = new SchemaRegistryClient({ url: c.url, timeoutMs: CALL_TIMEOUT_MS, attempts: 1 });
      try {
        const v = await abortable(client.version(subject, c.version), signal);
        const refs = await abortable(resolveReferences(client, v, `version ${v.version} of "${subject}"`), signal);
        c.kafka['schema'] = { ...registryFieldTypes(c.kafka['format'] as RegistryFormat, v.schema, refs) };
        typed.push(`version ${v.version} of subject "${subject}"`);
      } catch (e) {
        unchecked(bounded((e as Error).message, 200));
      } finally {
        await client.close();
      }
    }
  }
  if (typed.length === 0) return { issues: [], warnings };
  const against = `(registry schema: ${typed.join(', ')})`;
  const issues = checkGraph(copy, 'spec.graph').issues.map((i) => ({
    path: i.path,
    message: `${i.message} ${against}`,
  }));
  return { issues, warnings };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('review deadline passed'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('review deadline passed'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
