import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../errors.ts';
import { cacheRoot, versions } from '../paths.ts';
import { runToLog } from '../process.ts';

/**
 * kubectl at the cluster's own Kubernetes version, so `env` puts a client on PATH that is
 * within the supported version skew of the apiserver whatever the machine has installed.
 * k8s.io/kubernetes/cmd/kubectl cannot be `go install`ed (its go.mod replaces the staging
 * modules with local folders). scripts/build-kube.sh builds it beside the apiserver (its
 * wrapper module pins the staging modules), and this takes that binary. A Kubernetes cache
 * from before that has none: then its main, three lines over the published k8s.io/kubectl
 * module, is built in a wrapper module of its own, once per version (the cache folder's name
 * carries it); with the Go build cache the apiserver build left, about 3 minutes on 2 cores.
 */
export function kubectlPath(): string {
  return join(cacheRoot(), `kubectl-${versions.kubernetes}`, 'bin', 'kubectl');
}

/** cmd/kubectl/kubectl.go of Kubernetes 1.36. */
const mainGo = `package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
`;

export async function ensureKubectl(): Promise<string> {
  const bin = kubectlPath();
  const want = `v${versions.kubernetes}`;
  if (builtVersion(bin) === want) return bin;
  const dir = join(cacheRoot(), `kubectl-${versions.kubernetes}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  // Built (or copied) in a private folder and renamed into place: an interrupted build never
  // leaves a binary that looks complete, and two processes building at once both succeed.
  const fromKube = join(cacheRoot(), `kube-${versions.kubernetes}`, 'bin', 'kubectl');
  if (builtVersion(fromKube) === want) {
    const tmp = mkdtempSync(join(dir, '.copy-'));
    try {
      copyFileSync(fromKube, join(tmp, 'kubectl'));
      renameSync(join(tmp, 'kubectl'), bin);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return bin;
  }
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', 'kubectl-build', 'the Go toolchain (`go`) is not on PATH', {
      cause: err,
    });
  }
  const logFile = join(dir, 'build.log');
  const tmp = mkdtempSync(join(dir, '.build-'));
  process.stderr.write(`building kubectl ${want} from the Go module proxy (once; log: ${logFile})\n`);
  const minor = versions.kubernetes.split('.')[1] ?? '';
  const staging = `v0.${versions.kubernetes.slice(versions.kubernetes.indexOf('.') + 1)}`;
  const go = (args: string[]) =>
    runToLog('kubectl-build', 'go', args, logFile, {
      cwd: tmp,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
    });
  try {
    await go(['mod', 'init', 'local/tributary-kubectl']);
    writeFileSync(join(tmp, 'main.go'), mainGo);
    await go(['get', `k8s.io/kubectl@${staging}`, `k8s.io/component-base@${staging}`]);
    const x = (pkg: string) => [`-X ${pkg}.gitVersion=${want}`, `-X ${pkg}.gitMajor=1`, `-X ${pkg}.gitMinor=${minor}`];
    const ldflags = ['-s -w', ...x('k8s.io/client-go/pkg/version'), ...x('k8s.io/component-base/version')].join(' ');
    // The flags of scripts/build-kube.sh (the build cache is keyed by them): no compiler debug info.
    await go(['build', '-trimpath', '-gcflags=all=-dwarf=false', '-ldflags', ldflags, '-o', join(tmp, 'kubectl'), '.']);
    renameSync(join(tmp, 'kubectl'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (builtVersion(bin) !== want) {
    throw new ClusterError(
      'CLUSTER_BUILD_FAILED',
      'kubectl-build',
      `the build finished but ${bin} does not report ${want}`,
      { logFile },
    );
  }
  return bin;
}

function builtVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  try {
    const out = execFileSync(bin, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    return (JSON.parse(out) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
  } catch {
    return undefined;
  }
}
