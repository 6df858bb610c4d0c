// Before a graph is validated (`tributary validate`, `tributary run`): each Kafka source of a
// registry format whose reader schema is a version of its subject (`registry.schema.version`)
// and that declares no `schema` gets the field types of that version (formats/field-types.ts)
// as its `schema`, so its expressions are checked against the schema as an inline one's are
// (registry-config-rules.ts inlineReaderTypes); so does an inline schema with `references`, which
// validation cannot type without the registry. The schema's references are resolved first.
// Where the registry cannot be asked (down, no credentials in this environment), the source
// stays untyped and a note says why: validation
// then checks its fields per record, as before, and the run itself still needs the registry.
// With `keyFormat` the key's field is added as dyn (registry-key-rules.ts withKeyField); a value
// version that already has the key's field is noted (its records would all be bad).
import { isTributaryError } from '../../errors.ts';
import { registryFieldTypes } from '../../formats/field-types.ts';
import type { SchemaReference } from '../../formats/registry/client.ts';
import { resolveReferences } from '../../formats/registry/references.ts';
import { isObj } from '../../graph/checker.ts';
import type { KafkaSourceSpec, RegistryFormat } from '../../graph/connector-spec.ts';
import { isRegistryFormat } from './registry-config-rules.ts';
import { registryCodec } from './registry-codecs.ts';
import { DEFAULT_KEY_FIELD } from './registry-key-rules.ts';

/** What the pass did, per source: typed by which version, or why not. */
export interface ReaderTyping {
  readonly source: string;
  /** The subject and version typed from; no version for an inline schema (typed with its references' types). */
  readonly typed?: { subject: string; version?: number };
  readonly note?: string;
}

/** Types the graph's registry sources in place (adds `schema`); one registry call per such source. */
export async function typeRegistrySources(graph: unknown): Promise<ReaderTyping[]> {
  const out: ReaderTyping[] = [];
  // The graph is not validated yet: anything not shaped as expected is left to validation to report.
  const sources = isObj(graph) && Array.isArray(graph['sources']) ? (graph['sources'] as unknown[]) : [];
  for (const src of sources) {
    if (!isObj(src) || !isObj(src['kafka']) || typeof src['name'] !== 'string') continue;
    const k = src['kafka'];
    const r = k['registry'];
    const schema = isObj(r) ? r['schema'] : undefined;
    const version = isObj(schema) ? schema['version'] : undefined;
    const versionOk = version === 'latest' || (Number.isInteger(version) && (version as number) >= 1);
    // An inline schema with references: validation could not type it (the referenced types are in the registry).
    const inline = isObj(schema) && Array.isArray(schema['references']) ? schema : undefined;
    if (!isRegistryFormat(k['format']) || !(versionOk || inline) || k['schema'] !== undefined) continue;
    if (typeof k['topic'] !== 'string' || !isObj(r) || typeof r['url'] !== 'string') continue;
    const what = `source "${src['name']}"`;
    try {
      const spec = k as unknown as KafkaSourceSpec;
      const rc = registryCodec(spec, what, 'source');
      if (rc === undefined) continue;
      try {
        if (inline) {
          const type = ({ avro: 'AVRO', protobuf: 'PROTOBUF', 'json-schema': 'JSON' } as const)[
            spec.format as RegistryFormat
          ];
          const text = String(inline['inline']);
          const own = { schemaType: type, schema: text, references: inline['references'] as SchemaReference[] };
          const refs = await resolveReferences(rc.client, own, `the inline schema of ${what}`);
          k['schema'] = { ...registryFieldTypes(k['format'] as RegistryFormat, text, refs) };
          out.push({ source: src['name'], typed: { subject: rc.subject } });
          continue;
        }
        const v = await rc.client.version(rc.subject, version as number | 'latest');
        const refs = await resolveReferences(rc.client, v, `subject "${rc.subject}" version ${v.version}`);
        k['schema'] = { ...registryFieldTypes(k['format'] as RegistryFormat, v.schema, refs) };
        const keyField = spec.keyField ?? DEFAULT_KEY_FIELD;
        const conflict = rc.key !== undefined && keyField in (k['schema'] as object) ? keyField : undefined;
        out.push({ source: src['name'], typed: { subject: rc.subject, version: v.version } });
        if (conflict !== undefined)
          out.push({
            source: src['name'],
            note: `${what}: version ${v.version} of ${rc.subject} has a field ${JSON.stringify(conflict)}, which keyField names for the key: every record would be bad (key_field_conflict); name the key's field otherwise`,
          });
      } finally {
        await rc.client.close();
      }
    } catch (e) {
      if (!isTributaryError(e)) throw e;
      out.push({
        source: src['name'],
        note: `${what}: fields not checked against the registry's schema: ${e.message}`,
      });
    }
  }
  return out;
}
