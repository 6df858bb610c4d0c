import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { DependencyOutage } from '../../../../runtime/src/core/outage.ts';
import type { StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { jobCondition } from './conditions.ts';
import { dependencyState, recordDependencies } from './dependency-condition.ts';
import type { SlotRuntime } from './slot-runtime.ts';

const kafka: DependencyOutage = {
  dependency: 'kafka',
  component: 'source "in"',
  target: 'brokers 127.0.0.1:9092',
  since: '2026-01-01T00:00:05.000Z',
  error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092 (looking up topic t)',
  bound: 'fails after brokerUnreachableTimeout 30s',
};
const s3: DependencyOutage = {
  dependency: 's3',
  component: 'checkpoint storage',
  target: 'http://127.0.0.1:7070 bucket b',
  since: '2026-01-01T00:00:01.000Z',
  error: 'connect ECONNREFUSED',
};
const slot0 = (unavailable?: DependencyOutage[]) =>
  ({ state: 'RUNNING', ...(unavailable ? { unavailable } : {}) }) as unknown as StatusResponse;

describe('DependencyUnavailable', () => {
  it('says nothing when no slot answered', () => {
    expect(dependencyState({ runtime: undefined })).toBeUndefined();
    expect(dependencyState({ runtime: undefined, slotRuntime: new Map([[1, { error: 'refused' }]]) })).toBeUndefined();
  });

  it('is False (Available) when the slots that answer report no outage', () => {
    expect(dependencyState({ runtime: slot0(), slotRuntime: new Map([[1, { error: 'refused' }]]) })).toEqual({
      unavailable: false,
      reason: 'Available',
      message: 'every dependency answers',
    });
  });

  it('merges the slots reporting one outage (earliest since), names every outage, reason by the oldest', () => {
    const later: DependencyOutage = {
      ...kafka,
      since: '2026-01-01T00:00:09.000Z',
      error: 'no answer from the brokers',
    };
    const slots = new Map<number, SlotRuntime>([
      [1, { state: 'RUNNING', unavailable: [later] }],
      [2, { state: 'RUNNING', unavailable: [s3] }],
    ]);
    const st = dependencyState({ runtime: slot0([kafka]), slotRuntime: slots });
    expect(st?.unavailable).toBe(true);
    expect(st?.reason).toBe('S3Unavailable');
    expect(st?.message).toBe(
      's3 unavailable to checkpoint storage (slot 2) at http://127.0.0.1:7070 bucket b since 2026-01-01T00:00:01.000Z: ' +
        'connect ECONNREFUSED; ' +
        'kafka unavailable to source "in" (slots 0,1) at brokers 127.0.0.1:9092 since 2026-01-01T00:00:05.000Z: ' +
        'Connection error: connect ECONNREFUSED 127.0.0.1:9092 (looking up topic t); ' +
        'fails after brokerUnreachableTimeout 30s',
    );
  });

  it('a slot still starting says nothing by its silence, but is heard when it names an outage', () => {
    const starting = { state: 'CREATED' } as unknown as StatusResponse;
    expect(dependencyState({ runtime: starting })).toBeUndefined();
    const waiting = { state: 'CREATED', unavailable: [kafka] } as unknown as StatusResponse;
    expect(dependencyState({ runtime: waiting })?.reason).toBe('KafkaUnavailable');
    const slots = new Map<number, SlotRuntime>([[1, { state: 'CREATED' }]]);
    expect(dependencyState({ runtime: slot0(), slotRuntime: slots })?.unavailable).toBe(false);
  });

  it('a dependency this operator does not know by name still shows', () => {
    const odd = { ...kafka, dependency: 'ldap' } as unknown as DependencyOutage;
    expect(dependencyState({ runtime: slot0([odd]) })?.reason).toBe('Unavailable');
  });

  it('is kept while nothing answers, removed with nothing deployed, frozen once Failed', () => {
    const now = new Date('2026-01-01T00:00:10Z');
    const st: StreamJobStatus = { phase: 'Running', deployed: { id: 'd1', parallelism: 1 } } as StreamJobStatus;
    recordDependencies(st, dependencyState({ runtime: slot0([kafka]) }), 1, now);
    expect(jobCondition(st, 'DependencyUnavailable')).toMatchObject({ status: 'True', reason: 'KafkaUnavailable' });
    recordDependencies(st, undefined, 1, now);
    expect(jobCondition(st, 'DependencyUnavailable')?.status).toBe('True');
    st.phase = 'Failed';
    recordDependencies(st, dependencyState({ runtime: slot0() }), 1, now);
    expect(jobCondition(st, 'DependencyUnavailable')?.status).toBe('True');
    delete st.deployed;
    recordDependencies(st, undefined, 1, now);
    expect(jobCondition(st, 'DependencyUnavailable')).toBeUndefined();
  });
});
