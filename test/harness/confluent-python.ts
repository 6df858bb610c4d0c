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
