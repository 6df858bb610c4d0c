// The control token of a local `tributary run --control-port`: the one TRIBUTARY_CONTROL_TOKEN_FILE
// names, else a fresh random one written to a new 0600 file (only this user can read it) whose
// path is logged, so a local control API is never open to other users of the machine. A
// generated token is worthless once the process ends, so its folder goes with it (on any exit:
// a failed start, a forced Ctrl-C), never a user's file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readControlToken } from './server.ts';

export interface LocalToken {
  token: string;
  file: string;
  generated: boolean;
}

export function localControlToken(env: NodeJS.ProcessEnv = process.env): LocalToken {
  const given = readControlToken(env);
  if (given !== undefined)
    return { token: given, file: env['TRIBUTARY_CONTROL_TOKEN_FILE'] as string, generated: false };
  const token = randomBytes(32).toString('base64url');
  const file = join(mkdtempSync(join(tmpdir(), 'tributary-control-')), 'token');
  writeFileSync(file, token, { mode: 0o600 });
  const t = { token, file, generated: true };
  process.once('exit', () => removeLocalToken(t));
  return t;
}

/** Removes a generated token's folder; a user's file stays. Never throws: a leftover folder only costs disk. */
export function removeLocalToken(t: LocalToken): void {
  if (!t.generated) return;
  try {
    rmSync(dirname(t.file), { recursive: true, force: true });
  } catch {
    // Nothing to report to: this runs as the process exits.
  }
}
