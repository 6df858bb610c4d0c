// An Avro schema text parsed with the named types its references define: the referenced schemas
// first, in dependency order (each after the ones it references), into one avsc type registry,
// then the schema itself, whose names then resolve against them (Confluent's Avro serdes do the
// same; a reference's name is the full name of the type it defines, which avsc finds by itself).
import avro, { type Type } from 'avsc';
import { TributaryError } from '../../errors.ts';
import { NO_REFERENCES, type References } from '../registry/references.ts';

function forSchema(text: string, what: string, registry: Record<string, Type>): Type {
  try {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema, { registry });
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what} is not a valid Avro schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The named types `refs` define (of the schema called `what`), by full name: an avsc type registry. */
export function referencedTypes(refs: References, what: string): Record<string, Type> {
  const registry: Record<string, Type> = {};
  for (const r of refs.ordered)
    forSchema(r.schema, `reference "${r.name}" (subject "${r.subject}" version ${r.version}) of ${what}`, registry);
  return registry;
}

/** `text` (called `what` in errors) with the named types of `refs`; TRIB_FORMAT_SCHEMA naming the failing one. */
export function parseAvro(text: string, what: string, refs: References = NO_REFERENCES): Type {
  return forSchema(text, what, referencedTypes(refs, what));
}
