// The controllers' own error codes: what goes wrong in the domain of a StreamJob or a
// DruidDatasource. kube/ (generic machinery) keeps only codes that name no resource of ours
// (kube/errors.ts, ErrorCodes); a controller's code goes here. Every code is listed in
// docs/operator/errors.md (a unit test enforces it); a code outside the union does not compile.
import { OperatorError } from '../kube/index.ts';

export const ControllerErrorCodes = {
  /** A new deployment's job config cannot be written (a reference stopped resolving after validation); retried. */
  JOB_CONFIG: 'OPERATOR_JOB_CONFIG',
  /** A DruidDatasource's basicAuthSecretRef names a Secret or key that cannot be read. */
  DRUID_CREDENTIALS: 'OPERATOR_DRUID_CREDENTIALS',
  /**
   * A StreamJob's stateStorage.s3.credentialsSecretRef names a Secret or key that cannot be used. Reported as a spec
   * issue (status, Degraded InvalidSpec), not thrown.
   */
  STATE_CREDENTIALS: 'OPERATOR_STATE_CREDENTIALS',
} as const;

export type ControllerErrorCode = (typeof ControllerErrorCodes)[keyof typeof ControllerErrorCodes];

/** An OperatorError with a controller's code. */
export class ControllerError extends OperatorError<ControllerErrorCode> {
  constructor(code: ControllerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ControllerError';
  }
}
