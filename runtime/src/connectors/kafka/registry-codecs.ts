// A Kafka source's or sink's registry client and codec, from its `format` and `registry:` block
// (registry-config-rules.ts checked them). Credentials come from environment variables the block
// names, read here in the slot, so a job's graph (a ConfigMap on a cluster) never holds them.
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { TributaryError } from '../../errors.ts';
import type { RegistryFormat, SchemaRegistrySpec } from '../../graph/spec.ts';
import { AvroCodec } from '../../formats/avro/avro-codec.ts';
import type { RecordCodec } from '../../formats/codec.ts';
import { JsonSchemaCodec } from '../../formats/json-schema/json-schema-codec.ts';
import { ProtobufCodec } from '../../formats/protobuf/protobuf-codec.ts';
import { declaredMessage } from '../../formats/protobuf/protobuf-files.ts';
import { parseProto, indexesOf } from '../../formats/protobuf/protobuf-schema.ts';
import { SchemaRegistryClient, type RegistryClientMetrics } from '../../formats/registry/client.ts';
import { subjectName } from '../../formats/registry/subject.ts';
import { isRegistryFormat } from './registry-config-rules.ts';
import { registrySecretEnv } from './registry-secret-env.ts';

/** The job's registry counters, when its metrics registry has them (telemetry/metrics.ts registers them). */
function metricsIn(registry: Registry | undefined): RegistryClientMetrics | undefined {
  const requests = registry?.getSingleMetric('tributary_schema_registry_requests_total');
  const hits = registry?.getSingleMetric('tributary_schema_registry_cache_hits_total');
  if (requests === undefined || hits === undefined) return undefined;
  return { registryRequests: requests, registryCacheHits: hits } as unknown as RegistryClientMetrics;
}

function env(name: string, what: string, from?: string): string {
  const v = process.env[name];
  if (v === undefined || v === '')
    throw new TributaryError(
      'TRIB_REGISTRY_CONFIG',
      `${what}: environment variable ${name} is not set${from ? ` (${from})` : ''}`,
    );
  return v;
}

/** The basic auth a registry spec names: from its environment variables, or those its Secret's keys are put in. */
function credentials(
  auth: SchemaRegistrySpec['basicAuth'],
  what: string,
): { username: string; password: string } | undefined {
  if (auth === undefined) return undefined;
  if (auth.secretRef !== undefined) {
    const e = registrySecretEnv(auth.secretRef);
    // On the cluster the operator sets them from the opted-in Secret; elsewhere (tributary run) the user does.
    const from = (key: string) => `key ${JSON.stringify(key)} of Secret ${auth.secretRef?.name}, set by the operator`;
    return {
      username: env(e.username.env, what, from(e.username.key)),
      password: env(e.password.env, what, from(e.password.key)),
    };
  }
  return { username: env(auth.usernameEnv ?? '', what), password: env(auth.passwordEnv ?? '', what) };
}

/** The full name a record-named subject takes: the inline schema's record, message or title. */
export function recordNameOf(format: RegistryFormat, text: string, messageName: string | undefined): string {
  if (format === 'protobuf') {
    // From the file's own declarations first: its imports (references) are not fetched yet here.
    const declared = declaredMessage(text, messageName);
    if (declared !== undefined) return declared;
    const name = indexesOf(parseProto(text, 'the inline schema'), messageName, 'the inline schema').type.fullName;
    return name.replace(/^\./, '');
  }
  const schema = JSON.parse(text) as { name?: unknown; namespace?: unknown; title?: unknown };
  if (format === 'json-schema') return typeof schema.title === 'string' ? schema.title : '';
  const name = typeof schema.name === 'string' ? schema.name : '';
  return typeof schema.namespace === 'string' && !name.includes('.') ? `${schema.namespace}.${name}` : name;
}

/** A key or value codec and the subject its schema lives under. */
export interface SubjectCodec {
  readonly codec: RecordCodec;
  readonly subject: string;
}

export interface RegistryCodec extends SubjectCodec {
  readonly client: SchemaRegistryClient;
  /** With `keyFormat`: the key's codec, on the same client (docs/runtime/formats.md, "Keys"). */
  readonly key?: SubjectCodec;
}

/** The connector's options a codec is built from (KafkaSourceSpec, KafkaSinkSpec). */
export interface RegistryOptions {
  readonly format?: string | undefined;
  readonly keyFormat?: string | undefined;
  readonly registry?: SchemaRegistrySpec | undefined;
  readonly topic: string;
}

function readCa(r: SchemaRegistrySpec, what: string): Buffer | undefined {
  if (r.caFile === undefined) return undefined;
  try {
    return readFileSync(r.caFile);
  } catch (e) {
    throw new TributaryError('TRIB_REGISTRY_CONFIG', `${what}: cannot read registry.caFile: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The codec of the key's (`isKey`) or the value's schema on `client`, under the subject its strategy names. */
function subjectCodec(
  client: SchemaRegistryClient,
  o: { topic: string; format: RegistryFormat; r: SchemaRegistrySpec; isKey: boolean; autoRegister: boolean },
  what: string,
): SubjectCodec {
  const { r, format, isKey } = o;
  const schema = isKey ? r.keySchema : r.schema;
  const messageName = isKey ? r.keyMessageName : r.messageName;
  const field = isKey ? 'registry.keySchema' : 'registry.schema';
  let recordName: string | undefined;
  const strategy = r.subjectStrategy ?? 'topic';
  if (strategy !== 'topic' && schema !== undefined && 'inline' in schema) {
    try {
      recordName = recordNameOf(format, schema.inline, messageName);
    } catch (e) {
      throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: ${field}: ${(e as Error).message}`, { cause: e });
    }
  }
  const subject = subjectName(strategy, { topic: o.topic, isKey, ...(recordName ? { recordName } : {}) });
  const base = { client, subject, ...(schema ? { schema } : {}), autoRegister: o.autoRegister };
  const codec: RecordCodec =
    format === 'avro'
      ? new AvroCodec(base)
      : format === 'protobuf'
        ? new ProtobufCodec({ ...base, ...(messageName ? { messageName } : {}) })
        : new JsonSchemaCodec(base);
  return { codec, subject };
}

/**
 * The codecs of a connector (`what` names it in errors) with a registry format on `topic`'s values (and with
 * `keyFormat` its keys); undefined for the other formats. TRIB_REGISTRY_CONFIG for an unset credential variable or
 * an unreadable caFile.
 */
export function registryCodec(
  o: RegistryOptions,
  what: string,
  role: 'source' | 'sink',
  registry?: Registry,
): RegistryCodec | undefined {
  const r = o.registry;
  if (!isRegistryFormat(o.format) || r === undefined) return undefined;
  const ca = readCa(r, what);
  const metrics = metricsIn(registry);
  const basicAuth = credentials(r.basicAuth, what);
  const client = new SchemaRegistryClient({
    url: r.url,
    ...(ca ? { ca } : {}),
    ...(basicAuth ? { basicAuth } : {}),
    ...(metrics ? { metrics } : {}),
  });
  const autoRegister = role === 'sink' && r.autoRegister !== false;
  const common = { topic: o.topic, r, autoRegister };
  const value = subjectCodec(client, { ...common, format: o.format as RegistryFormat, isKey: false }, what);
  const key = isRegistryFormat(o.keyFormat)
    ? subjectCodec(client, { ...common, format: o.keyFormat as RegistryFormat, isKey: true }, what)
    : undefined;
  return { client, ...value, ...(key ? { key } : {}) };
}
