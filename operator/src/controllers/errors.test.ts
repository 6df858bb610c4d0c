import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OperatorError } from '../kube/index.ts';
import { ControllerError, ControllerErrorCodes } from './errors.ts';

describe('controller error codes', () => {
  it('every code is documented in docs/operator/errors.md', () => {
    const readme = readFileSync(new URL('../../../docs/operator/errors.md', import.meta.url), 'utf8');
    for (const code of Object.values(ControllerErrorCodes)) expect(readme, code).toContain(code);
  });

  it('a ControllerError is an OperatorError with a typed code', () => {
    const cause = new Error('root');
    const err = new ControllerError(ControllerErrorCodes.JOB_CONFIG, 'x', { cause });
    expect(err).toBeInstanceOf(OperatorError);
    expect(err).toMatchObject({ code: 'OPERATOR_JOB_CONFIG', name: 'ControllerError', cause });
    // @ts-expect-error a generic machinery code is not a controller code
    expect(new ControllerError('OPERATOR_CONFIG', 'x').code).toBe('OPERATOR_CONFIG');
  });
});
