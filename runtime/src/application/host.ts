// Application mode: a slot runs a user's job module (a program that builds its job with the
// DataStream API and calls `env.execute()`) instead of a graph from its JobConfig. The slot
// installs a host on globalThis before importing the module; `execute()` finds it there and
// hands the job (graph + functions) to the slot instead of running it in its own process.
// The host lives under a registered symbol, not in a module variable, so that it is found
// even by a second copy of the API (a job module that bundles its own `tributary`).
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';

export const APPLICATION_HOST = Symbol.for('tributary.application-host');

export interface ApplicationHost {
  /** The job module's path, for messages. */
  readonly module: string;
  /**
   * Takes the job. Never settles: from here the slot runs the job, and the slot process ends
   * with it (the module's code after `await env.execute()` does not run in a slot).
   */
  submit(graph: GraphSpec, functions: FunctionRegistry): Promise<never>;
}

export function applicationHost(): ApplicationHost | undefined {
  return (globalThis as { [APPLICATION_HOST]?: ApplicationHost })[APPLICATION_HOST];
}

export function installApplicationHost(host: ApplicationHost | undefined): void {
  const g = globalThis as { [APPLICATION_HOST]?: ApplicationHost };
  if (host) g[APPLICATION_HOST] = host;
  else delete g[APPLICATION_HOST];
}
