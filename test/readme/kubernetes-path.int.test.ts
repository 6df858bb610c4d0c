// README.md "On Kubernetes", run as written: the commands of its indented code blocks, in
// order, each in bash with the environment the previous ones left, from the checkout, with
// the example files it names — once with the Helm install, once with `npm run operator … &`
// instead, each variant in a namespace of its own (the default namespace of a kubeconfig
// copy: the README's commands name none). Between commands, operator-checks.ts and
// clicks-checks.ts check what each promises. The test only adds lines of its own (the namespace, adopting CRDs other
// tests created, checks); the README's lines run unchanged but one: the tail job runs 20 s,
// not 90 s (see its check). When the README changes, this test runs the new text; a check
// whose command is gone fails, naming it. The two variants run one after the other: the
// README's release (`tributary` in `tributary-system`) and its operator watch every
// namespace, so only one operator may run at a time; both are removed at the end even on
// failure (StreamJobs deleted while their operator still runs, then the release or the
// background operator, then the namespaces and the jobs' objects in the bucket).
import type { GraphSpec } from '../../runtime/src/graph/spec.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamJob } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { Resources, type KubeClient } from '../../operator/src/kube/index.ts';
import { newClient, suffix, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import { clusterPaths, repoRoot } from '../cluster/paths.ts';
import { deletePrefix, localS3 } from '../harness/s3-state-storage.ts';
import { checkoutFor, clusterAddresses } from './checkout-view.ts';
import { kafkaFor } from './clicks-output.ts';
import { ReadmeError } from './errors.ts';
import { clicksChecks } from './clicks-checks.ts';
import { operatorChecks, uninstallRelease } from './operator-checks.ts';
import type { PathContext, StepCheck, Variant } from './path-context.ts';
import { ReadmeShell } from './readme-shell.ts';
import { sectionSteps, withoutBlocksOf, type ReadmeStep } from './readme-steps.ts';

const all = sectionSteps(readFileSync(join(repoRoot, 'README.md'), 'utf8'), 'On Kubernetes');
const variants: { name: Variant; steps: ReadmeStep[] }[] = [
  { name: 'helm', steps: withoutBlocksOf(all, /^npm run operator\b/) },
  { name: 'checkout', steps: withoutBlocksOf(all, /^helm install /) },
];
const stepTimeoutMs = 10 * 60_000;
const stepChecks: readonly StepCheck[] = [...operatorChecks, ...clicksChecks];
const tmp = mkdtempSync(join(tmpdir(), 'readme-k8s-'));
const id = suffix();

/** A new user's shell: this machine's, plus which cluster to use; nothing the README's env line provides. */
function userEnv(): Record<string, string> {
  const keep = ['TRIBUTARY_CLUSTER_DIR', 'TRIBUTARY_CLUSTER_PORT_OFFSET', 'TRIBUTARY_CACHE_DIR'];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'KUBECONFIG' || k === 'NODE_ENV' || k === 'TEST' || k.startsWith('VITEST')) continue;
    if (k.startsWith('TRIBUTARY_') && !keep.includes(k)) continue;
    env[k] = v;
  }
  // The operator from a checkout binds its metrics port on every interface by default; on a
  // machine where another lane's pods listen on 8080 at their own loopback addresses that bind
  // would collide, so this shell binds it to 127.0.0.1 (where the checks read it).
  env.TRIBUTARY_OPERATOR_METRICS_ADDR = '127.0.0.1:8080';
  return env;
}

async function runStep(c: PathContext, step: ReadmeStep, checks: readonly StepCheck[]): Promise<void> {
  const where = `README.md:${step.line}`;
  const guarded = async (k: StepCheck, phase: 'before' | 'after', fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      throw new ReadmeError(
        'README_CHECK_FAILED',
        `${where} \`${step.text}\` (${phase}): ${k.name}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  const b0 = Date.now();
  for (const k of checks) if (k.before) await guarded(k, 'before', () => k.before!(c));
  if (Date.now() - b0 > 5_000)
    console.log(`[readme ${c.variant}] waited ${((Date.now() - b0) / 1000).toFixed(0)}s before ${where}`);
  const command = checks.find((k) => k.rewrite)?.rewrite?.(step.text) ?? step.text;
  const t0 = Date.now();
  const output = await c.shell.run(command, where, stepTimeoutMs);
  console.log(`[readme ${c.variant}] ${where} ${command} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  for (const k of checks) if (k.after) await guarded(k, 'after', () => k.after!(c, output));
}

/** Leaves nothing behind: jobs deleted while their operator runs, then the operator, then the namespaces. */
async function cleanUp(c: PathContext): Promise<void> {
  const errors: unknown[] = [];
  const attempt = async (fn: () => Promise<unknown>) => fn().catch((e: unknown) => errors.push(e));
  await attempt(async () => {
    for (const j of (await c.kube.list<StreamJob>(StreamJobs, c.ns)).items)
      await c.kube.delete(StreamJobs, c.ns, j.metadata.name);
    await waitFor(
      'the StreamJobs to be finalized by their operator',
      async () => (await c.kube.list(StreamJobs, c.ns)).items.length === 0,
      120_000,
      1_000,
    );
  });
  if (c.variant === 'helm') {
    await attempt(() => uninstallRelease(c));
  }
  await attempt(() => c.shell.stopBackground());
  // Whatever an absent operator left finalized: nothing will remove its finalizers now.
  await attempt(async () => {
    for (const j of (await c.kube.list<StreamJob>(StreamJobs, c.ns)).items) {
      await c.kube.patch(StreamJobs, c.ns, j.metadata.name, { metadata: { finalizers: null } });
    }
  });
  await attempt(() => c.kube.delete(Resources.Namespace, undefined, c.ns));
  // The jobs' state in the bucket (the README's default has no prefix: <namespace>/<job>/…).
  await attempt(() => deletePrefix(c.ns, c.s3));
  if (errors.length > 0) console.warn(`[readme ${c.variant}] clean-up problems:`, errors);
}

describe('README "On Kubernetes", run as written', () => {
  let kube: KubeClient | undefined;
  const kafka = kafkaFor(process.env.TRIBUTARY_KAFKA_BROKERS ?? '');
  afterAll(async () => {
    await kube?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const { name: variant, steps } of variants) {
    it(
      `${variant === 'helm' ? 'helm install' : 'npm run operator … &'}: feed, run, read, rescale 2→3→1 and delete the clicks job`,
      async () => {
        const brokers = process.env.TRIBUTARY_KAFKA_BROKERS;
        if (!brokers || !process.env.TRIBUTARY_CLUSTER_DIR)
          throw new ReadmeError(
            'README_FORMAT',
            'TRIBUTARY_KAFKA_BROKERS / TRIBUTARY_CLUSTER_DIR not set: the integration setup starts the cluster with Kafka and S3',
          );
        kube ??= await newClient();
        const dir = mkdtempSync(join(tmp, `${variant}-`));
        const cwd = checkoutFor(repoRoot, clusterAddresses(), dir);
        const example = (f: string) => parse(readFileSync(join(cwd, 'crds/examples', f), 'utf8')) as StreamJob;
        const datagen = (
          (example('clicks-feed.yaml').spec.graph as GraphSpec).sources[0] as {
            datagen?: { rate?: number; eventRate?: number };
          }
        ).datagen;
        const feedRate = datagen?.eventRate ?? datagen?.rate;
        if (!feedRate)
          throw new ReadmeError(
            'README_FORMAT',
            'crds/examples/clicks-feed.yaml: the test needs its datagen rate (records per second of event time)',
          );
        const paths = clusterPaths();
        const c: PathContext = {
          variant,
          ns: `readme-${variant}-${id}`,
          shell: new ReadmeShell({ cwd, env: userEnv(), dir }),
          kube,
          kafka,
          tmp: dir,
          clusterDir: paths.dir,
          kubeconfig: paths.kubeconfig,
          brokers,
          s3: localS3(),
          feedRate,
          countRescaledMinutes: variant === 'helm',
          outputFrom: new Map(),
          clicksFrom: new Map(),
        };
        const mine = stepChecks.filter((k) => !k.variants || k.variants.includes(variant));
        const t0 = Date.now();
        try {
          const matched = new Map<StepCheck, number>();
          for (const step of steps) {
            const checks = mine.filter((k) => k.match.test(step.text));
            for (const k of checks) matched.set(k, (matched.get(k) ?? 0) + 1);
            await runStep(c, step, checks);
          }
          const missing = mine
            .filter((k) => (matched.get(k) ?? 0) !== (k.times ?? 1))
            .map((k) => `${k.name} (${k.match}: ${matched.get(k) ?? 0} of ${k.times ?? 1})`);
          expect(
            missing,
            'README commands the test checks but did not find: update test/readme/*-checks.ts with the README',
          ).toEqual([]);
        } finally {
          await cleanUp(c);
        }
        console.log(`[readme ${variant}] the README's path took ${((Date.now() - t0) / 1000).toFixed(0)}s`);
      },
      45 * 60_000,
    );
  }
});
