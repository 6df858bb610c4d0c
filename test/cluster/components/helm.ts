import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { cacheRoot } from '../paths.ts';
import { runToLog } from '../process.ts';

/**
 * The Helm CLI, a client tool: `up` provides it beside the cluster (tools.ts) and the chart
 * tests call this too. `go install helm.sh/helm/v3/cmd/helm@v<version>` works as is (no
 * replace directives), once per version (the cache folder's name carries it). Measured cold
 * on 2 shared cores: see charts/tributary/README.md.
 */
export const helmVersion = '3.19.0';
/** The k8s.io/client-go minor Helm 3.19 is built with (its go.mod: v0.34). */
const helmKubeMinor = '34';

export function helmPath(): string {
  return join(cacheRoot(), `helm-${helmVersion}`, 'bin', 'helm');
}

export async function ensureHelm(): Promise<string> {
  const bin = helmPath();
  if (builtVersion(bin) === `v${helmVersion}`) return bin;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 'helm-build', 'the Go toolchain (`go`) is not on PATH', {
      cause: err,
    });
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
        '-gcflags=all=-dwarf=false',
        '-ldflags',
        ldflags(),
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
    throw new ClusterError(
      'CLUSTER_BUILD_FAILED',
      'helm-build',
      `the build finished but ${bin} does not report v${helmVersion}`,
      {
        logFile,
      },
    );
  }
  return bin;
}

/**
 * What Helm's Makefile sets: its version, and the Kubernetes version `helm template`/`lint`
 * assume without a cluster (else 1.20, which fails the chart's kubeVersion constraint).
 */
function ldflags(): string {
  const x = (v: string, val: string) => `-X helm.sh/helm/v3/${v}=${val}`;
  return [
    '-s -w',
    x('internal/version.version', `v${helmVersion}`),
    x('pkg/lint/rules.k8sVersionMajor', '1'),
    x('pkg/lint/rules.k8sVersionMinor', helmKubeMinor),
    x('pkg/chartutil.k8sVersionMajor', '1'),
    x('pkg/chartutil.k8sVersionMinor', helmKubeMinor),
  ].join(' ');
}

function builtVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  try {
    return execFileSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
