// Loads a user's job module in a slot (application mode, see host.ts): imports it with a host
// installed and returns the job its `env.execute()` submitted. The module's `import ... from
// 'tributary'` (and 'tributary/connectors') resolves to this runtime's own API, whatever copy
// the module's project installed: the job's graph and functions then run on the engine that
// built them (one version, one set of classes), as a Flink job's "provided" dependency does.
// Errors are TRIB_JOB_MODULE naming the module: not found, threw while loading, finished
// without calling execute(), called execute() twice.
import { registerHooks } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TributaryError } from '../errors.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { installApplicationHost } from './host.ts';

export interface SubmittedJob {
  graph: GraphSpec;
  functions: FunctionRegistry;
}

/** The API entry points a job module may import, as files of this runtime. */
const PROVIDED: Record<string, string> = {
  tributary: new URL('../api.ts', import.meta.url).href,
  'tributary/connectors': new URL('../graph/descriptors.ts', import.meta.url).href,
};

let hooked = false;

/** Resolves `tributary` to this runtime's API for every module loaded from now on (once per process). */
function provideApi(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = PROVIDED[specifier];
      return url ? { url, shortCircuit: true } : nextResolve(specifier, context);
    },
  });
}

/**
 * `file`: the module's path as this process sees it (absolute, or relative to the working
 * directory). `onLateError`: the module failed after it submitted its job (e.g. a second
 * execute()); the slot must fail then, not run on as if nothing happened.
 */
export async function loadJobModule(file: string, onLateError: (err: TributaryError) => void): Promise<SubmittedJob> {
  const path = isAbsolute(file) ? file : resolve(file);
  provideApi();
  let submitted: SubmittedJob | undefined;
  let resolveSubmitted: (job: SubmittedJob) => void = () => {};
  const onSubmit = new Promise<SubmittedJob>((res) => (resolveSubmitted = res));
  installApplicationHost({
    module: path,
    submit: (graph, functions) => {
      if (submitted)
        throw new TributaryError(
          'TRIB_JOB_MODULE',
          `job module ${path} calls execute() more than once; a job module defines one job`,
        );
      submitted = { graph, functions };
      resolveSubmitted(submitted);
      return new Promise<never>(() => {});
    },
  });
  const loaded = import(pathToFileURL(path).href).then(
    () => undefined,
    (cause: unknown) => {
      throw new TributaryError(
        'TRIB_JOB_MODULE',
        `job module ${path} could not be loaded: ${(cause as Error)?.message ?? String(cause)}`,
        { cause },
      );
    },
  );
  // The module's top level awaits execute(), which never settles once it submitted: whichever
  // comes first decides. A module that ends (or fails) without submitting is an error.
  const first = await Promise.race([onSubmit, loaded]);
  if (first) {
    loaded.catch((e: unknown) => onLateError(e as TributaryError));
    return first;
  }
  if (submitted) return submitted;
  throw new TributaryError(
    'TRIB_JOB_MODULE',
    `job module ${path} finished without calling env.execute(): it must build its job and call execute()`,
  );
}
