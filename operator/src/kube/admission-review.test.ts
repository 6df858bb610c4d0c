import { describe, expect, it } from 'vitest';
import {
  admissionResponse,
  bounded,
  parseAdmissionReview,
  specUnchanged,
  type AdmissionRequest,
} from './admission-review.ts';

describe('AdmissionReview v1', () => {
  it('reads the request fields validators use, dropping empty ones', () => {
    const body = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u',
        kind: { group: 'g', version: 'v1', kind: 'K' },
        operation: 'UPDATE',
        namespace: 'ns',
        name: '',
        object: { spec: 1 },
        oldObject: null,
        dryRun: true,
        userInfo: {},
      },
    };
    expect(parseAdmissionReview(JSON.stringify(body))).toEqual({
      uid: 'u',
      kind: { group: 'g', version: 'v1', kind: 'K' },
      operation: 'UPDATE',
      namespace: 'ns',
      object: { spec: 1 },
      dryRun: true,
    });
  });

  it('rejects what is not a review with OPERATOR_ADMISSION_REQUEST, echoing at most a bounded excerpt', () => {
    expect(() =>
      parseAdmissionReview(JSON.stringify({ apiVersion: 'x'.repeat(5000), kind: 'AdmissionReview' })),
    ).toThrow(/^expected apiVersion admission.k8s.io\/v1, kind AdmissionReview; got x{119}…$/);
    let err: unknown;
    try {
      parseAdmissionReview('nope');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'OPERATOR_ADMISSION_REQUEST', message: 'the body is not JSON' });
  });

  it('answers allowed without a status, refusals with a Failure status', () => {
    expect(admissionResponse('u', { allowed: true })).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u', allowed: true },
    });
    expect(admissionResponse('u', { allowed: false, message: 'm', code: 403 }).response).toEqual({
      uid: 'u',
      allowed: false,
      status: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'm' },
    });
  });

  it('bounded() keeps one line of at most max characters', () => {
    expect(bounded('a\nb\u0007c', 10)).toBe('a b c');
    expect(bounded('abcdef', 4)).toBe('abc…');
  });

  it('specUnchanged: only an UPDATE whose spec is deep-equal (metadata-only changes, finalizers)', () => {
    const r = (over: Partial<AdmissionRequest>): AdmissionRequest => ({
      uid: 'u',
      kind: { group: 'g', version: 'v', kind: 'K' },
      operation: 'UPDATE',
      ...over,
    });
    expect(
      specUnchanged(
        r({
          object: { metadata: { finalizers: ['f'] }, spec: { a: [1, { b: 2 }] } },
          oldObject: { metadata: {}, spec: { a: [1, { b: 2 }] } },
        }),
      ),
    ).toBe(true);
    expect(specUnchanged(r({ object: { spec: { a: 1 } }, oldObject: { spec: { a: 2 } } }))).toBe(false);
    expect(specUnchanged(r({ operation: 'CREATE', object: { spec: {} }, oldObject: { spec: {} } }))).toBe(false);
    expect(specUnchanged(r({ object: { spec: {} } }))).toBe(false);
  });
});
