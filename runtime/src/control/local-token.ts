// The control token of a local `tributary run --control-port`: the one TRIBUTARY_CONTROL_TOKEN_FILE
// names, else a fresh random one written to a new 0600 file (only this user can read it) whose
// path is logged, so a local control API is never open to other users of the machine.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  return { token, file, generated: true };
}
