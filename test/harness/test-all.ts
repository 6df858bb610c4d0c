// `npm test`: lint, the unit tests, then the integration tests on local clusters.
//
// A cold machine spends about nine minutes building and downloading the cluster (prepare.ts),
// mostly Go compiles, before the first integration test runs; lint and the unit tests keep one
// core busy (vitest runs unit files in one worker on 2 cores). So the preparation starts first,
// in the background at a low priority (niceness 10, inherited by its compilers), and runs beside
// them; the integration setup then finds it done, or waits on nothing it would not have built.
//
// Invariants: a failure of lint or the unit tests stops the preparation (its builds rename into
// place only when complete, so an interrupted one leaves nothing that looks done) and fails the
// run. A failed preparation fails nothing by itself: its log is shown and the integration setup
// prepares again, naming the component that fails. A cluster given in the env (KUBECONFIG and
// TRIBUTARY_CLUSTER_DIR) is used as it is: nothing is prepared.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { clusterPaths, repoRoot } from '../cluster/paths.ts';
import { requestedAddons } from './test-addons.ts';

const vitest = join(repoRoot, 'node_modules', '.bin', 'vitest');
const say = (line: string): void => void process.stderr.write(`[test] ${line}\n`);

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.on('error', (e) => {
      say(`could not start ${child.spawnfile}: ${e.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return exitOf(spawn(cmd, args, { cwd: repoRoot, stdio: 'inherit', env }));
}

interface Preparation {
  done: Promise<number>;
  log: string;
  stop(): void;
}

function startPreparation(): Preparation {
  const paths = clusterPaths();
  mkdirSync(paths.logs, { recursive: true });
  const log = join(paths.logs, 'prepare.log');
  const fd = openSync(log, 'w');
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'test/cluster/cli.ts'), 'prepare', '--with', requestedAddons().join(',')],
    { cwd: repoRoot, stdio: ['ignore', fd, fd], detached: true },
  );
  closeSync(fd);
  // Before the child starts any compiler: they inherit it.
  if (child.pid !== undefined) setPriority(child.pid, 10);
  const done = exitOf(child);
  return {
    done,
    log,
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null)
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
    },
  };
}

async function main(): Promise<number> {
  const givenCluster = Boolean(process.env.KUBECONFIG && process.env.TRIBUTARY_CLUSTER_DIR);
  const prep = givenCluster ? undefined : startPreparation();
  if (prep) say(`preparing the local cluster's builds and downloads in the background (log: ${prep.log})`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      prep?.stop();
      process.exit(130);
    });
  const early = (await run('npm', ['run', '-s', 'lint'])) || (await run(vitest, ['run', '--project', 'unit']));
  if (early !== 0) {
    prep?.stop();
    return early;
  }
  if (prep) {
    const t0 = Date.now();
    const code = await prep.done;
    const waited = ((Date.now() - t0) / 1000).toFixed(1);
    if (code === 0) say(`cluster preparation done (waited ${waited}s after the unit tests)`);
    else
      say(
        `cluster preparation failed (exit ${code}); the integration setup tries again. Its log:\n` +
          readFileSync(prep.log, 'utf8').split('\n').slice(-30).join('\n'),
      );
  }
  const lanes = process.env.TRIBUTARY_TEST_LANES ?? '2';
  return run(vitest, ['run', '--project', 'integration'], { ...process.env, TRIBUTARY_TEST_LANES: lanes });
}

process.exitCode = await main();
