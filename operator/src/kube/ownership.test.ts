import { describe, expect, it } from 'vitest';
import { OperatorError } from './errors.ts';
import {
  getControllerOf,
  isControlledBy,
  jobLabelMapper,
  jobSelector,
  ownerKeyMapper,
  standardLabels,
  withControllerReference,
} from './ownership.ts';

const job = {
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'StreamJob',
  metadata: { name: 'clicks', namespace: 'ns1', uid: 'u-1' },
};
const other = {
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'StreamJob',
  metadata: { name: 'views', namespace: 'ns1', uid: 'u-2' },
};

describe('ownership', () => {
  it('builds a controller reference that blocks owner deletion', () => {
    const pod = withControllerReference(job, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'clicks-0', namespace: 'ns1' },
    });
    expect(getControllerOf(pod)).toEqual({
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      name: 'clicks',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(isControlledBy(pod, job)).toBe(true);
    expect(isControlledBy(pod, other)).toBe(false);
  });

  it('keeps other owner references, is idempotent, and refuses a second controller', () => {
    const base = {
      metadata: {
        name: 'x',
        namespace: 'ns1',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c-1' }],
      },
    };
    const once = withControllerReference(job, base);
    const twice = withControllerReference(job, once);
    expect(twice.metadata.ownerReferences).toHaveLength(2);
    expect(() => withControllerReference(other, once)).toThrow(OperatorError);
  });

  it('maps an owned object to its owner key only for the right group and kind', () => {
    const pod = withControllerReference(job, { metadata: { name: 'clicks-0', namespace: 'ns1' } });
    expect(ownerKeyMapper('tributary.dev', 'StreamJob')(pod)).toEqual(['ns1/clicks']);
    expect(ownerKeyMapper('tributary.dev', 'DruidDatasource')(pod)).toEqual([]);
    expect(ownerKeyMapper('other.dev', 'StreamJob')(pod)).toEqual([]);
    expect(ownerKeyMapper('tributary.dev', 'StreamJob')({ metadata: { name: 'orphan', namespace: 'ns1' } })).toEqual(
      [],
    );
    // A non-controller owner reference does not count.
    expect(
      ownerKeyMapper(
        '',
        'ConfigMap',
      )({
        metadata: {
          name: 'x',
          namespace: 'ns1',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c-1' }],
        },
      }),
    ).toEqual([]);
  });

  it('labels owned objects with the standard labels and maps them back by label', () => {
    expect(standardLabels('clicks', 2)).toEqual({
      'app.kubernetes.io/managed-by': 'tributary',
      'tributary.dev/job': 'clicks',
      'tributary.dev/slot': '2',
    });
    expect(standardLabels('clicks')).not.toHaveProperty('tributary.dev/slot');
    expect(jobSelector('clicks')).toBe('app.kubernetes.io/managed-by=tributary,tributary.dev/job=clicks');
    expect(jobLabelMapper({ metadata: { name: 'p', namespace: 'ns1', labels: standardLabels('clicks', 0) } })).toEqual([
      'ns1/clicks',
    ]);
    expect(jobLabelMapper({ metadata: { name: 'p', namespace: 'ns1' } })).toEqual([]);
  });
});
