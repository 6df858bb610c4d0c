import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { cacheRoot } from '../paths.ts';
import { runToLog } from '../process.ts';

/**
 * Prometheus's `promtool`, a test tool: `promtool check rules` and `promtool test rules` run the
 * chart's alert rules and their unit tests (test/chart/alert-rules.int.test.ts). Built once per
 * version from the Go module proxy into the cache, as helm is (the cluster's prepare step
 * builds it in the Go lane; the test finds it there or builds it itself).
 *
 * Prometheus 3.x publishes its Go module as v0.<major><minor>.<patch>: v0.316.0 is 3.16.0. Its
 * go.mod has no replace directives, so `go install …/cmd/promtool@v0.316.0` works as is.
 * `remove_all_sd` leaves out the service-discovery plugins promtool's `check`/`test rules` do not
 * use (AWS, Azure, GCE, …: two thirds of the compile CPU, measured in docs/dependencies.md);
 * Kubernetes SD stays, promtool imports it.
 */
export const promtoolVersion = '3.16.0';
/** github.com/prometheus/prometheus's module version of promtoolVersion. */
const moduleVersion = 'v0.316.0';

export function promtoolPath(): string {
  return join(cacheRoot(), `promtool-${promtoolVersion}`, 'bin', 'promtool');
}

export async function ensurePromtool(): Promise<string> {
  const bin = promtoolPath();
  if (builtVersion(bin) === promtoolVersion) return bin;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 'promtool-build', 'the Go toolchain (`go`) is not on PATH', {
      cause: err,
    });
  }
  const dir = join(cacheRoot(), `promtool-${promtoolVersion}`);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'build.log');
  // Built into a private folder and renamed into place: an interrupted build never leaves
  // a binary that looks complete, and two test processes building at once both succeed.
  const tmp = mkdtempSync(join(dir, '.build-'));
  process.stderr.write(`building promtool ${promtoolVersion} from the Go module proxy (once; log: ${logFile})\n`);
  try {
    await runToLog(
      'promtool-build',
      'go',
      [
        'install',
        '-trimpath',
        '-tags',
        'remove_all_sd',
        '-gcflags=all=-dwarf=false',
        '-ldflags',
        `-s -w -X github.com/prometheus/common/version.Version=${promtoolVersion}`,
        `github.com/prometheus/prometheus/cmd/promtool@${moduleVersion}`,
      ],
      logFile,
      { env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOBIN: tmp, GOFLAGS: '-mod=mod' } },
    );
    mkdirSync(join(dir, 'bin'), { recursive: true });
    renameSync(join(tmp, 'promtool'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (builtVersion(bin) !== promtoolVersion) {
    throw new ClusterError(
      'CLUSTER_BUILD_FAILED',
      'promtool-build',
      `the build finished but ${bin} does not report version ${promtoolVersion}`,
      { logFile },
    );
  }
  return bin;
}

/** `promtool --version` prints `promtool, version 3.16.0 (branch: …)`. */
function builtVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version (\S+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}
