// Finding a graph's functions in the job code's registry, and what happens when one throws:
// the step's errorOutput (the record goes to that stream, see operators/record-errors.ts),
// else the step's onError, else the job's onRecordError, else `fail` (a throw is a bug in
// the job's code, unlike a CEL expression meeting a bad record): `fail` the job with the
// record attached, or `skip` the record (counted and logged).
import { TributaryError } from '../errors.ts';
import type { FunctionRegistry, RegisteredFunction } from '../graph/function-registry.ts';
import type { OperatorContext } from '../operators/types.ts';
import type { RecordOrigin } from '../core/origin.ts';

export function lookupFunction<K extends RegisteredFunction['kind']>(
  registry: FunctionRegistry | undefined,
  ref: string,
  kind: K,
  where: string,
): Extract<RegisteredFunction, { kind: K }> {
  const f = registry?.get(ref);
  if (!f)
    throw new TributaryError(
      'TRIB_FUNCTION_MISSING',
      `${where} names function "${ref}", which the job's code does not define${registry ? '' : ' (this job was started without code: a graph with function steps runs only from the program that built it)'}`,
      { path: where },
    );
  if (f.kind !== kind)
    throw new TributaryError(
      'TRIB_FUNCTION_MISSING',
      `${where} expects a ${kind} function as "${ref}", the code registered a ${f.kind}`,
      {
        path: where,
      },
    );
  return f as Extract<RegisteredFunction, { kind: K }>;
}

/** At most this many characters of a record in an error message. */
const PREVIEW = 300;

export function previewRecord(rec: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(rec) ?? String(rec);
  } catch {
    s = String(rec);
  }
  return s.length > PREVIEW ? `${s.slice(0, PREVIEW)}…` : s;
}

export type OnFunctionError = (err: unknown, record: unknown, origin?: RecordOrigin) => void;

/** The policy of a step without errorOutput: its onError, else the job's onRecordError, else fail. */
export function effectivePolicy(
  stepOnError: 'fail' | 'skip' | undefined,
  onRecordError: 'fail' | 'skip' | undefined,
): 'fail' | 'skip' {
  return stepOnError ?? onRecordError ?? 'fail';
}

/** `fail` throws TRIB_FUNCTION_FAILED out of the operator (the slot fails, then the job); `skip` counts and logs. */
export function functionErrorPolicy(policy: 'fail' | 'skip', ctx: OperatorContext): OnFunctionError {
  if (policy === 'skip') return (e, rec, origin) => ctx.metrics.functionError(e, rec, origin);
  return (e, rec) => {
    throw new TributaryError(
      'TRIB_FUNCTION_FAILED',
      `step "${ctx.stepName}": the function threw on record ${previewRecord(rec)}: ${(e as Error)?.message ?? String(e)}`,
      { cause: e, record: rec },
    );
  };
}
