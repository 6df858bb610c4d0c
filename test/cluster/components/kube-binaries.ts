import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { repoRoot, versions } from '../paths.ts';
import { runToLog } from '../process.ts';

/**
 * kube-apiserver and kube-controller-manager (and kubectl, which components/kubectl.ts takes)
 * built from the Go module proxy, once per version (the cache folder's name carries it). A
 * build that fails leaves no binary, so the next `up` simply retries.
 */
export async function ensureKubeBinaries(binDir: string, logFile: string): Promise<void> {
  if (
    builtVersion(join(binDir, 'kube-apiserver')) === `v${versions.kubernetes}` &&
    existsSync(join(binDir, 'kube-controller-manager'))
  ) {
    return;
  }
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 'kubernetes-build', 'the Go toolchain (`go`) is not on PATH', {
      cause: err,
    });
  }
  mkdirSync(binDir, { recursive: true });
  process.stderr.write(
    `building kube-apiserver, kube-controller-manager and kubectl v${versions.kubernetes} from the Go module proxy ` +
      `(once; 6-8 min on 2 cores; log: ${logFile})\n`,
  );
  await runToLog(
    'kubernetes-build',
    'bash',
    [join(repoRoot, 'test/cluster/scripts/build-kube.sh'), versions.kubernetes, dirname(binDir)],
    logFile,
    { env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' } },
  );
  if (builtVersion(join(binDir, 'kube-apiserver')) !== `v${versions.kubernetes}`) {
    throw new ClusterError(
      'CLUSTER_BUILD_FAILED',
      'kubernetes-build',
      'the build finished but kube-apiserver is missing',
      {
        logFile,
      },
    );
  }
}

function builtVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split(' ').pop();
  } catch {
    return undefined;
  }
}
