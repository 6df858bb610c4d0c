// AdmissionReview v1 (admission.k8s.io/v1), the API server's validating-webhook protocol:
// the request as we read it from an untrusted body, the verdict a validator returns, and the
// response written back. Generic: nothing here knows a resource of ours.
// Invariants: a parsed request always has a uid, an operation and a kind; every message and
// warning that leaves is bounded and single-line (they are echoed to kubectl users, and
// user input inside them can be arbitrarily long).
import { ErrorCodes, OperatorError } from './errors.ts';
import { deepEqualJson } from './json.ts';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The fields of `request` validators use; the API server sends more. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: AdmissionOperation;
  name?: string;
  namespace?: string;
  subResource?: string;
  /** The object as it would be stored (defaults applied, schema validated); absent on DELETE. */
  object?: unknown;
  /** The stored object an UPDATE replaces. */
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionVerdict {
  allowed: boolean;
  /** Why it was refused; kubectl prints `admission webhook "<name>" denied the request: <message>`. */
  message?: string;
  /** HTTP status of the refusal (default 422 Unprocessable Entity: the object is invalid). */
  code?: number;
  /** Shown by kubectl as `Warning: <text>` whether or not the request is allowed. */
  warnings?: string[];
}

/** The API server cuts longer warnings; kubectl users read these on one line. */
export const maxWarningChars = 256;
export const maxWarnings = 10;
/** Refusal messages carry up to a few issues, each already shortened by its validator. */
export const maxMessageChars = 4096;

const operations: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads an AdmissionReview body; throws OPERATOR_ADMISSION_REQUEST saying what is wrong. */
export function parseAdmissionReview(body: string): AdmissionRequest {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    throw new OperatorError(ErrorCodes.ADMISSION_REQUEST, 'the body is not JSON', { cause: err });
  }
  const bad = (what: string) => new OperatorError(ErrorCodes.ADMISSION_REQUEST, what);
  if (!isObj(review)) throw bad('expected an AdmissionReview object');
  if (review['apiVersion'] !== 'admission.k8s.io/v1' || review['kind'] !== 'AdmissionReview') {
    throw bad(
      `expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got ${bounded(`${String(review['apiVersion'])} ${String(review['kind'])}`, 120)}`,
    );
  }
  const req = review['request'];
  if (!isObj(req)) throw bad('request: required');
  if (typeof req['uid'] !== 'string' || req['uid'] === '') throw bad('request.uid: required');
  if (typeof req['operation'] !== 'string' || !operations.includes(req['operation']))
    throw bad('request.operation: expected CREATE, UPDATE, DELETE or CONNECT');
  const kind = req['kind'];
  if (!isObj(kind) || typeof kind['kind'] !== 'string' || typeof kind['group'] !== 'string')
    throw bad('request.kind: expected {group, version, kind}');
  const out: AdmissionRequest = {
    uid: req['uid'],
    kind: { group: kind['group'], version: String(kind['version'] ?? ''), kind: kind['kind'] },
    operation: req['operation'] as AdmissionOperation,
  };
  for (const k of ['name', 'namespace', 'subResource'] as const)
    if (typeof req[k] === 'string' && req[k] !== '') out[k] = req[k];
  if (req['object'] !== undefined && req['object'] !== null) out.object = req['object'];
  if (req['oldObject'] !== undefined && req['oldObject'] !== null) out.oldObject = req['oldObject'];
  if (req['dryRun'] === true) out.dryRun = true;
  return out;
}

/** The AdmissionReview answering `uid`, with the message and warnings bounded. */
export function admissionResponse(uid: string, verdict: AdmissionVerdict): Obj {
  const response: Obj = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const code = verdict.code ?? 422;
    response['status'] = {
      status: 'Failure',
      code,
      reason: code === 422 ? 'Invalid' : code === 400 ? 'BadRequest' : 'Forbidden',
      message: bounded(verdict.message ?? 'refused', maxMessageChars),
    };
  }
  const warnings = (verdict.warnings ?? []).slice(0, maxWarnings).map((w) => bounded(w, maxWarningChars));
  if ((verdict.warnings?.length ?? 0) > maxWarnings)
    warnings[maxWarnings - 1] = `and ${verdict.warnings!.length - maxWarnings + 1} more warnings`;
  if (warnings.length > 0) response['warnings'] = warnings;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** One line of at most `max` characters: control characters become spaces, the rest is cut with "…". */
export function bounded(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * True for an UPDATE that leaves `spec` as it was (labels, annotations, finalizers, a
 * deletion in progress): a validator lets those through, so an object stored before the
 * webhook existed, or made invalid by a rule added later, can still be finalized and deleted.
 */
export function specUnchanged(req: AdmissionRequest): boolean {
  if (req.operation !== 'UPDATE' || !isObj(req.object) || !isObj(req.oldObject)) return false;
  return deepEqualJson(req.object['spec'], req.oldObject['spec']);
}
