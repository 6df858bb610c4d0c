// The independent writer of the codec tests: Confluent's own serializers (the `confluent-kafka`
// Python package, test/python/confluent-requirements.txt pins it and everything it pulls), not
// our encoder, so a framing or encoding bug our encoder and decoder share cannot hide. Installed
// from PyPI once per requirements file into a venv in the cache, renamed into place when complete.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../../runtime/src/errors.ts';
import { cacheRoot, repoRoot } from '../cluster/paths.ts';

const requirements = join(repoRoot, 'test/python/confluent-requirements.txt');

/** The venv's python, installing it first when missing. */
export function confluentPython(): string {
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 12);
  const venv = join(cacheRoot(), `confluent-kafka-${digest}`);
  const python = join(venv, 'bin', 'python');
  if (existsSync(python)) return python;
  const tmp = `${venv}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    execFileSync('python3', ['-m', 'venv', tmp], { stdio: 'pipe' });
    // --no-deps: the file pins the whole closure, so what runs is what it names.
    execFileSync(join(tmp, 'bin', 'pip'), ['install', '-q', '--no-deps', '-r', requirements], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  } catch (err) {
    throw new TributaryError('TRIB_INVARIANT', `could not install confluent-kafka from ${requirements}`, {
      cause: err,
    });
  }
  // The venv's scripts name its folder: a renamed venv runs its python by path, which is all we use.
  renameSync(tmp, venv);
  return python;
}

/** Confluent's AvroSerializer writing `records` under `subject` (auto-registering `schema`): wire-format bytes. */
export async function confluentAvroWrite(
  registryUrl: string,
  subject: string,
  schema: string,
  records: readonly object[],
): Promise<Buffer[]> {
  const script = join(repoRoot, 'test/python/confluent_avro_write.py');
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(confluentPython(), [script, registryUrl, subject, schema], (err, stdout, stderr) => {
      if (err)
        reject(new TributaryError('TRIB_INVARIANT', `confluent_avro_write.py failed: ${stderr}`, { cause: err }));
      else resolve(stdout);
    });
    child.stdin!.end(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
  return out
    .trim()
    .split('\n')
    .map((hex) => Buffer.from(hex, 'hex'));
}

/** A record as Confluent's Consumer read it (confluent_avro_read.py): key, headers and, when raw, value in hex. */
export interface ConfluentRead {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: unknown;
  readonly headers: readonly [string, string][];
}

/**
 * `topic` from its beginning until `count` records (or 20 s), read by Confluent's Consumer and decoded by its
 * AvroDeserializer as written (`raw`: the value's bytes in hex, not decoded).
 */
export async function confluentAvroRead(
  brokers: readonly string[],
  registryUrl: string,
  topic: string,
  count: number,
  raw = false,
): Promise<ConfluentRead[]> {
  const script = join(repoRoot, 'test/python/confluent_avro_read.py');
  const args = [script, brokers.join(','), registryUrl, topic, String(count), ...(raw ? ['raw'] : [])];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(confluentPython(), args, (err, stdout, stderr) => {
      if (err) reject(new TributaryError('TRIB_INVARIANT', `confluent_avro_read.py failed: ${stderr}`, { cause: err }));
      else resolve(stdout);
    });
  });
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ConfluentRead);
}

/**
 * Confluent's Protobuf or JSON Schema serdes (test/python/confluent_serde.py): `write` turns
 * records into wire-format bytes under `subject` (auto-registering `schema`), `read` bytes into
 * records as Confluent's deserializer returns them.
 */
export async function confluentSerde(
  action: 'write' | 'read',
  format: 'protobuf' | 'json',
  registryUrl: string,
  subject: string,
  schema: string,
  input: readonly (object | Buffer)[],
): Promise<string[]> {
  const script = join(repoRoot, 'test/python/confluent_serde.py');
  const lines = input.map((x) => (Buffer.isBuffer(x) ? x.toString('hex') : JSON.stringify(x)));
  const out = await new Promise<string>((resolve, reject) => {
    const args = [script, action, format, registryUrl, subject, schema];
    const child = execFile(confluentPython(), args, (err, stdout, stderr) => {
      if (err)
        reject(
          new TributaryError('TRIB_INVARIANT', `confluent_serde.py ${action} ${format} failed: ${stderr}`, {
            cause: err,
          }),
        );
      else resolve(stdout);
    });
    child.stdin!.end(lines.join('\n') + '\n');
  });
  return out.trim().split('\n');
}
