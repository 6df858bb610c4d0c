import { describe, expect, it } from 'vitest';
import { ErrorCodes, KubeApiError, OperatorError, type KubeClient } from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { CredentialsError, DruidClients } from './druid-clients.ts';

const ds = {
  metadata: { name: 'd', namespace: 'n' },
  spec: { druid: { url: 'http://127.0.0.1:1', basicAuthSecretRef: { name: 'creds' } } },
} as unknown as DruidDatasource;
const kubeGetting = (get: () => Promise<unknown>) => ({ get }) as unknown as KubeClient;

describe('DruidClients credentials', () => {
  it('an unreadable Secret is a CredentialsError (OPERATOR_DRUID_CREDENTIALS) with the API error as cause', async () => {
    const cause = new KubeApiError(404, 'not found', { reason: 'NotFound' });
    const err = await new DruidClients(kubeGetting(() => Promise.reject(cause))).for(ds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as CredentialsError).code).toBe(ErrorCodes.DRUID_CREDENTIALS);
    expect((err as CredentialsError).cause).toBe(cause);
  });

  it('a Secret without the key is a CredentialsError naming the field', async () => {
    const err = await new DruidClients(
      kubeGetting(() => Promise.resolve({ data: { username: Buffer.from('u').toString('base64') } })),
    )
      .for(ds)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).code).toBe('OPERATOR_DRUID_CREDENTIALS');
    expect((err as Error).message).toContain('passwordKey');
  });
});
