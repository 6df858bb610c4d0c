import { dirname } from 'node:path';
import { ensureHelm, helmPath } from './components/helm.ts';
import { ensureKubectl, kubectlPath } from './components/kubectl.ts';

/**
 * The clients a user drives the cluster with, provided by `up` beside it: kubectl at the
 * cluster's Kubernetes version and Helm, both built from the Go module proxy once into the
 * cache. `env` puts their folders first on PATH, so the README's commands run the same
 * binaries on every machine.
 */
export async function ensureTools(): Promise<void> {
  await ensureKubectl();
  await ensureHelm();
}

/** The folders `env` prepends to PATH, kubectl's first. */
export function toolDirs(): string[] {
  return [dirname(kubectlPath()), dirname(helmPath())];
}
