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

/**
 * Runs `test/python/<script>` with `args` in the venv, `stdin` as its input lines; its output
 * lines (empty ones dropped). A failing script is TRIB_INVARIANT with its stderr.
 */
/** Runs a script of test/python in the venv: stdin lines in, non-empty stdout lines out; a failure names it. */
export function runScript(script: string, args: readonly string[], stdin: readonly string[] = []): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const child = execFile(
      confluentPython(),
      [join(repoRoot, 'test/python', script), ...args],
      (err, stdout, stderr) => {
        if (err)
          reject(new TributaryError('TRIB_INVARIANT', `${script} ${args[0] ?? ''} failed: ${stderr}`, { cause: err }));
        else resolve(stdout.split('\n').filter((l) => l.trim() !== ''));
      },
    );
    child.stdin!.end(stdin.length > 0 ? `${stdin.join('\n')}\n` : '');
  });
}

/** Confluent's AvroSerializer writing `records` (JSON values) under `subject` (registering `schema`): wire bytes. */
export async function confluentAvroWrite(
  registryUrl: string,
  subject: string,
  schema: string,
  records: readonly unknown[],
): Promise<Buffer[]> {
  const out = await runScript(
    'confluent_avro_write.py',
    [registryUrl, subject, schema],
    records.map((r) => JSON.stringify(r)),
  );
  return out.map((hex) => Buffer.from(hex.trim(), 'hex'));
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
  const args = [brokers.join(','), registryUrl, topic, String(count), ...(raw ? ['raw'] : [])];
  return (await runScript('confluent_avro_read.py', args)).map((l) => JSON.parse(l) as ConfluentRead);
}

/** A record as Confluent's Consumer read it with its key decoded by the AvroDeserializer too (`null`: no key). */
export interface ConfluentKeyedRead extends Omit<ConfluentRead, 'key'> {
  readonly key: unknown;
}

/** As confluentAvroRead, each message's key decoded as Avro too (MessageField.KEY, its schema by the key's id). */
export async function confluentAvroReadKeyed(
  brokers: readonly string[],
  registryUrl: string,
  topic: string,
  count: number,
): Promise<ConfluentKeyedRead[]> {
  const args = [brokers.join(','), registryUrl, topic, String(count), 'keyed'];
  return (await runScript('confluent_avro_read.py', args)).map((l) => JSON.parse(l) as ConfluentKeyedRead);
}

/**
 * Confluent's Protobuf or JSON Schema serdes (test/python/confluent_serde.py): `write` turns
 * records into wire-format bytes under `subject` (auto-registering `schema`), `read` bytes into
 * records as Confluent's deserializer returns them.
 */
export function confluentSerde(
  action: 'write' | 'read',
  format: 'protobuf' | 'json',
  registryUrl: string,
  subject: string,
  schema: string,
  input: readonly (object | Buffer)[],
): Promise<string[]> {
  const lines = input.map((x) => (Buffer.isBuffer(x) ? x.toString('hex') : JSON.stringify(x)));
  return runScript('confluent_serde.py', [action, format, registryUrl, subject, schema], lines);
}
