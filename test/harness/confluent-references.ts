// Confluent's own serdes on schemas with references (test/python/confluent_references.py), the
// independent peer of the reference tests: its ProtobufSerializer registers the imported files
// itself (under their import paths) and skips the well-known types, as it does in production; its
// AvroSerializer and JSONSerializer write with a schema whose named types or `$ref`s come from other
// subjects, and its JSONDeserializer reads back what a job wrote so.
import { runScript } from './confluent-python.ts';

const run = (args: readonly string[], stdin: readonly string[]): Promise<string[]> =>
  runScript('confluent_references.py', args, stdin);

/** .proto files by import path, and the one whose first message is written or read. */
export interface ProtoFiles {
  readonly main: string;
  readonly files: Readonly<Record<string, string>>;
}

/** Confluent's ProtobufSerializer: `records` (Protobuf's JSON mapping) as wire-format bytes under `subject`. */
export async function confluentProtobufWrite(
  url: string,
  subject: string,
  files: ProtoFiles,
  records: readonly object[],
): Promise<Buffer[]> {
  const out = await run(
    ['protobuf', 'write', url, subject, JSON.stringify(files)],
    records.map((r) => JSON.stringify(r)),
  );
  return out.map((hex) => Buffer.from(hex, 'hex'));
}

/** Confluent's ProtobufDeserializer: wire-format bytes as records in Protobuf's JSON mapping. */
export async function confluentProtobufRead(
  url: string,
  subject: string,
  files: ProtoFiles,
  bytes: readonly Buffer[],
): Promise<unknown[]> {
  const out = await run(
    ['protobuf', 'read', url, subject, JSON.stringify(files)],
    bytes.map((b) => b.toString('hex')),
  );
  return out.map((l) => JSON.parse(l) as unknown);
}

/**
 * Confluent's AvroSerializer or JSONSerializer with `schema` and its registered `references` (auto-register off):
 * wire-format bytes under `subject`.
 */
export async function confluentWriteWithReferences(
  format: 'avro' | 'json',
  url: string,
  subject: string,
  schema: string,
  references: readonly { name: string; subject: string; version: number }[],
  records: readonly object[],
): Promise<Buffer[]> {
  const out = await run(
    [format, 'write', url, subject, schema, JSON.stringify(references)],
    records.map((r) => JSON.stringify(r)),
  );
  return out.map((hex) => Buffer.from(hex, 'hex'));
}

/** Confluent's JSONDeserializer (the writer's schema by id, references resolved, validating): the records. */
export async function confluentJsonReadWithReferences(
  url: string,
  subject: string,
  bytes: Buffer[],
): Promise<unknown[]> {
  const out = await run(
    ['json', 'read', url, subject],
    bytes.map((b) => b.toString('hex')),
  );
  return out.map((l) => JSON.parse(l) as unknown);
}
