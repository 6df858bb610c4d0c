import { describe, expect, it } from 'vitest';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { SupervisorSpec } from '../../druid/types.ts';
import { claimConflict, recordedOwner, withOwnerMarker } from './supervisor-claim.ts';

const ds = (namespace: string, status: DruidDatasource['status'] = {}) =>
  ({ metadata: { name: 'clicks', namespace }, status }) as unknown as DruidDatasource;
const spec = (context?: Record<string, unknown>): SupervisorSpec => ({
  type: 'kafka',
  spec: {},
  ...(context ? { context } : {}),
});

describe('supervisor claims', () => {
  it('records the owner last, over a context from specOverrides', () => {
    const marked = withOwnerMarker(spec({ 'tributary.dev/owner': 'evil/x', keep: 1 }), ds('team-a'));
    expect(marked.context).toEqual({ 'tributary.dev/owner': 'team-a/clicks', keep: 1 });
    expect(recordedOwner(marked)).toBe('team-a/clicks');
  });

  it('the owner and a first creator may manage it; another namespace may not', () => {
    const live = withOwnerMarker(spec(), ds('team-a'));
    expect(claimConflict(ds('team-a'), 'clicks', live)).toBeUndefined();
    expect(claimConflict(ds('team-a'), 'clicks', undefined)).toBeUndefined();
    expect(claimConflict(ds('team-b'), 'clicks', live)).toBe(
      'Druid supervisor clicks belongs to DruidDatasource team-a/clicks (context "tributary.dev/owner"); datasource names are global in Druid: choose another spec.dataSource',
    );
  });

  it('an unmarked supervisor is adopted only by the object whose status already names it', () => {
    expect(claimConflict(ds('team-a', { supervisorId: 'clicks' }), 'clicks', spec())).toBeUndefined();
    expect(claimConflict(ds('team-b'), 'clicks', spec())).toContain('was not created by Tributary for this object');
  });
});
