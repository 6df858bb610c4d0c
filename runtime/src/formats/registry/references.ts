// A schema's references (Confluent REST: `references: [{name, subject, version}]`) resolved into
// the schemas they name, transitively: what a codec needs beside the schema itself to parse it (the
// files a .proto imports, by import path; the Avro named types it uses). The references come from
// the registry's answers, which are data: the walk is bounded in depth and in schemas, and refuses
// a cycle, each with TRIB_REGISTRY_REFERENCE naming the chain of referencing schemas. Every
// subject version is fetched through the client's version cache (a numbered version never changes).
import { TributaryError, isTributaryError } from '../../errors.ts';
import type { RegistrySchema, SchemaReference, SchemaType, SchemaRegistryClient } from './client.ts';

/** A referenced schema, with where it came from (its subject and version). */
export interface ResolvedReference extends RegistrySchema {
  /** The name the referencing schema uses: a .proto import path, an Avro full name, a JSON Schema $ref. */
  readonly name: string;
  readonly subject: string;
  readonly version: number;
}

export interface ReferenceLimits {
  /** Longest chain of references below the schema itself. Default 16. */
  readonly maxDepth?: number;
  /** Distinct referenced schemas in all. Default 200. */
  readonly maxSchemas?: number;
}

/** The schemas references name, by name, and the order to parse them in. */
export interface References {
  /** Each schema after every schema it references (dependency order), once per name. */
  readonly ordered: readonly ResolvedReference[];
  readonly byName: ReadonlyMap<string, ResolvedReference>;
}

export const NO_REFERENCES: References = { ordered: [], byName: new Map() };

const refError = (message: string, cause?: unknown): TributaryError =>
  new TributaryError('TRIB_REGISTRY_REFERENCE', message, cause === undefined ? undefined : { cause });

/** `version: -1` is Confluent's "the latest version" (looked up each time, not cached). */
const versionOf = (r: SchemaReference): number | 'latest' => (r.version === -1 ? 'latest' : r.version);

/**
 * Resolves the references of `schema` (called `what` in errors, e.g. `schema id 7`): every schema they name,
 * transitively. A reference the registry does not have keeps the registry's code (TRIB_REGISTRY_NOT_FOUND, …)
 * with the reference and its referrer named; a cycle, a chain deeper than maxDepth, more than maxSchemas
 * schemas, one name given two different schemas, or a referenced schema of another type than `schema`'s is
 * TRIB_REGISTRY_REFERENCE.
 */
export async function resolveReferences(
  client: SchemaRegistryClient,
  schema: RegistrySchema,
  what: string,
  limits: ReferenceLimits = {},
): Promise<References> {
  if (!schema.references?.length) return NO_REFERENCES;
  const maxDepth = limits.maxDepth ?? 16;
  const maxSchemas = limits.maxSchemas ?? 200;
  const ordered: ResolvedReference[] = [];
  const byName = new Map<string, ResolvedReference>();
  /** subject+version of the schemas done (all their references before them in `ordered`). */
  const done = new Map<string, ResolvedReference>();
  /** The chain being walked, as subject+version keys: a key met again on it is a cycle. */
  const onPath: string[] = [];
  let fetched = 0;

  const visit = async (refs: readonly SchemaReference[], referrer: string, type: SchemaType): Promise<void> => {
    for (const ref of refs) {
      const named = `reference "${ref.name}" (subject "${ref.subject}" version ${ref.version}) of ${referrer}`;
      const key = `${ref.subject}\u0000${ref.version}`;
      if (onPath.includes(key)) throw refError(`${named} is a cycle: the reference leads back to itself`);
      let resolved = done.get(key);
      if (resolved === undefined) {
        if (onPath.length >= maxDepth) throw refError(`${named} is deeper than ${maxDepth} references`);
        if (++fetched > maxSchemas) throw refError(`${what} references more than ${maxSchemas} schemas (${named})`);
        let sv;
        try {
          sv = await client.version(ref.subject, versionOf(ref));
        } catch (e) {
          if (!isTributaryError(e)) throw e;
          throw new TributaryError(e.code, `${named}: ${e.message}`, { cause: e });
        }
        if (sv.schemaType !== type) throw refError(`${named} is ${sv.schemaType}, not ${type}`);
        onPath.push(key);
        await visit(sv.references ?? [], `reference "${ref.name}" (subject "${ref.subject}") of ${referrer}`, type);
        onPath.pop();
        resolved = { ...sv, name: ref.name, subject: sv.subject, version: sv.version };
        done.set(key, resolved);
        ordered.push(resolved);
      }
      const same = byName.get(ref.name);
      if (same === undefined) byName.set(ref.name, resolved);
      else if (same.subject !== resolved.subject || same.version !== resolved.version)
        throw refError(
          `${named}: the name "${ref.name}" is also subject "${same.subject}" version ${same.version} in ${what}`,
        );
    }
  };
  await visit(schema.references, what, schema.schemaType);
  return { ordered, byName };
}

/** The referenced files by name: a .proto's imports by import path. */
export function importsOf(refs: References): Map<string, string> {
  return new Map([...refs.byName].map(([name, r]) => [name, r.schema]));
}
