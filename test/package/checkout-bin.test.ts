// `npx tributary` in a checkout (after `npm ci`, nothing built): npm links the checkout's own package.json bin,
// bin/tributary.js, which runs the CLI's TypeScript source. It used to name dist/…, which only a pack builds, so
// npx found no command. Each run gets an empty npm cache: npx installs (links) the checkout afresh, offline, and
// a link left in the user's cache by an earlier version can neither hide nor fake the result. The packed
// package's bin: package.int.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const cache = mkdtempSync(join(tmpdir(), 'trib-npx-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const npx = (...args: string[]) =>
  spawnSync('npx', ['--offline', 'tributary', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      npm_config_cache: mkdtempSync(join(cache, 'c-')),
      npm_config_update_notifier: 'false',
    },
  });

describe('npx tributary in a checkout', () => {
  it('prints the usage', () => {
    const r = npx('--help');
    expect(r.stdout, r.stderr).toContain('tributary validate <job.yaml>');
    expect(r.status).toBe(0);
  });

  it('validates a manifest, and passes the CLI’s exit code on', () => {
    const ok = npx('validate', 'crds/examples/clicks.yaml');
    expect(ok.stdout, ok.stderr).toContain('crds/examples/clicks.yaml: valid (7 nodes)');
    expect(ok.status).toBe(0);
    const bad = npx('validate', 'crds/examples/clicks.yaml', '--set', 'spec.replicas=two');
    expect(bad.stderr).toContain('spec.replicas: expected integer');
    expect(bad.status).toBe(2);
  });
});
