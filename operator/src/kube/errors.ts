// Operator errors: one base class with a stable `code` and a `cause`, plus predicates for
// API-server failures that work for both our REST client's `KubeApiError` and client-node's
// `ApiException` (whose numeric HTTP status is in `.code`). Match on `code`/status, never on
// message text. Every code is listed in docs/operator/errors.md (a unit test enforces it).
//
// The codes here are the generic machinery's and what every controller shares (configuration,
// invariants, ownership, test support): none names a resource of ours. A controller's domain
// codes are its own union (controllers/errors.ts, ControllerError), never added here. A code is
// typed: a misspelt one does not compile.

const kOperatorError = Symbol.for('tributary.operator.error');

export const ErrorCodes = {
  /** The API server answered with a non-2xx status; see `statusCode` and `reason`. */
  KUBE_API: 'OPERATOR_KUBE_API',
  /** The request never got an HTTP answer (connection refused/reset, timeout). */
  KUBE_TRANSPORT: 'OPERATOR_KUBE_TRANSPORT',
  /** The kubeconfig has no usable current cluster. */
  KUBECONFIG: 'OPERATOR_KUBECONFIG',
  /** A status write kept hitting 409 Conflict after its bounded retries. */
  STATUS_CONFLICT: 'OPERATOR_STATUS_CONFLICT',
  /**
   * A status write found the object at a newer metadata.generation than the reconcile read: what
   * the reconcile decided was for the older spec, so it stops and runs again on the new one.
   */
  SPEC_CHANGED: 'OPERATOR_SPEC_CHANGED',
  /** A finalizer patch kept hitting 409 Conflict after its bounded retries. */
  FINALIZER_CONFLICT: 'OPERATOR_FINALIZER_CONFLICT',
  /** An object already has a different controller ownerReference. */
  ALREADY_OWNED: 'OPERATOR_ALREADY_OWNED',
  /**
   * An object the operator would create already exists and is not controlled by the object it is meant for: the
   * operator never adopts what it did not create.
   */
  NOT_OWNED: 'OPERATOR_NOT_OWNED',
  /** An owner lacks apiVersion, kind, name or uid, so it cannot be referenced. */
  INVALID_OWNER: 'OPERATOR_INVALID_OWNER',
  /** A reconcile failed in a way retrying cannot fix; not requeued. */
  TERMINAL: 'OPERATOR_TERMINAL',
  /**
   * The leader Lease cannot be used at all: its namespace does not exist or RBAC forbids it.
   * Raised only where giving up is right (an operator run outside the cluster).
   */
  LEADER_ELECTION: 'OPERATOR_LEADER_ELECTION',
  /** The process lost its leader Lease; it must stop reconciling (and exit). */
  LEADERSHIP_LOST: 'OPERATOR_LEADERSHIP_LOST',
  /** In-flight reconciles did not finish within the shutdown deadline. */
  SHUTDOWN_TIMEOUT: 'OPERATOR_SHUTDOWN_TIMEOUT',
  /** A malformed work-queue key (expected `namespace/name` or `name`). */
  INVALID_KEY: 'OPERATOR_INVALID_KEY',
  /** The operator's own configuration is invalid (a flag, an environment variable, election timings). */
  CONFIG: 'OPERATOR_CONFIG',
  /** An internal invariant does not hold: a bug in the operator, never caused by user input. */
  INVARIANT: 'OPERATOR_INVARIANT',
  /**
   * An admission review could not be read: not JSON, not an admission.k8s.io/v1 AdmissionReview, or over the size
   * limit.
   */
  ADMISSION_REQUEST: 'OPERATOR_ADMISSION_REQUEST',
  /** A validating webhook did not decide within its deadline; the API server applies the webhook's failurePolicy. */
  ADMISSION_TIMEOUT: 'OPERATOR_ADMISSION_TIMEOUT',
  /** The admission server's serving certificate or key cannot be read or used. */
  WEBHOOK_TLS: 'OPERATOR_WEBHOOK_TLS',
  /** Test support only: a harness used wrongly or missing its environment. */
  TEST_HARNESS: 'OPERATOR_TEST_HARNESS',
  /** Test support only: a condition a test waits for did not hold in time. */
  TEST_TIMEOUT: 'OPERATOR_TEST_TIMEOUT',
  /** Test support only: a failure a test injects on purpose (e.g. the operator "killed" after a status write). */
  INJECTED_FAULT: 'OPERATOR_INJECTED_FAULT',
} as const;

/** A code of the generic machinery (ErrorCodes). */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * An error with a stable code of the union `Code`: ErrorCode here; a subclass outside kube/ names
 * its own union (`extends OperatorError<ControllerErrorCode>`). `Code` is never inferred from the
 * argument, so a code outside the union does not compile.
 */
export class OperatorError<Code extends string = ErrorCode> extends Error {
  readonly code: Code;

  constructor(code: NoInfer<Code>, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
    this.code = code;
    Object.defineProperty(this, kOperatorError, { value: true });
  }

  // A brand instead of prototype identity, so `instanceof` holds across duplicate copies of
  // this module (e.g. two installs, or vitest module isolation).
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(kOperatorError in value)) return false;
    return this === OperatorError || Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** The API server's `Status` object, as sent with error responses and watch ERROR events. */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

export class KubeApiError extends OperatorError {
  readonly statusCode: number;
  readonly reason: string | undefined;
  readonly status: KubeStatus | undefined;
  /** The server's Retry-After (429, some 5xx) in ms; retry no sooner. */
  readonly retryAfterMs: number | undefined;

  constructor(
    statusCode: number,
    message: string,
    status?: KubeStatus,
    options?: { cause?: unknown; retryAfterMs?: number | undefined },
  ) {
    super(ErrorCodes.KUBE_API, message, options);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = status?.reason;
    this.status = status;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** OPERATOR_KUBE_TRANSPORT: no HTTP answer; `timedOut` when the request's own deadline ended it. */
export class KubeTransportError extends OperatorError {
  readonly timedOut: boolean;

  constructor(message: string, options: { cause?: unknown; timedOut?: boolean } = {}) {
    super(ErrorCodes.KUBE_TRANSPORT, message, options);
    this.name = 'KubeTransportError';
    this.timedOut = options.timedOut ?? false;
  }
}

/** How long the server asked us to wait before retrying (Retry-After), in ms; undefined if it did not. */
export function retryAfterMsOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.retryAfterMs : undefined;
}

/** Returned by a reconcile to say "log it, count it, but do not retry". */
export class TerminalError extends OperatorError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCodes.TERMINAL, message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError;
}

/** The HTTP status of an API failure, from our KubeApiError or client-node's ApiException. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

export function isForbidden(err: unknown): boolean {
  return statusCodeOf(err) === 403;
}

export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409 && reasonOf(err) !== 'AlreadyExists';
}

export function isAlreadyExists(err: unknown): boolean {
  return statusCodeOf(err) === 409 && reasonOf(err) === 'AlreadyExists';
}

/**
 * Any 409, whatever its reason: a stale resourceVersion, a failed uid precondition, or
 * AlreadyExists. For idempotent writes where each of these means "someone got there first".
 */
export function isConflictish(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

/** 410 Gone: the resourceVersion a watch asked for has been compacted away; relist. */
export function isGone(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}

function reasonOf(err: unknown): string | undefined {
  if (err instanceof KubeApiError) return err.reason;
  // client-node's ApiException carries the Status in `.body` (object or JSON string).
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'object' && body !== null) return (body as KubeStatus).reason;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as KubeStatus).reason;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
