// `tributary run <job.yaml>` (and validate, schema-types, rescale, state gc, help): runs a StreamJob
// manifest (or a bare graph) locally, exactly the graph that `kubectl apply` would run. Exit
// codes: 0 done, 1 job failed, 2 bad usage, invalid graph or invalid job options. Started by the
// entrypoint cli/main.ts.
import { normalizeLocation } from '../checkpoint/storage/state-uri.ts';
import { typeRegistrySources } from '../connectors/kafka/registry-reader-types.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { isTributaryError } from '../errors.ts';
import type { Logger } from 'pino';
import { loadJobFile, type LoadedJob } from '../graph/load.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';
import { createLogger } from '../telemetry/logger.ts';
import { routeProcessWarnings } from '../telemetry/process-warnings.ts';
import { parseArgs, USAGE, type RunArgs } from './args.ts';
import { checkRunDelivery, runCheckpointing, type RunCheckpointing } from './run-checkpointing.ts';
import { resolveRunMode, type ResolvedRunMode } from './run-mode.ts';
import { openLocalStateDir, runStateBackend } from './run-state-backend.ts';
import { lockStateDir } from './state-dir-lock.ts';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'schema-types') {
    const { schemaTypesCommand } = await import('./schema-types-cli.ts');
    return schemaTypesCommand(argv.slice(1));
  }
  if (argv[0] === 'rescale') {
    const { rescaleCommand } = await import('./rescale-cli.ts');
    return rescaleCommand(argv.slice(1));
  }
  if (argv[0] === 'state') {
    const { stateCommand } = await import('./state-gc-cli.ts');
    return stateCommand(argv.slice(1));
  }
  const args = parseArgs(argv);
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger(args.logLevel);
  routeProcessWarnings(logger);
  const loaded = loadJobFile(args.file as string, args.sets);
  if (args.command === 'validate') {
    const { validateManifest } = await import('./validate-manifest.ts');
    const done = validateManifest(loaded, args.file as string);
    if (done !== undefined) {
      process.stdout.write(`${done}\n`);
      return 0;
    }
  }
  // Registry sources read by a schema version: typed from the registry before validation.
  for (const t of await typeRegistrySources(loaded.graph)) {
    if (t.note !== undefined) logger.warn({ source: t.source }, t.note);
    else logger.info({ source: t.source, ...t.typed }, 'fields checked against the registry schema');
  }
  const graph = validateGraph(loaded.graph, loaded.graphPath);
  const mode = resolveRunMode(args, loaded, graph);
  const checkpointing = runCheckpointing(args, loaded, mode.mode !== 'single-thread');
  checkRunDelivery(graph, loaded, checkpointing);
  const backend = runStateBackend(args, loaded);
  if (args.command === 'validate') {
    process.stdout.write(`${args.file}: valid (${graph.nodes.size} nodes)\n`);
    return 0;
  }
  if (mode.oneThreadBecause)
    logger.info({ parallelism: mode.parallelism, why: mode.oneThreadBecause }, 'all slots on one thread');
  return runResolved({ args, loaded, graph, mode, checkpointing, backend, logger });
}

/** A `run` resolved and checked: the job, its mode, its checkpointing and where its keyed state lives. */
interface ResolvedRun {
  args: RunArgs;
  loaded: LoadedJob;
  graph: ValidatedGraph;
  mode: ResolvedRunMode;
  checkpointing: RunCheckpointing | undefined;
  /** Undefined: the heap. */
  backend: StateBackendOptions | undefined;
  logger: Logger;
}

/** Runs it, holding the state directory's lock and the disk backend's local directory meanwhile. */
async function runResolved({
  args,
  loaded,
  graph,
  mode,
  checkpointing,
  backend,
  logger,
}: ResolvedRun): Promise<number> {
  const lock = checkpointing ? lockStateDir(normalizeLocation(checkpointing.stateDir)) : undefined;
  const local = backend ? openLocalStateDir(backend) : undefined;
  if (local) logger.info({ dir: local.options.dir }, 'keyed state on disk (a cache of what checkpoints hold)');
  try {
    // Each mode's modules load only when it runs: a supervised run's thread only supervises (its
    // slots load the engine themselves), and a single-thread run never starts a supervisor.
    if (mode.mode !== 'single-thread') {
      const { runDistributed } = await import('./distributed.ts');
      return await runDistributed(args, loaded, graph, checkpointing as RunCheckpointing, logger, {
        ...mode,
        ...(local ? { stateBackend: local.options } : {}),
      });
    }
    const { runInProcess } = await import('./run-in-process.ts');
    const code = await runInProcess(args, loaded, graph, checkpointing, logger, local?.options);
    inProcessEnded = true;
    return code;
  } finally {
    local?.release();
    lock?.release();
  }
}

let inProcessEnded = false;

/** A one-thread run's job ended: every sink closed, every commit done (cli/main.ts then ends the process). */
export function oneThreadRunEnded(): boolean {
  return inProcessEnded;
}

/** Runs the command `argv` names and sets the process's exit code; never rejects. */
export function runCli(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (isTributaryError(e)) {
        process.stderr.write(`error ${e.code}: ${e.message}\n`);
        if (e.cause instanceof Error && !e.message.includes(e.cause.message))
          process.stderr.write(`  cause: ${e.cause.message}\n`);
        process.exitCode =
          e.code === 'TRIB_GRAPH_INVALID' ||
          e.code === 'TRIB_GRAPH_LOAD' ||
          e.code === 'TRIB_MANIFEST_INVALID' ||
          e.code === 'TRIB_CLI_USAGE' ||
          e.code === 'TRIB_JOB_CONFIG'
            ? 2
            : 1;
      } else {
        process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
