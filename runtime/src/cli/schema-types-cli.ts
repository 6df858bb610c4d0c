// `tributary schema-types --registry URL (--subject S [--version N|latest] | --id N) [--name T]
// [--message M] [--ca FILE] [--user U]`: prints the TypeScript types of a registry schema's
// records (formats/typegen/schema-types.ts). The password for --user comes from the environment
// (TRIBUTARY_REGISTRY_PASSWORD), never from the command line, where `ps` would show it.
import { readFileSync } from 'node:fs';
import { TributaryError } from '../errors.ts';
import { SchemaRegistryClient, type RegistrySchema } from '../formats/registry/client.ts';
import { schemaTypes } from '../formats/typegen/schema-types.ts';
import { resolveReferences } from '../formats/registry/references.ts';

export const SCHEMA_TYPES_USAGE = `usage:
  tributary schema-types --registry URL (--subject S [--version N|latest] | --id N) [options]

  Prints TypeScript types of the records the schema decodes into, for env.fromSource(kafka<T>(...)).
  --registry URL     the Confluent-compatible API, e.g. http://127.0.0.1:18085/apis/ccompat/v7
  --subject S        a subject (e.g. orders-value); --version N or latest (default latest)
  --id N             a schema id instead of a subject
  --name T           the exported name of the top-level type (default: the schema's own, else Value)
  --message M        Protobuf: the message to type (default: the file's first)
  --ca FILE          PEM CA to trust for an https registry
  --user U           basic auth user; the password from TRIBUTARY_REGISTRY_PASSWORD`;

const FLAGS = new Set(['registry', 'subject', 'version', 'id', 'name', 'message', 'ca', 'user']);

function usage(message: string): never {
  throw new TributaryError('TRIB_CLI_USAGE', `${message}\n${SCHEMA_TYPES_USAGE}`);
}

export function parseSchemaTypesArgs(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    const name = flag.startsWith('--') ? flag.slice(2) : '';
    if (!FLAGS.has(name)) usage(`schema-types: unknown argument ${flag}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) usage(`schema-types: ${flag} needs a value`);
    flags.set(name, value);
  }
  if (!flags.has('registry')) usage('schema-types: --registry is required');
  if (flags.has('subject') === flags.has('id')) usage('schema-types: give --subject or --id (one of them)');
  if (flags.has('version') && !flags.has('subject')) usage('schema-types: --version goes with --subject');
  const version = flags.get('version');
  if (version !== undefined && version !== 'latest' && !/^[1-9]\d*$/.test(version))
    usage(`schema-types: --version ${version}: a version number or latest`);
  const id = flags.get('id');
  if (id !== undefined && !/^\d+$/.test(id)) usage(`schema-types: --id ${id}: a schema id (a number)`);
  return flags;
}

/** Runs the command; returns its exit code (usage and registry errors throw, as the other commands'). */
export async function schemaTypesCommand(argv: readonly string[], env = process.env): Promise<number> {
  const flags = parseSchemaTypesArgs(argv);
  const user = flags.get('user');
  const password = env['TRIBUTARY_REGISTRY_PASSWORD'];
  if (user !== undefined && password === undefined)
    usage('schema-types: --user needs the password in TRIBUTARY_REGISTRY_PASSWORD');
  const ca = flags.get('ca');
  const client = new SchemaRegistryClient({
    url: flags.get('registry') as string,
    ...(user !== undefined ? { basicAuth: { username: user, password: password as string } } : {}),
    ...(ca !== undefined ? { ca: readFileSync(ca) } : {}),
  });
  let schema: RegistrySchema;
  let from: string;
  const subject = flags.get('subject');
  if (subject !== undefined) {
    const v = flags.get('version') ?? 'latest';
    const found = await client.version(subject, v === 'latest' ? 'latest' : Number(v));
    schema = found;
    from = `subject ${subject} version ${found.version} (id ${found.id})`;
  } else {
    const id = Number(flags.get('id'));
    schema = await client.schemaById(id);
    from = `schema id ${id}`;
  }
  const name = flags.get('name');
  const message = flags.get('message');
  const refs = await resolveReferences(client, schema, from);
  process.stdout.write(
    schemaTypes(
      schema,
      {
        from: `${from} at ${client.url}`,
        ...(name !== undefined ? { name } : {}),
        ...(message !== undefined ? { messageName: message } : {}),
      },
      refs,
    ),
  );
  return 0;
}
