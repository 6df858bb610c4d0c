/**
 * `npm run cluster -- up [--with kafka] | down | status | env`: the local cluster that every
 * integration test and a newcomer's playground run on. See test/cluster/README.md.
 */
import { parseArgs } from 'node:util';
import { down, envOf, status, tail, up } from './cluster.ts';
import { ClusterError } from './errors.ts';
import { clusterPaths } from './paths.ts';
import { knownAddons, type Addon } from './addons.ts';
import { toolDirs } from './tools.ts';
import { prepare } from './prepare.ts';
import { requestedPodRuntime } from './pod-runtime.ts';
import { mkdirSync } from 'node:fs';

const usage = `usage: npm run cluster -- <command>
  up [--with kafka,s3,druid,kudu,registry]  build/download what is missing (kubectl and helm too), start etcd,
                      kube-apiserver, kube-controller-manager and the node agent (and the addons)
  prepare [--with ...] only build and download what 'up' would (nothing starts, no data is touched)
  down                stop everything 'up' started and delete the cluster's data
  status              show each component, its pid and its log
  env                 print export lines (KUBECONFIG, PATH with kubectl and helm,
                      TRIBUTARY_KAFKA_BROKERS, ...)`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { with: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(`${usage}\n`);
    return command || values.help ? 0 : 2;
  }
  const paths = clusterPaths();
  switch (command) {
    case 'prepare': {
      const t0 = Date.now();
      mkdirSync(paths.logs, { recursive: true });
      const log = (line: string) => process.stderr.write(`[prepare] ${line}\n`);
      const addons = addonsOf(values.with);
      await prepare(paths, { addons, podRuntime: requestedPodRuntime(), rebuildImages: false, log });
      log(`done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      return 0;
    }
    case 'up': {
      const addons = addonsOf(values.with);
      const t0 = Date.now();
      await up({ addons }, paths);
      process.stderr.write(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)}s; logs in ${paths.logs}\n`);
      process.stderr.write(`use it with: eval "$(npm run -s cluster -- env)"\n`);
      return 0;
    }
    case 'down':
      await down(paths);
      process.stderr.write('cluster down\n');
      return 0;
    case 'status': {
      const rows = status(paths);
      if (!rows) {
        process.stdout.write(`no cluster in ${paths.dir}\n`);
        return 3;
      }
      for (const r of rows) {
        process.stdout.write(
          `${r.component.padEnd(26)} ${(r.alive ? 'running' : 'STOPPED').padEnd(8)} pid ${String(r.pid).padEnd(8)} ${r.logFile}\n`,
        );
      }
      return rows.every((r) => r.alive) ? 0 : 3;
    }
    case 'env':
      for (const [k, v] of Object.entries(envOf(paths))) process.stdout.write(`export ${k}=${JSON.stringify(v)}\n`);
      // The cluster's kubectl and helm (built by `up`) before whatever the machine has.
      process.stdout.write(`export PATH="${toolDirs().join(':')}:$PATH"\n`);
      return 0;
    default:
      throw new ClusterError('CLUSTER_BAD_ARGS', 'cluster', `unknown command "${command}"\n${usage}`);
  }
}

function addonsOf(withArgs: string[] | undefined): Addon[] {
  const addons = (withArgs ?? []).flatMap((w) => w.split(',')).filter(Boolean);
  for (const a of addons)
    if (!knownAddons.includes(a as Addon))
      throw new ClusterError('CLUSTER_BAD_ARGS', 'cluster', `unknown addon "${a}"; known: ${knownAddons.join(', ')}`);
  return addons as Addon[];
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof ClusterError && err.logFile) {
      const last = tail(err.logFile);
      if (last) process.stderr.write(`--- last lines of ${err.logFile} ---\n${last}\n`);
    }
    process.exit(1);
  },
);
