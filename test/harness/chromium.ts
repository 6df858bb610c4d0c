// Headless Chromium for the browser tests (playwright-core drives it; docs/dependencies.md says
// why): Debian's package, found where it installs, else installed with apt-get once. A fresh CI
// machine runs as root, so the install works there; a machine where it cannot (not root, no
// apt-get) gets an error naming the package to install. Idempotent and safe under lanes: the
// install runs under an exclusive lock folder, and a second caller finds the binary after it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { ClusterError } from '../cluster/errors.ts';

/** Where Debian's `chromium` package puts the browser (and where other distributions do). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const LOCK = '/tmp/tributary-chromium-install.lock';
/** A lock older than this is left over from a killed install. */
const STALE_LOCK_MS = 15 * 60_000;

function found(): string | undefined {
  const fromEnv = process.env['TRIBUTARY_CHROMIUM'];
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

function install(): void {
  const apt = (args: string[]): void => {
    execFileSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 10 * 60_000,
    });
  };
  const pkg = ['install', '-y', '--no-install-recommends', 'chromium'];
  try {
    apt(pkg);
  } catch {
    // A fresh machine's package lists may be empty or old: refresh them once, then try again.
    try {
      apt(['update']);
      apt(pkg);
    } catch (e) {
      throw new ClusterError(
        'CLUSTER_MISSING_TOOL',
        'chromium',
        'headless Chromium is not installed and `apt-get install chromium` failed (run it as root, or set TRIBUTARY_CHROMIUM to a Chromium binary)',
        { cause: e },
      );
    }
  }
}

/** The Chromium binary, installing Debian's package first when there is none. */
export async function ensureChromium(): Promise<string> {
  for (;;) {
    const path = found();
    if (path !== undefined) return path;
    try {
      mkdirSync(LOCK);
    } catch {
      // Someone else installs; a lock left by a killed install is taken over.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock !== undefined && Date.now() - lock.mtimeMs > STALE_LOCK_MS)
        rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    try {
      if (found() === undefined) install();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
    const installed = found();
    if (installed === undefined)
      throw new ClusterError(
        'CLUSTER_MISSING_TOOL',
        'chromium',
        `installed, but found at none of ${CANDIDATES.join(', ')}`,
      );
    return installed;
  }
}
