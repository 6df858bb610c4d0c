import { readFileSync } from 'node:fs';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  KubeApiError,
  OperatorError,
  TerminalError,
  isAlreadyExists,
  isConflict,
  isConflictish,
  isGone,
  isNotFound,
  isTerminal,
} from './errors.ts';
import { keyFor, keyOf, parseKey } from './keys.ts';
import { deepEqualJson } from './json.ts';

describe('errors', () => {
  it('every error code is documented in docs/operator/errors.md', () => {
    const readme = readFileSync(new URL('../../../docs/operator/errors.md', import.meta.url), 'utf8');
    for (const code of Object.values(ErrorCodes)) expect(readme, code).toContain(code);
  });

  it("kube/ codes name no resource of ours (those are the controllers' codes), and a code is typed", () => {
    for (const code of Object.values(ErrorCodes))
      expect(code, code).not.toMatch(/STREAM|JOB|DRUID|DATASOURCE|SAVEPOINT|CHECKPOINT|CREDENTIAL|STATE_/);
    // @ts-expect-error a code outside the union (here misspelt) does not compile
    expect(new OperatorError('OPERATOR_CONFG', 'x').code).toBe('OPERATOR_CONFG');
  });

  it('classifies our API errors and client-node ApiExceptions alike', () => {
    expect(isNotFound(new KubeApiError(404, 'x', { reason: 'NotFound' }))).toBe(true);
    expect(isNotFound(new ApiException(404, 'x', {}, {}))).toBe(true);
    expect(isConflict(new KubeApiError(409, 'x', { reason: 'Conflict' }))).toBe(true);
    expect(isAlreadyExists(new KubeApiError(409, 'x', { reason: 'AlreadyExists' }))).toBe(true);
    expect(isConflict(new KubeApiError(409, 'x', { reason: 'AlreadyExists' }))).toBe(false);
    expect(isAlreadyExists(new ApiException(409, 'x', JSON.stringify({ reason: 'AlreadyExists' }), {}))).toBe(true);
    expect(isGone(new KubeApiError(410, 'x'))).toBe(true);
    expect(isConflictish(new KubeApiError(409, 'x', { reason: 'Conflict' }))).toBe(true);
    expect(isConflictish(new KubeApiError(409, 'x', { reason: 'AlreadyExists' }))).toBe(true);
    expect(isConflictish(new KubeApiError(404, 'x', { reason: 'NotFound' }))).toBe(false);
    expect(isNotFound(new Error('404'))).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });

  it('brands errors so instanceof works by code, and keeps the cause', () => {
    const cause = new Error('root');
    const t = new TerminalError('bad spec', { cause });
    expect(t).toBeInstanceOf(OperatorError);
    expect(t).toBeInstanceOf(TerminalError);
    expect(t.code).toBe('OPERATOR_TERMINAL');
    expect(t.cause).toBe(cause);
    expect(isTerminal(t)).toBe(true);
    expect(isTerminal(new OperatorError(ErrorCodes.CONFIG, 'y'))).toBe(false);
    expect(new KubeApiError(500, 'x')).not.toBeInstanceOf(TerminalError);
  });
});

describe('keys and json', () => {
  it('round-trips namespaced and cluster-scoped keys and rejects malformed ones', () => {
    expect(keyOf({ metadata: { namespace: 'a', name: 'b' } })).toBe('a/b');
    expect(keyOf({ metadata: { name: 'n' } })).toBe('n');
    expect(parseKey(keyFor('a', 'b'))).toEqual({ namespace: 'a', name: 'b' });
    expect(parseKey('n')).toEqual({ namespace: undefined, name: 'n' });
    expect(() => parseKey('a/b/c')).toThrow(OperatorError);
    expect(() => parseKey('')).toThrow(OperatorError);
  });

  it('treats undefined-valued keys as absent when comparing', () => {
    expect(deepEqualJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqualJson({ a: [1, { c: 2 }] }, { a: [1, { c: 2 }] })).toBe(true);
    expect(deepEqualJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqualJson(undefined, {})).toBe(false);
    expect(deepEqualJson(null, null)).toBe(true);
  });
});
