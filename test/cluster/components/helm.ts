import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { cacheRoot } from '../paths.ts';
import { runToLog } from '../process.ts';

/**
 * The Helm CLI, an optional tool: `up` never needs it; the chart tests build it on first
 * use. `go install helm.sh/helm/v3/cmd/helm@v<version>` works as is (no replace
 * directives), once per version (the cache folder's name carries it). Measured cold on
 * 2 shared cores: see charts/tributary/README.md.
 */
export const helmVersion = '3.19.0';

export function helmPath(): string {
  return join(cacheRoot(), `helm-${helmVersion}`, 'bin', 'helm');
}

export async function ensureHelm(): Promise<string> {
  const bin = helmPath();
  if (builtVersion(bin) === `v${helmVersion}`) return bin;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 'helm-build', 'the Go toolchain (`go`) is not on PATH', { cause: err });
  }
  const dir = join(cacheRoot(), `helm-${helmVersion}`);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'build.log');
  // Built into a private folder and renamed into place: an interrupted build never leaves
  // a binary that looks complete, and two test processes building at once both succeed.
  const tmp = mkdtempSync(join(dir, '.build-'));
  process.stderr.write(`building helm v${helmVersion} from the Go module proxy (once; log: ${logFile})\n`);
  try {
    await runToLog(
      'helm-build',
      'go',
      [
        'install',
        '-trimpath',
        '-ldflags',
        `-s -w -X helm.sh/helm/v3/internal/version.version=v${helmVersion}`,
        `helm.sh/helm/v3/cmd/helm@v${helmVersion}`,
      ],
      logFile,
      { env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOBIN: tmp, GOFLAGS: '-mod=mod' } },
    );
    mkdirSync(join(dir, 'bin'), { recursive: true });
    renameSync(join(tmp, 'helm'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (builtVersion(bin) !== `v${helmVersion}`) {
    throw new ClusterError('CLUSTER_BUILD_FAILED', 'helm-build', `the build finished but ${bin} does not report v${helmVersion}`, {
      logFile,
    });
  }
  return bin;
}

function builtVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  try {
    return execFileSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
